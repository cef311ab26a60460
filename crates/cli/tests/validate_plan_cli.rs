//! `windlass validate` agrees with `run`: what the engine's plan refuses
//! (`Plan::new`) is a `WL0039` diagnostic naming the element, and every
//! corpus file (`../shared/corpus`, skipped with a message when absent) and
//! every example is put through both the validator (the real binary) and the
//! plan: a file that validates without errors must plan, a file that does
//! not plan must have a validate error naming the same element.

mod common;

use common::{json, s, text, windlass};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use windlass_engine::{Plan, PlanError};

fn codes_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/fixtures/codes")
        .join(name)
}

/// A process `p` (executable or not) whose body is `body`, written to a
/// file in `dir`.
fn process_file(dir: &Path, executable: bool, body: &str) -> PathBuf {
    let path = dir.join("p.bpmn");
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="urn:test">
  <process id="p" isExecutable="{executable}">
{body}
  </process>
</definitions>
"#
    );
    std::fs::write(&path, xml).expect("write the process");
    path
}

#[test]
fn an_element_the_engine_refuses_is_an_error_with_code_position_and_element() {
    let file = codes_fixture("WL0039-conditional-catch.bpmn");
    let out = windlass(&["validate", s(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("error[WL0039]"))
        .unwrap_or_else(|| panic!("no WL0039 line: {stdout}"));
    assert!(
        line.starts_with(&format!("{}:5:5: error[WL0039]: ", s(&file))),
        "{line}"
    );
    assert!(
        line.contains("conditional intermediate catch event"),
        "says what is refused: {line}"
    );
    assert!(line.ends_with("(element 'waitReady')"), "{line}");
}

#[test]
fn an_invalid_loop_the_engine_refuses_is_reported_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = process_file(
        dir.path(),
        true,
        r#"    <startEvent id="start"/>
    <task id="again"><standardLoopCharacteristics/></task>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="again"/>
    <sequenceFlow id="f2" sourceRef="again" targetRef="end"/>"#,
    );
    let out = windlass(&["validate", "--format", "json", s(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json(&out);
    let d = &report[0]["diagnostics"][0];
    assert_eq!(d["code"], "WL0039", "{report}");
    assert_eq!(d["severity"], "error", "{report}");
    assert_eq!(d["element_id"], "again", "{report}");
    assert_eq!(d["position"]["line"], 5, "{report}");
}

#[test]
fn a_refused_element_of_a_non_executable_process_is_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = process_file(
        dir.path(),
        false,
        r#"    <startEvent id="start"/>
    <eventBasedGateway id="choose"/>
    <intermediateCatchEvent id="late"><timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition></intermediateCatchEvent>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="choose"/>
    <sequenceFlow id="f2" sourceRef="choose" targetRef="late"/>
    <sequenceFlow id="f3" sourceRef="late" targetRef="end"/>"#,
    );
    let out = windlass(&["validate", s(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("warning[WL0039]"),
        "the deployment skips it, validate says so: {}",
        text(&out)
    );
}

/// Every corpus BPMN file and every example.
fn bpmn_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    let mut dirs = vec![root.join("examples")];
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        dirs.push(corpus);
    } else {
        println!("skipping the corpus: {} does not exist", corpus.display());
    }
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "bpmn" || e == "xml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What the engine makes of a file: `Ok` when it loads and every executable
/// process plans, else the elements refused (empty when the load fails).
fn engine_verdict(path: &Path) -> Result<(), Vec<String>> {
    let bytes = std::fs::read(path).expect("readable file");
    let Some(defs) = windlass_model::load_bytes(&bytes).definitions else {
        return Err(Vec::new());
    };
    let refused: Vec<String> = defs
        .processes()
        .iter()
        .filter(|g| g.is_executable)
        .filter_map(|g| Plan::new(Arc::clone(g)).err())
        .map(|e| match e {
            PlanError::Unsupported { element, .. } | PlanError::Invalid { element, .. } => element,
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

#[test]
fn validate_agrees_with_the_plan_on_every_corpus_file_and_example() {
    let files = bpmn_files();
    assert!(files.len() >= 3, "the examples at least: {files:?}");
    let mut args = vec!["validate", "--format", "json"];
    args.extend(files.iter().map(|f| s(f)));
    let out = windlass(&args);
    let reports = json(&out);
    let reports = reports.as_array().expect("one report per file");
    let mut disagreements = Vec::new();
    let mut refused_by_plan = 0;
    for file in &files {
        let report: &Value = reports
            .iter()
            .find(|r| r["file"] == s(file))
            .unwrap_or_else(|| panic!("no report for {}", file.display()));
        if report.get("error").is_some() {
            // Unreadable or over the size limit: `run` refuses it the same way.
            continue;
        }
        let errors: Vec<&Value> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        match engine_verdict(file) {
            Ok(()) if !errors.is_empty() => disagreements.push(format!(
                "{}: plans, but validate reports {errors:?}",
                file.display()
            )),
            Ok(()) => {}
            Err(refused) if errors.is_empty() => disagreements.push(format!(
                "{}: validates clean, but the engine refuses {refused:?}",
                file.display()
            )),
            Err(refused) => {
                refused_by_plan += usize::from(!refused.is_empty());
                for element in refused {
                    if !errors.iter().any(|d| d["element_id"] == element.as_str()) {
                        disagreements.push(format!(
                            "{}: the engine refuses '{element}', validate names it in no error: {errors:?}",
                            file.display()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    println!(
        "{} files agree ({refused_by_plan} refused by the plan)",
        files.len()
    );
}
