//! The shared conformance corpus (../shared/corpus, when present): every
//! file loads or is rejected with a diagnostic; `invalid/` files are never
//! silently accepted; fragments are rejected by root element; Adhesive files
//! with scenarios load unless the scenario expects an invalid definition.

use std::path::{Path, PathBuf};
use windlass_model::{Severity, load_bytes};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.is_dir().then_some(dir)
}

fn bpmn_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            bpmn_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "bpmn" || x == "xml") {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_loads_or_is_rejected_clearly() {
    let Some(dir) = corpus() else {
        eprintln!("skipping: ../shared/corpus not found");
        return;
    };
    let mut files = Vec::new();
    bpmn_files(&dir, &mut files);
    assert!(files.len() > 100, "corpus has {} files", files.len());
    for f in files {
        let out = load_bytes(&std::fs::read(&f).expect("read"));
        let name = f.to_string_lossy().to_string();
        if out.has_errors() {
            assert!(out.definitions.is_none(), "{name}");
            assert!(
                out.diagnostics.iter().all(|d| !d.message.is_empty()),
                "{name}"
            );
        }
        if name.contains("/invalid/") {
            assert!(!out.diagnostics.is_empty(), "{name} accepted silently");
            assert!(
                out.diagnostics.iter().any(|d| d.code != "WL0030"),
                "{name}: only a generic diagnostic: {:?}",
                out.diagnostics
            );
        }
        if name.ends_with(".part.bpmn") {
            assert!(
                out.diagnostics.iter().any(|d| d.severity == Severity::Error
                    && d.message.contains("root element is")
                    && d.message.contains("expected definitions")),
                "{name}: {:?}",
                out.diagnostics
            );
        }
    }
}

#[test]
fn adhesive_scenario_files_load_unless_expected_invalid() {
    let Some(dir) = corpus() else {
        eprintln!("skipping: ../shared/corpus not found");
        return;
    };
    let adhesive = dir.join("adhesive");
    let mut checked = 0;
    for e in std::fs::read_dir(&adhesive).expect("adhesive") {
        let p = e.expect("entry").path();
        let Some(stem) = p.to_str().and_then(|s| s.strip_suffix(".scenario.json")) else {
            continue;
        };
        let bpmn = format!("{stem}.bpmn");
        let scenario: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("scenario")).expect("json");
        let expect_failed = scenario["expect"]["status"] == "failed";
        let out = load_bytes(&std::fs::read(&bpmn).expect("bpmn"));
        let invalid_by_design = stem.ends_with("feature__connection_eval_failure__test")
            || stem.contains("feature__loop__loop-");
        if invalid_by_design && expect_failed && !stem.contains("loop-default") {
            assert!(
                out.has_errors(),
                "{bpmn} must be rejected: {:?}",
                out.diagnostics
            );
        } else {
            assert!(!out.has_errors(), "{bpmn} must load: {:?}", out.diagnostics);
            let defs = out.definitions.expect("definitions");
            assert!(defs.first_executable().is_some(), "{bpmn}");
        }
        checked += 1;
    }
    assert_eq!(checked, 29);
}

#[test]
fn global_task_call_is_rejected_by_name() {
    let Some(dir) = corpus() else {
        eprintln!("skipping: ../shared/corpus not found");
        return;
    };
    let out = load_bytes(
        &std::fs::read(dir.join("adhesive/unit__unsupported-call-activity.bpmn")).expect("read"),
    );
    assert!(
        out.diagnostics
            .iter()
            .any(|d| d.code == "WL0022" && d.message.contains("globalBusinessRuleTask"))
    );
}
