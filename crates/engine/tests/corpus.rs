//! Runs every Adhesive corpus scenario through the scenario harness
//! (`windlass-scenario`, the same as `windlass test`), and checks that live
//! execution and replay agree for every run.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use windlass_scenario::{Options, Outcome, is_scenario_file, judge_file};

#[test]
fn adhesive_corpus_scenarios() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/adhesive");
    if !dir.is_dir() {
        eprintln!("skipping: corpus folder {} does not exist", dir.display());
        return Ok(());
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_scenario_file(p))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios in {}", dir.display());
    let (mut passed, mut failed, mut unsupported) = (0, Vec::new(), Vec::new());
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let judged = judge_file(f, Options::default());
        if let (Some(report), Some(loaded)) = (&judged.report, &judged.loaded) {
            support::check_replay(&loaded.plan, report);
        }
        match judged.outcome {
            Outcome::Passed => {
                passed += 1;
                let status = judged.actual.map_or("rejected", |a| a.status.as_str());
                eprintln!("PASS {name} ({status})");
            }
            Outcome::Failed { detail } => {
                eprintln!("FAIL {name}: {detail}");
                failed.push(name);
            }
            Outcome::Unsupported { element, detail } => {
                eprintln!("UNSUPPORTED {name}: {element}: {detail}");
                unsupported.push(name);
            }
        }
    }
    eprintln!(
        "{passed} passed, {} failed, {} unsupported",
        failed.len(),
        unsupported.len()
    );
    assert!(
        failed.is_empty() && unsupported.is_empty(),
        "failed: {failed:?}; unsupported: {unsupported:?}"
    );
    Ok(())
}
