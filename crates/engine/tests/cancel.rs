//! `Command::Cancel`: the cancel is thrown as `windlass:cancelled` at every
//! waiting token; handlers naming that code run as cleanup and the instance
//! ends cancelled when they finish; everything else (jobs, sub-processes,
//! children) is cancelled at once. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use windlass_engine::driver::{self, Driver, JobOutcome, RunStatus};
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::state::Status;
use windlass_engine::{CANCEL_CODE, Command, DecideError, Effect, Finish, JobRequest};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

/// Leaves every job open.
fn leave(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Leave
}

/// The effects of the driver's last step on the root instance.
fn last_effects(dr: &Driver<'_>) -> Vec<Effect> {
    dr.report().steps.last().unwrap().effects.clone()
}

fn open_job(effects: &[Effect], node_id: &str) -> Option<windlass_engine::JobKey> {
    effects.iter().find_map(|e| match e {
        Effect::RunJob(r) if r.node_id == node_id => Some(r.key),
        _ => None,
    })
}

#[test]
fn a_caught_cancel_runs_its_cleanup_and_the_rest_is_cancelled_at_once() {
    let d = support::defs("cancel_cleanup.bpmn");
    let plan = support::plan("cancel_cleanup.bpmn");
    let mut resolve = driver::resolver(&d);
    let mut respond = leave;
    let mut dr = Driver::start(
        &plan,
        Vars::new(),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    dr.cancel("no longer needed").unwrap();
    let effects = last_effects(&dr);
    // `wait` was interrupted by its cancel boundary event; `inner` (whose
    // catch-all error boundary does not catch a cancel) was cancelled with
    // its sub-process, the child too.
    let cancelled_jobs = effects
        .iter()
        .filter(|e| matches!(e, Effect::CancelJob(_)))
        .count();
    assert_eq!(cancelled_jobs, 2, "{effects:?}");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelChild { .. }))
    );
    let cleanup = open_job(&effects, "cleanup").expect("the cleanup task runs");
    assert!(open_job(&effects, "handled").is_none());
    assert_eq!(dr.state().status, Status::Running);
    assert_eq!(dr.state().cancelling.as_deref(), Some("no longer needed"));
    assert_eq!(dr.state().tokens.len(), 1, "only the cleanup token is left");
    let history = dr.history();
    assert!(history.iter().any(|e| matches!(
        e,
        Event::ErrorThrown { code: Some(c), message: Some(m), .. }
            if c == CANCEL_CODE && m == "no longer needed"
    )));
    assert!(
        history
            .iter()
            .any(|e| matches!(e, Event::CancelRequested { .. }))
    );

    // A second cancel while the cleanup runs is refused.
    let e = dr.cancel("again").unwrap_err();
    assert!(
        matches!(
            e,
            driver::DriverError::Decide(DecideError::AlreadyCancelling)
        ),
        "{e}"
    );

    dr.send(Command::CompleteJob {
        job: cleanup,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    })
    .unwrap();
    assert_eq!(
        dr.status(),
        RunStatus::Cancelled {
            reason: "no longer needed".into()
        }
    );
    assert_eq!(
        dr.history().last(),
        Some(&Event::InstanceCancelled {
            reason: "no longer needed".into()
        })
    );
    assert_eq!(dr.history().last().unwrap().tag(), 42);
    assert_eq!(
        last_effects(&dr).last(),
        Some(&Effect::InstanceFinished(Finish::Cancelled {
            reason: "no longer needed".into()
        }))
    );
    assert_eq!(dr.executed().get("Cleanup"), Some(&1));
    support::check_replay(&plan, &dr.report());

    // A finished instance refuses a cancel.
    let e = dr.cancel("late").unwrap_err();
    assert!(
        matches!(e, driver::DriverError::Decide(DecideError::NotRunning)),
        "{e}"
    );
}

#[test]
fn an_uncaught_cancel_cancels_every_token_and_ends_the_instance_at_once() {
    let d = support::defs("terminate_cmd.bpmn");
    let plan = support::plan("terminate_cmd.bpmn");
    let mut resolve = driver::resolver(&d);
    let mut respond = leave;
    let mut dr = Driver::start(
        &plan,
        Vars::new(),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    dr.cancel("by hand").unwrap();
    assert_eq!(
        dr.state().status,
        Status::Cancelled {
            reason: "by hand".into()
        }
    );
    assert!(dr.state().tokens.is_empty());
    let effects = last_effects(&dr);
    let jobs = effects
        .iter()
        .filter(|e| matches!(e, Effect::CancelJob(_)))
        .count();
    assert_eq!(jobs, 2, "{effects:?}");
    assert_eq!(
        effects.last(),
        Some(&Effect::InstanceFinished(Finish::Cancelled {
            reason: "by hand".into()
        }))
    );
    // Nothing caught it: no error was recorded.
    assert!(
        !dr.history()
            .iter()
            .any(|e| matches!(e, Event::ErrorThrown { .. }))
    );
    support::check_replay(&plan, &dr.report());
    assert!(dr.executed().is_empty());
}

#[test]
fn an_event_sub_process_naming_the_cancel_code_cleans_up_the_whole_scope() {
    let d = support::defs("cancel_event_sub.bpmn");
    let plan = support::plan("cancel_event_sub.bpmn");
    let mut resolve = driver::resolver(&d);
    let mut respond = |r: &JobRequest, _: &Node| {
        if r.node_id == "undo" {
            JobOutcome::Complete {
                outputs: Vars::from_iter([("undone".to_string(), serde_json::json!(true))]),
                by: CompletedBy::Handler,
            }
        } else {
            JobOutcome::Leave
        }
    };
    let mut dr = Driver::start(
        &Arc::clone(&plan),
        Vars::new(),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    dr.cancel("stop").unwrap();
    assert_eq!(
        dr.status(),
        RunStatus::Cancelled {
            reason: "stop".into()
        }
    );
    assert_eq!(dr.executed().get("Undo"), Some(&1));
    assert_eq!(dr.variables().get("undone"), Some(&serde_json::json!(true)));
    // Thrown once (at the first token); the event sub-process cancelled B.
    let thrown = dr
        .history()
        .iter()
        .filter(|e| matches!(e, Event::ErrorThrown { .. }))
        .count();
    assert_eq!(thrown, 1);
    support::check_replay(&plan, &dr.report());
}
