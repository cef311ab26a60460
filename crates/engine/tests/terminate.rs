//! `Command::Terminate`: every token is cancelled (jobs, child instances,
//! nested scopes), `InstanceTerminated` is recorded, the instance finishes
//! terminated; replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::M;
use windlass_engine::driver::{RunReport, StepRecord};
use windlass_engine::event::Event;
use windlass_engine::state::{Status, Wait};
use windlass_engine::{Command, Ctx, DecideError, Effect, Finish, decide, replay};
use windlass_types::Timestamp;

/// The waiting instance of `terminate_cmd.bpmn` (a job, a job inside a
/// sub-process and a child instance open), then `Command::Terminate`.
pub fn terminated() -> RunReport {
    let mut report = support::run(
        "terminate_cmd.bpmn",
        json!({}),
        &[
            ("wait", M::Leave),
            ("inner", M::Leave),
            ("childWork", M::Leave),
        ],
    );
    let plan = support::plan("terminate_cmd.bpmn");
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(9_000),
        definition_key: "terminate_cmd",
    };
    let cmd = Command::Terminate {
        reason: "operator said so".into(),
    };
    let d = decide(&report.state, &cmd, &ctx).unwrap();
    report.steps.push(StepRecord {
        command: cmd,
        now: ctx.now,
        first_event: report.history.len(),
        event_count: d.events.len(),
        effects: d.effects.clone(),
    });
    report.history.extend(d.events);
    report.state = replay(&report.history).unwrap();
    report
}

#[test]
fn terminate_cancels_jobs_children_and_nested_scopes() {
    let plan = support::plan("terminate_cmd.bpmn");
    let before = support::run(
        "terminate_cmd.bpmn",
        json!({}),
        &[
            ("wait", M::Leave),
            ("inner", M::Leave),
            ("childWork", M::Leave),
        ],
    );
    let jobs = before
        .state
        .tokens
        .iter()
        .filter(|t| matches!(t.wait, Wait::Job { .. }))
        .count();
    let children = before
        .state
        .tokens
        .iter()
        .filter(|t| t.wait == Wait::Child)
        .count();
    assert_eq!((jobs, children), (2, 1), "{:?}", before.state.tokens);

    let report = terminated();
    support::check_replay(&plan, &report);
    assert_eq!(
        report.state.status,
        Status::Terminated {
            reason: "operator said so".into()
        }
    );
    assert!(report.state.tokens.is_empty(), "{:?}", report.state.tokens);
    // Only the process scope is left open (its variables stay readable).
    assert_eq!(report.state.scopes.len(), 1);
    let last = report.steps.last().unwrap();
    let cancelled_jobs = last
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::CancelJob(_)))
        .count();
    let cancelled_children = last
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::CancelChild { .. }))
        .count();
    assert_eq!((cancelled_jobs, cancelled_children), (2, 1));
    assert_eq!(
        last.effects.last(),
        Some(&Effect::InstanceFinished(Finish::Terminated {
            reason: "operator said so".into()
        }))
    );
    let events = &report.history[last.first_event..];
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ScopeClosed { .. }))
    );
    assert_eq!(
        events.last(),
        Some(&Event::InstanceTerminated {
            reason: "operator said so".into()
        })
    );
    assert_eq!(events.last().unwrap().tag(), 28);
}

#[test]
fn a_finished_instance_refuses_terminate_and_later_commands() {
    let plan = support::plan("terminate_cmd.bpmn");
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(10_000),
        definition_key: "terminate_cmd",
    };
    let report = terminated();
    let again = Command::Terminate { reason: "x".into() };
    assert_eq!(
        decide(&report.state, &again, &ctx),
        Err(DecideError::NotRunning)
    );
    // A late notice of the cancelled child is refused, not applied.
    let child_token = report.history.iter().find_map(|e| match e {
        Event::ChildStarted { token, .. } => Some(*token),
        _ => None,
    });
    let late = Command::ChildFailed {
        token: child_token.unwrap(),
        code: None,
        message: "terminated".into(),
    };
    assert_eq!(
        decide(&report.state, &late, &ctx),
        Err(DecideError::NotRunning)
    );
}

#[test]
fn the_history_text_names_the_termination() {
    let plan = support::plan("terminate_cmd.bpmn");
    let report = terminated();
    let last = report.history.last().unwrap();
    assert_eq!(
        windlass_engine::history_text::describe(last, plan.graph()),
        "instance terminated: operator said so"
    );
}

#[test]
fn terminate_reaches_jobs_inside_nested_multi_instance_bodies() {
    let plan = support::plan("nested_mi.bpmn");
    let mut report = support::run(
        "nested_mi.bpmn",
        json!({"groups": ["g1", "g2"]}),
        &[("inner", M::Leave)],
    );
    let open_jobs = report
        .state
        .tokens
        .iter()
        .filter(|t| matches!(t.wait, Wait::Job { .. }))
        .count();
    assert_eq!(open_jobs, 4, "2 groups x 2 elements wait");
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(9_000),
        definition_key: "nested_mi",
    };
    let cmd = Command::Terminate {
        reason: "stop".into(),
    };
    let d = decide(&report.state, &cmd, &ctx).unwrap();
    report.steps.push(StepRecord {
        command: cmd,
        now: ctx.now,
        first_event: report.history.len(),
        event_count: d.events.len(),
        effects: d.effects.clone(),
    });
    report.history.extend(d.events);
    report.state = replay(&report.history).unwrap();
    support::check_replay(&plan, &report);
    let cancelled = d
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::CancelJob(_)))
        .count();
    assert_eq!(cancelled, 4);
    assert!(report.state.tokens.is_empty());
    assert_eq!(report.state.scopes.len(), 1, "every element scope closed");
    assert!(report.state.is_finished());
}
