//! Escalations: caught by non-interrupting and interrupting boundary events
//! of embedded sub-processes and call activities (from the called process)
//! and by an escalation event sub-process,
//! innermost first; an escalation nobody catches lets the flow go on.
//! `EscalationThrown` names where each was caught. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use windlass_engine::driver::RunStatus;
use windlass_engine::event::Event;

#[test]
fn escalations_are_caught_innermost_first_or_let_the_flow_go_on() {
    let r = support::run("escalation.bpmn", json!({}), &[]);
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    assert_eq!(
        support::executed(&r),
        support::ex(&[
            ("A", 1),
            ("After", 1),
            ("Audit", 1),
            ("B", 1),
            ("C", 1),
            ("Goes on", 1),
            ("Handle", 1),
            ("Notify", 1),
        ])
    );
    let plan = support::plan("escalation.bpmn");
    let g = plan.graph();
    let caught: Vec<(String, Option<String>)> = r
        .history
        .iter()
        .filter_map(|e| match e {
            Event::EscalationThrown {
                code, caught_by, ..
            } => Some((
                code.clone().unwrap_or_default(),
                caught_by.map(|n| g.node(n).id.to_string()),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        caught,
        [
            ("late".to_string(), Some("notify".to_string())),
            ("audit".to_string(), Some("auditStart".to_string())),
            ("abort".to_string(), Some("aborted".to_string())),
            ("nobody".to_string(), None),
        ]
    );
    support::check_replay(&plan, &r);
}

#[test]
fn escalations_from_a_called_process_reach_its_call_activity() {
    // Finish waits (its job is left open): the escalation reaches the parent
    // after the child's step, as a runtime delivers it after the commit.
    let r = support::run(
        "escalation_call.bpmn",
        json!({}),
        &[("Finish", support::M::Leave)],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    // `late` runs Notify beside the child; `abort` interrupts the call
    // activity (the child is terminated, its Finish job cancelled) and runs
    // Handle.
    assert_eq!(
        support::executed(&r),
        support::ex(&[("Handle", 1), ("Notify", 1), ("Work", 1)])
    );
    let plan = support::plan("escalation_call.bpmn");
    let g = plan.graph();
    let sent_up: Vec<(u32, String, Option<String>)> = r
        .history
        .iter()
        .filter_map(|e| match e {
            Event::ChildEscalated {
                number,
                code,
                caught_by,
                ..
            } => Some((
                *number,
                code.clone().unwrap_or_default(),
                caught_by.map(|n| g.node(n).id.to_string()),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent_up,
        [
            (0, "late".to_string(), Some("lateCaught".to_string())),
            (1, "nobody".to_string(), None),
            (2, "abort".to_string(), Some("aborted".to_string())),
        ]
    );
    support::check_replay(&plan, &r);
}

#[test]
fn a_child_escalation_delivered_twice_is_refused_the_second_time() {
    use windlass_engine::command::Command;
    use windlass_engine::decide::{Ctx, DecideError, decide};
    use windlass_engine::state::Wait;
    let plan = support::plan("escalation_call.bpmn");
    let r = support::run(
        "escalation_call.bpmn",
        json!({}),
        &[("Work", support::M::Leave), ("Finish", support::M::Leave)],
    );
    // The parent's state once `late` was taken: its call activity waits.
    let upto = r
        .history
        .iter()
        .position(|e| matches!(e, Event::ChildEscalated { number: 0, .. }))
        .unwrap();
    let state = windlass_engine::replay(&r.history[..=upto]).unwrap();
    let (token, _) = state
        .tokens
        .iter()
        .find(|t| t.wait == Wait::Child)
        .map(|t| (t.id, t.node))
        .unwrap();
    let ctx = Ctx {
        plan: &plan,
        now: windlass_types::Timestamp(5_000),
        definition_key: "parent",
    };
    let again = Command::ChildEscalated {
        token,
        number: 0,
        code: Some("late".into()),
    };
    assert!(matches!(
        decide(&state, &again, &ctx),
        Err(DecideError::EscalationTaken { number: 0, .. })
    ));
    let next = Command::ChildEscalated {
        token,
        number: 1,
        code: Some("late".into()),
    };
    assert!(!decide(&state, &next, &ctx).unwrap().events.is_empty());
}

#[test]
fn an_escalation_boundary_that_could_never_fire_is_refused_by_name() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:test">
  <escalation id="e1" escalationCode="late"/>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <task id="t"/>
    <boundaryEvent id="b" attachedToRef="t"><escalationEventDefinition escalationRef="e1"/></boundaryEvent>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;
    let defs = windlass_model::load(xml).definitions.unwrap();
    let err = windlass_engine::Plan::new(defs.first_executable().unwrap().clone()).unwrap_err();
    let e = err.to_string();
    assert!(
        e.contains("'b'")
            && e.contains(
                "escalation boundary event on anything but a sub-process or a call activity"
            ),
        "{e}"
    );
}
