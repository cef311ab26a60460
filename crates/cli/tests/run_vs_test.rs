//! `windlass run` and `windlass test` agree: every example scenario
//! (`examples/*.scenario.*`) and every corpus scenario
//! (`../shared/corpus/adhesive`, skipped with a message when absent) is run
//! through both — `run` with the scenario's input and mocks as `--input` /
//! `--mock` flags, `--memory` — and the final status and executed tasks must
//! be the same. A definition one verb refuses, the other must refuse too.
//! `run` has no steps: a scenario with `steps` is compared as the instance
//! stands once settled, before its first step (`test` on a copy without
//! the steps). A scenario whose process waits on a timer (catch or
//! boundary event) is not compared: `run` waits for a timer in real time
//! (hours, for the examples), while `test` fires it only on `advance`; those
//! scenarios are checked by `windlass test` alone (`test_scenarios.rs`).

mod common;

use common::{json, s, text, windlass};
use serde_json::Value;
use std::path::{Path, PathBuf};
use windlass_scenario::{Scenario, collect};

fn scenario_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("examples")];
    let corpus = root.join("../shared/corpus/adhesive");
    if corpus.is_dir() {
        dirs.push(corpus);
    } else {
        println!("skipping the corpus: {} does not exist", corpus.display());
    }
    collect(&dirs).expect("scenario folders are readable")
}

/// What one verb made of a scenario: `status` (or `rejected` /
/// `unsupported`) and the executed map.
#[derive(Debug, PartialEq)]
struct Seen {
    status: String,
    executed: Value,
}

/// A copy of the scenario `file` without its steps (its process named by
/// absolute path), in `dir`.
fn without_steps(file: &Path, sc: &Scenario, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).expect("read scenario");
    let mut v: Value = serde_norway::from_str(&text).expect("scenario is YAML or JSON");
    let map = v.as_object_mut().expect("a scenario is an object");
    map.remove("steps");
    map.insert(
        "process".into(),
        Value::String(s(&sc.process_path(file)).to_string()),
    );
    let copy = dir.join("settled.scenario.json");
    std::fs::write(&copy, v.to_string()).expect("write copy");
    copy
}

fn via_test(file: &Path, sc: &Scenario) -> Seen {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = if sc.steps.is_empty() {
        file.to_path_buf()
    } else {
        without_steps(file, sc, dir.path())
    };
    let out = windlass(&["test", s(&file), "--format", "json"]);
    let report = json(&out);
    let one = &report["scenarios"][0];
    let status = match (one["result"].as_str(), one["status"].as_str()) {
        (_, Some(status)) => status.to_string(),
        (Some("unsupported"), None) => "unsupported".to_string(),
        // The definition was rejected before an instance started.
        _ => "rejected".to_string(),
    };
    let executed = one.get("executed").cloned().unwrap_or(Value::Null);
    Seen { status, executed }
}

fn via_run(file: &Path, sc: &Scenario) -> Seen {
    let process = sc.process_path(file);
    let mut args: Vec<String> = vec![
        "run".into(),
        s(&process).into(),
        "--memory".into(),
        "--format".into(),
        "json".into(),
        "--input".into(),
        Value::Object(sc.input.clone()).to_string(),
    ];
    for extra in sc.deploy_paths(file) {
        args.push(s(&extra).into());
    }
    if let Some(id) = &sc.process_id {
        args.extend(["--process".into(), id.clone()]);
    }
    for (key, value) in &sc.mocks {
        args.extend(["--mock".into(), format!("{key}={value}")]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = windlass(&refs);
    if out.status.code() == Some(2) {
        let t = text(&out);
        let status = if t.contains("unsupported") {
            "unsupported"
        } else if t.contains("invalid definition") {
            "rejected"
        } else {
            panic!("{}: run failed: {t}", file.display())
        };
        return Seen {
            status: status.into(),
            executed: Value::Null,
        };
    }
    let report = json(&out);
    Seen {
        status: report["status"].as_str().unwrap_or("?").to_string(),
        executed: report["executed"].clone(),
    }
}

#[test]
fn run_and_test_agree_on_every_example_and_corpus_scenario() {
    let files = scenario_files();
    assert!(files.len() >= 8, "examples missing: {files:?}");
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for file in &files {
        let sc = Scenario::read(file).unwrap_or_else(|e| panic!("{e}"));
        if has_timer_event(&sc.process_path(file)) {
            println!("{}: skipped, its process waits on a timer", file.display());
            continue;
        }
        compared += 1;
        let (run, test) = (via_run(file, &sc), via_test(file, &sc));
        println!("{}: run {run:?}, test {test:?}", file.display());
        if run != test {
            disagreements.push(format!(
                "{}:\n  run:  {run:?}\n  test: {test:?}",
                file.display()
            ));
        }
    }
    assert!(compared >= 8, "only {compared} scenarios compared");
    assert!(
        files
            .iter()
            .any(|f| Scenario::read(f).is_ok_and(|sc| !sc.steps.is_empty())),
        "no example with steps"
    );
    assert!(
        disagreements.is_empty(),
        "run and test disagree:\n{}",
        disagreements.join("\n")
    );
}

/// True when a process of the BPMN file at `path` has a timer catch or
/// boundary event (a file that does not load has none).
fn has_timer_event(path: &Path) -> bool {
    use windlass_model::{EventTrigger, NodeKind};
    let Ok(xml) = std::fs::read_to_string(path) else {
        return false;
    };
    let Some(defs) = windlass_model::load(&xml).definitions else {
        return false;
    };
    defs.processes().iter().any(|p| {
        p.nodes.iter().any(|n| {
            matches!(
                n.kind,
                NodeKind::IntermediateCatch {
                    trigger: EventTrigger::Timer(_)
                } | NodeKind::Boundary {
                    trigger: EventTrigger::Timer(_),
                    ..
                }
            )
        })
    })
}
