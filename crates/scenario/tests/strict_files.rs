//! Regression tests for the reliability probe's defects 6 and 12: scenario
//! files that used to PASS although a key or a mock was misspelt, and a
//! deeply nested YAML file that took a minute of CPU.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use windlass_scenario::limits::{MAX_NESTING, MAX_SCENARIO_BYTES};
use windlass_scenario::{Options, Outcome, Scenario, ScenarioError, judge_file};

/// Two processes: "first" (one abstract task "check"), "second" (a
/// service task nobody mocks).
const TWO_PROCESSES: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="first" isExecutable="true">
    <startEvent id="s1"/>
    <sequenceFlow id="f1" sourceRef="s1" targetRef="check"/>
    <task id="check" name="Check"/>
    <sequenceFlow id="f2" sourceRef="check" targetRef="e1"/>
    <endEvent id="e1"/>
  </process>
  <process id="second" isExecutable="true">
    <startEvent id="s2"/>
    <sequenceFlow id="f3" sourceRef="s2" targetRef="deploy"/>
    <serviceTask id="deploy" name="Deploy"/>
    <sequenceFlow id="f4" sourceRef="deploy" targetRef="e2"/>
    <endEvent id="e2"/>
  </process>
</definitions>"#;

fn setup(name: &str, scenario: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("twoproc.bpmn"), TWO_PROCESSES).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, scenario).unwrap();
    (dir, path)
}

fn read_error(name: &str, scenario: &str) -> String {
    let (_dir, path) = setup(name, scenario);
    let e = Scenario::read(&path).unwrap_err().to_string();
    assert!(e.contains(name), "the error names the file: {e}");
    e
}

#[test]
fn a_misspelt_process_selector_is_an_error_naming_key_and_file() {
    let e = read_error(
        "t.scenario.json",
        r#"{"name":"second process deploys","process":"twoproc.bpmn","processId":"second","expect":{"status":"completed"}}"#,
    );
    assert!(e.contains("unknown field `processId`"), "{e}");
}

#[test]
fn unknown_keys_at_every_level_are_errors_naming_the_key_and_file() {
    let e = read_error(
        "a.scenario.json",
        r#"{"process":"twoproc.bpmn","mock":{"check":{}},"expect":{"status":"completed"}}"#,
    );
    assert!(e.contains("unknown field `mock`"), "{e}");
    let e = read_error(
        "b.scenario.json",
        r#"{"process":"twoproc.bpmn","expect":{"status":"completed","executd":{"Check":1}}}"#,
    );
    assert!(e.contains("unknown field `executd`"), "{e}");
    let e = read_error(
        "c.scenario.json",
        r#"{"process":"twoproc.bpmn","expect":{"status":"completed"},"frobnicate":true}"#,
    );
    assert!(e.contains("unknown field `frobnicate`"), "{e}");
    let e = read_error(
        "d.scenario.yaml",
        "process: twoproc.bpmn\nexpect:\n  status: completed\n  executd: {}\n",
    );
    assert!(e.contains("unknown field `executd`"), "{e}");
}

#[test]
fn mocks_for_unknown_tasks_fail_the_scenario_naming_mock_and_file() {
    let (_dir, path) = setup(
        "m.scenario.json",
        r#"{"process":"twoproc.bpmn","mocks":{"check":{"output":{}},"no-such-task":{"output":{}},"chekc":{"error":"X"}},
            "expect":{"status":"completed","executed":{"Check":1}}}"#,
    );
    let judged = judge_file(&path, Options::default());
    let Outcome::Failed { detail } = &judged.outcome else {
        panic!("expected a failure, got {:?}", judged.outcome);
    };
    assert!(
        detail.contains("m.scenario.json") && detail.contains("'chekc', 'no-such-task'"),
        "{detail}"
    );
    // Under the flag the same scenario passes, with a warning that names them.
    let judged = judge_file(
        &path,
        Options {
            allow_unused_mocks: true,
        },
    );
    assert_eq!(judged.outcome, Outcome::Passed);
    assert_eq!(judged.warnings.len(), 1);
    assert!(judged.warnings[0].contains("'chekc', 'no-such-task'"));
}

#[test]
fn a_mock_for_a_task_of_another_process_of_the_file_counts_as_used() {
    // Call activities run other processes of the same file.
    let (_dir, path) = setup(
        "o.scenario.json",
        r#"{"process":"twoproc.bpmn","mocks":{"Deploy":{}},"expect":{"status":"completed","executed":{"Check":1}}}"#,
    );
    assert_eq!(
        judge_file(&path, Options::default()).outcome,
        Outcome::Passed
    );
}

#[test]
fn deeply_nested_yaml_fails_fast_naming_file_and_limit() {
    // The probe's file: 100 k `[` (200 KB). serde_yaml took 59 s of CPU.
    let text = format!("process: x.bpmn\ninput: {}", "[".repeat(100_000));
    let path = Path::new("deep.scenario.yaml");
    let started = Instant::now();
    let e = Scenario::parse(&text, path).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, ScenarioError::TooDeep { .. }), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("deep.scenario.yaml") && e.contains(&MAX_NESTING.to_string()),
        "{e}"
    );
    // A correctness guard, not a benchmark: the old code took a minute.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Nesting below the limit still parses (and is a normal format error).
    let ok = format!(
        "process: x.bpmn\nexpect: {{status: completed}}\ninput: {{a: {}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(Scenario::parse(&ok, path).is_ok());
}

#[test]
fn files_over_the_size_limit_are_refused_naming_file_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.scenario.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_SCENARIO_BYTES + 1).unwrap();
    let e = Scenario::read(&path).unwrap_err();
    assert!(matches!(e, ScenarioError::TooLarge { .. }), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("big.scenario.json") && e.contains(&MAX_SCENARIO_BYTES.to_string()),
        "{e}"
    );
}
