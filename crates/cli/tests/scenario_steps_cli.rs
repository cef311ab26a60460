//! End-to-end tests of scenario steps through the `windlass` binary:
//! `windlass test` with `clock`, `steps` (`advance`, `terminate`, `cancel`,
//! `suspend`, `resume`, `expect` checkpoints), `{"wait": true}` mocks and
//! `expect.variables`; checkpoint failures printed with the step and
//! expected vs actual; statuses the engine cannot bring about yet reported
//! unsupported; and the wait mock under `windlass run`.

mod common;
use common::{json, s, text, windlass};
use std::path::Path;

/// start → task "Prepare {who}" → userTask "Approve" → end.
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

const SCENARIO: &str = r#"name: nobody approves
process: approval.bpmn
clock: 2026-03-01T08:00:00Z
input: { who: ann }
mocks:
  prepare: { output: { ticket: 7 } }
  Approve: { wait: true }
steps:
  - expect: { status: waiting, executed: { Prepare ann: 1 }, variables: { ticket: 7 } }
  - advance: PT36H
  - terminate: { reason: nobody approved }
  - expect: { status: terminated, executed: { Prepare ann: 1 } }
expect:
  status: terminated
  executed: { Prepare ann: 1 }
  variables: { who: ann, ticket: 7 }
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn folder(scenario: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "approval.bpmn", APPROVAL);
    write(dir.path(), "a.scenario.yaml", scenario);
    dir
}

#[test]
fn steps_checkpoints_wait_and_terminate_pass() {
    let dir = folder(SCENARIO);
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("PASS") && t.contains("1 passed, 0 failed"),
        "{t}"
    );

    let out = windlass(&["test", "--format", "json", s(dir.path())]);
    let v = json(&out);
    let one = &v["scenarios"][0];
    assert_eq!(one["result"], "passed", "{v}");
    assert_eq!(one["status"], "terminated", "{v}");
    assert_eq!(one["variables"]["ticket"], 7, "{v}");
}

#[test]
fn a_failing_checkpoint_is_printed_with_its_step_and_expected_vs_actual() {
    let dir = folder(&SCENARIO.replace(
        "- expect: { status: terminated,",
        "- expect: { status: waiting,",
    ));
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("FAIL")
            && t.contains("checkpoint steps[3] (expect) does not match")
            && t.contains("- waiting")
            && t.contains("+ terminated"),
        "{t}"
    );

    let dir = folder(&SCENARIO.replace("variables: { ticket: 7 }", "variables: { ticket: 8 }"));
    let out = windlass(&["test", "--format", "json", s(dir.path())]);
    let v = json(&out);
    let one = &v["scenarios"][0];
    assert_eq!(one["result"], "failed", "{v}");
    let detail = one["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("steps[0]")
            && detail.contains("- \"ticket\": 8")
            && detail.contains("+ \"ticket\": 7"),
        "{detail}"
    );
    // Playing stopped at the checkpoint: the instance still waits.
    assert_eq!(one["status"], "waiting", "{v}");
}

#[test]
fn an_expected_superseded_status_nothing_brings_about_fails_with_its_diff() {
    let dir = folder(&SCENARIO.replace(
        "expect:\n  status: terminated",
        "expect:\n  status: superseded",
    ));
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("FAIL")
            && t.contains("- superseded")
            && t.contains("+ terminated")
            && t.contains("0 passed, 1 failed, 0 unsupported"),
        "{t}"
    );
}

#[test]
fn cancel_suspend_and_resume_steps_pass() {
    let scenario = SCENARIO
        .replace(
            "  - advance: PT36H\n  - terminate: { reason: nobody approved }\n  - expect: { status: terminated, executed: { Prepare ann: 1 } }\n",
            "  - suspend: { reason: holiday }\n  - expect: { status: waiting, suspended: true, executed: { Prepare ann: 1 } }\n  - advance: PT36H\n  - resume: {}\n  - cancel: { reason: nobody approved }\n",
        )
        .replace("  status: terminated\n", "  status: cancelled\n  suspended: false\n");
    assert!(scenario.contains("cancel:"), "{scenario}");
    let dir = folder(&scenario);
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("1 passed, 0 failed"), "{t}");
    // A resume of an instance that is not suspended fails, naming the step.
    let dir = folder(&scenario.replace("  - resume: {}\n", "  - resume: {}\n  - resume: {}\n"));
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("steps[5] (resume)") && t.contains("not suspended"),
        "{t}"
    );
}

#[test]
fn a_misspelt_step_field_fails_naming_file_step_and_field() {
    let dir = folder(&SCENARIO.replace("terminate: { reason:", "terminate: { reasn:"));
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("a.scenario.yaml")
            && t.contains("steps[2]")
            && t.contains("unknown field `reasn`"),
        "{t}"
    );
}

#[test]
fn run_with_a_wait_mock_leaves_the_instance_waiting() {
    let dir = folder(SCENARIO);
    let out = windlass(&[
        "run",
        s(&dir.path().join("approval.bpmn")),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"who":"ann"}"#,
        "--mock",
        r#"Approve={"wait":true}"#,
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(3), "{v}");
    assert_eq!(v["status"], "waiting", "{v}");
    assert_eq!(v["executed"]["Prepare ann"], 1, "{v}");
    assert!(
        v["incidents"].as_array().is_none_or(Vec::is_empty),
        "a wait is no incident: {v}"
    );
}
