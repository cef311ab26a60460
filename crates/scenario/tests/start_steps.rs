//! `start` steps: more instances of the scenario's process in one driver,
//! named, sharing dedup keys — so `superseded` can be expected — and steps
//! that act on a named instance. Judged end to end from files on disk.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use windlass_scenario::{Options, Outcome, judge_file};

/// A reconcile keyed by `{name}` at its start event: `Prepare` (a task),
/// then `Apply` (a user task the mocks leave open).
const RECONCILE: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d">
  <process id="reconcile" isExecutable="true">
    <startEvent id="s">
      <extensionElements><windlass:dedup key="{name}"/></extensionElements>
    </startEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="prepare"/>
    <task id="prepare" name="Prepare {name}"/>
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="apply"/>
    <userTask id="apply" name="Apply"/>
    <sequenceFlow id="f3" sourceRef="apply" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

fn judged(scenario: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reconcile.bpmn"), RECONCILE).unwrap();
    let path: PathBuf = dir.path().join("s.scenario.yaml");
    std::fs::write(&path, scenario).unwrap();
    judge_file(&path, Options::default()).outcome
}

const HEAD: &str = "process: reconcile.bpmn\ninput: { name: a }\nmocks:\n  Apply: { wait: true }\n";

#[test]
fn a_newer_claim_supersedes_the_waiting_instance_and_runs_when_the_holder_ends() {
    let s = format!(
        "{HEAD}steps:
  - start: {{ instance: second, input: {{ name: a }} }}
  - expect: {{ instance: second, status: waiting, executed: {{}} }}
  - start: {{ instance: third, input: {{ name: a, n: 3 }} }}
  - expect: {{ instance: second, status: superseded, executed: {{}} }}
  - expect: {{ instance: third, status: waiting, executed: {{}} }}
  - cancel: {{ reason: stop the first }}
  - expect: {{ instance: third, status: waiting, executed: {{ Prepare a: 1 }}, variables: {{ n: 3 }} }}
  - terminate: {{ instance: third }}
expect: {{ instance: third, status: terminated, executed: {{ Prepare a: 1 }} }}
"
    );
    assert_eq!(judged(&s), Outcome::Passed, "{s}");
}

#[test]
fn steps_act_on_the_instance_they_name_and_other_keys_run_at_once() {
    let s = format!(
        "{HEAD}steps:
  - start: {{ instance: other, input: {{ name: b }} }}
  - expect: {{ instance: other, status: waiting, executed: {{ Prepare b: 1 }} }}
  - suspend: {{ instance: other }}
  - expect: {{ instance: other, status: waiting, suspended: true, executed: {{ Prepare b: 1 }} }}
  - expect: {{ status: waiting, suspended: false, executed: {{ Prepare a: 1 }} }}
  - resume: {{ instance: other }}
  - cancel: {{ instance: other }}
  - expect: {{ instance: other, status: cancelled, executed: {{ Prepare b: 1 }} }}
expect: {{ status: waiting, executed: {{ Prepare a: 1 }} }}
"
    );
    assert_eq!(judged(&s), Outcome::Passed, "{s}");
}

#[test]
fn a_wrong_expectation_about_a_named_instance_fails_naming_its_step() {
    let s = format!(
        "{HEAD}steps:
  - start: {{ instance: second, input: {{ name: a }} }}
  - expect: {{ instance: second, status: superseded }}
expect: {{ status: waiting }}
"
    );
    match judged(&s) {
        Outcome::Failed { detail } => assert!(
            detail.contains("steps[1] (expect)")
                && detail.contains("- superseded")
                && detail.contains("+ waiting"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn instance_names_are_checked_when_the_file_is_read() {
    let cases = [
        (
            "steps:\n  - expect: { instance: ghost, status: waiting }\nexpect: { status: waiting }\n",
            "steps[0] (expect): no earlier `start` step starts an instance named `ghost`",
        ),
        (
            "steps:\n  - terminate: { instance: later }\n  - start: { instance: later }\nexpect: { status: waiting }\n",
            "steps[0] (terminate): no earlier `start` step starts an instance named `later`",
        ),
        (
            "steps:\n  - start: { instance: x }\n  - start: { instance: x }\nexpect: { status: waiting }\n",
            "steps[1] (start): an instance named `x` was started before",
        ),
        (
            "steps:\n  - start: { instance: ' ' }\nexpect: { status: waiting }\n",
            "steps[0] (start): `instance` must not be empty",
        ),
        (
            "expect: { instance: nobody, status: waiting }\n",
            "expect: no `start` step starts an instance named `nobody`",
        ),
        (
            "steps:\n  - broadcast: { name: go, instance: x }\nexpect: { status: waiting }\n",
            "unknown field `instance`",
        ),
    ];
    for (tail, want) in cases {
        let s = format!("{HEAD}{tail}");
        match judged(&s) {
            Outcome::Failed { detail } => {
                assert!(detail.contains(want), "{tail}: {detail}")
            }
            other => panic!("{tail}: {other:?}"),
        }
    }
}
