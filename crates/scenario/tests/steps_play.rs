//! Scenario `clock`, `steps` (`advance`, `terminate`, `cancel`, `suspend`,
//! `resume`, `expect` checkpoints and every expected status), the
//! `{"wait": true}` mock
//! and `expect.variables`, judged end to end from files on disk.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use windlass_scenario::{Options, Outcome, Scenario, judge_file};
use windlass_types::Timestamp;

/// `prepare` (sets variables by its mock), then `approve` (a user task),
/// then the end.
const APPROVAL: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="approval" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="prepare"/>
    <task id="prepare" name="Prepare {who}"/>
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="approve"/>
    <userTask id="approve" name="Approve"/>
    <sequenceFlow id="f3" sourceRef="approve" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

fn setup(name: &str, scenario: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("approval.bpmn"), APPROVAL).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, scenario).unwrap();
    (dir, path)
}

fn judge(name: &str, scenario: &str) -> windlass_scenario::Judged {
    let (_dir, path) = setup(name, scenario);
    judge_file(&path, Options::default())
}

fn failure(name: &str, scenario: &str) -> String {
    match judge(name, scenario).outcome {
        Outcome::Failed { detail } => detail,
        other => panic!("expected a failure, got {other:?}"),
    }
}

const WAIT_TERMINATE_YAML: &str = r#"
name: the approval never comes; the operator terminates
process: approval.bpmn
clock: 2026-03-01T08:00:00Z
input: { who: ann }
mocks:
  prepare: { output: { ticket: 7, who: ann } }
  Approve: { wait: true }
steps:
  - expect:
      status: waiting
      executed: { Prepare ann: 1 }
      variables: { ticket: 7 }
  - advance: P2D
  - expect: { status: waiting, executed: { Prepare ann: 1 } }
  - terminate: { reason: nobody approved }
expect:
  status: terminated
  executed: { Prepare ann: 1 }
  variables: { ticket: 7.0, who: ann }
"#;

#[test]
fn a_waiting_task_is_terminated_by_a_step_after_checkpoints() {
    let judged = judge("t.scenario.yaml", WAIT_TERMINATE_YAML);
    assert_eq!(judged.outcome, Outcome::Passed);
    let report = judged.report.unwrap();
    // The instance started at the scenario's clock; the terminate came two
    // days later.
    let start = Timestamp(1_772_352_000_000);
    assert_eq!(report.steps.first().map(|s| s.now), Some(start));
    assert_eq!(
        report.steps.last().map(|s| s.now),
        Some(start.plus_millis(2 * 86_400_000))
    );
}

#[test]
fn json_and_yaml_are_the_same_format() {
    let yaml: serde_json::Value = serde_norway::from_str(WAIT_TERMINATE_YAML).unwrap();
    let json = serde_json::to_string(&yaml).unwrap();
    let (_d1, y) = setup("t.scenario.yaml", WAIT_TERMINATE_YAML);
    let (_d2, j) = setup("t.scenario.json", &json);
    assert_eq!(Scenario::read(&y).unwrap(), Scenario::read(&j).unwrap());
    assert_eq!(judge_file(&j, Options::default()).outcome, Outcome::Passed);
}

#[test]
fn a_checkpoint_that_does_not_match_fails_naming_the_step_and_the_variable() {
    let detail = failure(
        "c.scenario.yaml",
        &WAIT_TERMINATE_YAML.replace("variables: { ticket: 7 }", "variables: { ticket: 8 }"),
    );
    assert!(
        detail.contains("checkpoint steps[0] (expect)")
            && detail.contains("- \"ticket\": 8")
            && detail.contains("+ \"ticket\": 7"),
        "{detail}"
    );
    // Playing stopped there: the terminate did not run.
    let judged = judge(
        "c.scenario.yaml",
        &WAIT_TERMINATE_YAML.replace("variables: { ticket: 7 }", "variables: { ticket: 8 }"),
    );
    assert_eq!(
        judged.actual.map(|a| a.status),
        Some(windlass_scenario::RunStatus::Waiting)
    );

    let detail = failure(
        "s.scenario.yaml",
        &WAIT_TERMINATE_YAML.replace(
            "  - expect: { status: waiting,",
            "  - expect: { status: completed,",
        ),
    );
    assert!(
        detail.contains("checkpoint steps[2] (expect)")
            && detail.contains("- completed")
            && detail.contains("+ waiting"),
        "{detail}"
    );
}

#[test]
fn the_final_variables_are_a_subset_match_naming_what_differs() {
    let detail = failure(
        "v.scenario.yaml",
        &WAIT_TERMINATE_YAML.replace(
            "variables: { ticket: 7.0, who: ann }",
            "variables: { who: bob, gone: 1 }",
        ),
    );
    assert!(
        detail.contains("- \"who\": \"bob\"")
            && detail.contains("+ \"who\": \"ann\"")
            && detail.contains("\"gone\" is not set")
            && !detail.contains("ticket"),
        "{detail}"
    );
}

#[test]
fn a_wait_mock_leaves_the_instance_waiting() {
    let s = r#"{"process":"approval.bpmn","input":{"who":"x"},"mocks":{"Approve":{"wait":true}},
        "expect":{"status":"waiting","executed":{"Prepare x":1},"variables":{"who":"x"}}}"#;
    assert_eq!(judge("w.scenario.json", s).outcome, Outcome::Passed);
    // Without the mock the user task would be an incident, which `waiting`
    // also accepts; with `completed` expected the wait shows.
    let detail = failure(
        "w.scenario.json",
        &s.replace("\"waiting\"", "\"completed\""),
    );
    assert!(detail.contains("+ waiting"), "{detail}");
}

#[test]
fn a_step_the_engine_refuses_fails_naming_the_step() {
    // The instance completed; there is nothing to terminate.
    let s = r#"{"process":"approval.bpmn","mocks":{"Approve":{}},
        "steps":[{"advance":"PT1M"},{"terminate":{}}],"expect":{"status":"terminated"}}"#;
    let detail = failure("r.scenario.json", s);
    assert!(
        detail.contains("steps[1] (terminate) could not be carried out")
            && detail.contains("not running"),
        "{detail}"
    );
}

#[test]
fn an_expected_superseded_status_is_judged_like_any_other() {
    // Nothing supersedes this instance: the expectation fails with its diff
    // (before `start` steps existed it was judged unsupported).
    let s = r#"{"process":"approval.bpmn","mocks":{"Approve":{"wait":true}},
        "expect":{"status":"superseded"}}"#;
    let detail = failure("u.scenario.json", s);
    assert!(
        detail.contains("- superseded") && detail.contains("+ waiting"),
        "{detail}"
    );
}

#[test]
fn cancel_ends_the_waiting_instance_cancelled() {
    let s = r#"{"process":"approval.bpmn","mocks":{"Approve":{"wait":true}},
        "steps":[{"advance":"PT1S"},{"cancel":{"reason":"not needed"}}],
        "expect":{"status":"cancelled","executed":{"Prepare {who}":1}}}"#;
    let judged = judge("c.scenario.json", s);
    assert!(
        matches!(judged.outcome, Outcome::Passed),
        "{:?}",
        judged.outcome
    );
    // A cancel of the finished instance is refused, naming the step.
    let s = r#"{"process":"approval.bpmn","mocks":{"Approve":{"wait":true}},
        "steps":[{"cancel":{}},{"cancel":{}}],"expect":{"status":"cancelled"}}"#;
    let detail = failure("c2.scenario.json", s);
    assert!(
        detail.contains("steps[1] (cancel) could not be carried out")
            && detail.contains("not running"),
        "{detail}"
    );
}

#[test]
fn suspend_is_checked_by_expect_and_refused_twice() {
    let s = r#"
process: approval.bpmn
input: { who: ann }
mocks:
  prepare: { output: { ticket: 7 } }
  Approve: { wait: true }
steps:
  - expect: { status: waiting, suspended: false, executed: { Prepare ann: 1 } }
  - suspend: { reason: maintenance }
  - expect: { status: waiting, suspended: true, executed: { Prepare ann: 1 } }
  - suspend: {}
expect: { status: waiting }
"#;
    let detail = failure("s.scenario.yaml", s);
    assert!(
        detail.contains("steps[3] (suspend) could not be carried out")
            && detail.contains("already suspended"),
        "{detail}"
    );
}

#[test]
fn a_bad_step_is_an_error_naming_the_file_the_step_and_the_field() {
    for (name, text, want) in [
        (
            "a.scenario.yaml",
            "process: approval.bpmn\nsteps:\n  - advance: PT1M\n  - terminate: { reson: x }\nexpect: { status: terminated }\n",
            "unknown field `reson`",
        ),
        (
            "b.scenario.json",
            r#"{"process":"approval.bpmn","steps":[{"expect":{"status":"waiting","variable":{}}}],"expect":{"status":"waiting"}}"#,
            "unknown field `variable`",
        ),
        (
            "c.scenario.json",
            r#"{"process":"approval.bpmn","steps":[{"advance":"P1M"}],"expect":{"status":"waiting"}}"#,
            "no fixed length",
        ),
        (
            "d.scenario.yaml",
            "process: approval.bpmn\nsteps:\n  - wait: PT1M\nexpect: { status: waiting }\n",
            "unknown variant `wait`",
        ),
    ] {
        let (_dir, path) = setup(name, text);
        let e = Scenario::read(&path).unwrap_err().to_string();
        let index = if name.starts_with('a') {
            "steps[1]"
        } else {
            "steps[0]"
        };
        assert!(
            e.contains(name) && e.contains(index) && e.contains(want),
            "{name}: {e}"
        );
    }
    let (_dir, path) = setup(
        "k.scenario.json",
        r#"{"process":"approval.bpmn","clock":"2026-03-01T08:00:00","expect":{"status":"waiting"}}"#,
    );
    let e = Scenario::read(&path).unwrap_err().to_string();
    assert!(
        e.contains("k.scenario.json") && e.contains("no time zone"),
        "{e}"
    );
}
