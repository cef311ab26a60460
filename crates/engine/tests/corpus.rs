//! Runs every Adhesive corpus scenario through the pure driver.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use windlass_engine::driver::scenario::{Verdict, parse, run_scenario};

#[test]
fn adhesive_corpus_scenarios() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/adhesive");
    if !dir.is_dir() {
        eprintln!("skipping: corpus folder {} does not exist", dir.display());
        return Ok(());
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".scenario.json"))
        .collect();
    files.sort();
    let (mut passed, mut failed, mut unsupported) = (0, Vec::new(), Vec::new());
    for f in &files {
        let scenario = parse(&std::fs::read_to_string(f)?)?;
        let xml = std::fs::read_to_string(dir.join(&scenario.process))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = run_scenario(&scenario, &xml);
        if let Some(report) = &outcome.report {
            // Live and replayed execution agree for every corpus run too.
            let defs = windlass_model::load(&xml).definitions.unwrap();
            let plan =
                windlass_engine::Plan::new(defs.first_executable().unwrap().clone()).unwrap();
            support::check_replay(&plan, report);
        }
        match outcome.verdict {
            Verdict::Passed => {
                passed += 1;
                eprintln!(
                    "PASS {name} ({}{})",
                    outcome.status,
                    outcome.detail.map(|d| format!(": {d}")).unwrap_or_default()
                );
            }
            Verdict::Failed(why) => {
                eprintln!("FAIL {name}: {why}");
                failed.push(name);
            }
            Verdict::Unsupported(why) => {
                eprintln!("UNSUPPORTED {name}: {why}");
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
