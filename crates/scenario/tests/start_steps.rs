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
  <message id="m" name="ping"/>
  <signal id="g" name="pong"/>
  <process id="listener" isExecutable="true">
    <startEvent id="by-message"><messageEventDefinition messageRef="m"/></startEvent>
    <sequenceFlow id="l1" sourceRef="by-message" targetRef="note"/>
    <startEvent id="by-signal"><signalEventDefinition signalRef="g"/></startEvent>
    <sequenceFlow id="l2" sourceRef="by-signal" targetRef="note"/>
    <task id="note" name="Note {who}"/>
    <sequenceFlow id="l3" sourceRef="note" targetRef="le"/>
    <endEvent id="le"/>
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
            "steps[0] (expect): no earlier step starts an instance named `ghost`",
        ),
        (
            "steps:\n  - terminate: { instance: later }\n  - start: { instance: later }\nexpect: { status: waiting }\n",
            "steps[0] (terminate): no earlier step starts an instance named `later`",
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
            "expect: no step starts an instance named `nobody`",
        ),
        (
            "steps:\n  - broadcast: { name: go, instance: x }\n  - message: { name: go, instance: x }\nexpect: { status: waiting }\n",
            "steps[1] (message): an instance named `x` was started before",
        ),
        (
            "steps:\n  - advance: { instance: x }\nexpect: { status: waiting }\n",
            "steps[0]",
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

#[test]
fn messages_and_broadcasts_start_instances_at_their_start_events() {
    let s = format!(
        "{HEAD}steps:
  - message: {{ name: ping, variables: {{ who: ann }}, instance: by message }}
  - expect: {{ instance: by message, status: completed, executed: {{ Note ann: 1 }}, variables: {{ who: ann }} }}
  - broadcast: {{ name: pong, variables: {{ who: bob }}, instance: by signal }}
  - expect: {{ instance: by signal, status: completed, executed: {{ Note bob: 1 }} }}
  - message: {{ name: nobody listens, instance: never }}
expect: {{ status: waiting, executed: {{ Prepare a: 1 }} }}
"
    );
    assert_eq!(judged(&s), Outcome::Passed, "{s}");
}

#[test]
fn a_step_naming_an_instance_a_message_did_not_start_is_refused() {
    // `pang` starts nothing (and is buffered), so `never` names no instance.
    let s = format!(
        "{HEAD}steps:
  - message: {{ name: pang, instance: never }}
  - expect: {{ instance: never, status: completed }}
expect: {{ status: waiting }}
"
    );
    match judged(&s) {
        Outcome::Failed { detail } => assert!(
            detail.contains("steps[1] (expect) could not be carried out")
                && detail.contains("no earlier step started an instance named `never`"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_message_start_event_with_a_dedup_key_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/config-reconcile.bpmn"
        ),
        dir.path().join("config-reconcile.bpmn"),
    )
    .unwrap();
    let path = dir.path().join("s.scenario.yaml");
    std::fs::write(
        &path,
        "process: config-reconcile.bpmn\ninput: { namespace: web, name: a }\nmocks:\n  render: {}\n  apply: { wait: true }\nsteps:\n  - message: { name: config-changed, variables: { namespace: web, name: a } }\nexpect: { status: waiting }\n",
    )
    .unwrap();
    match judge_file(&path, Options::default()).outcome {
        Outcome::Failed { detail } => assert!(
            detail.contains("steps[0] (message)")
                && detail
                    .contains("cannot start process 'config-reconcile' at its start event 'start'")
                && detail.contains("dedup key"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
}
