//! `Command::Suspend` / `Command::Resume`: a suspended instance records what
//! arrives but asks for no job or child instance (they are held and asked
//! for on resume) and its timers do not fire. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use windlass_engine::driver::{self, Driver, DriverError, JobOutcome};
use windlass_engine::event::{CompletedBy, Event, JobFailure};
use windlass_engine::state::{Held, Status, Wait};
use windlass_engine::{Command, DecideError, Effect, JobRequest};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

/// The child's task completes; the parent's jobs stay open.
fn respond(r: &JobRequest, _: &Node) -> JobOutcome {
    if r.node_id == "C" {
        JobOutcome::Complete {
            outputs: Vars::new(),
            by: CompletedBy::Handler,
        }
    } else {
        JobOutcome::Leave
    }
}

fn last_effects(dr: &Driver<'_>) -> Vec<Effect> {
    dr.report().steps.last().unwrap().effects.clone()
}

fn run_jobs(effects: &[Effect]) -> Vec<JobRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RunJob(r) => Some((**r).clone()),
            _ => None,
        })
        .collect()
}

fn refused(e: DriverError) -> DecideError {
    match e {
        DriverError::Decide(d) => d,
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn a_suspended_instance_holds_jobs_children_and_timers_until_resumed() {
    let d = support::defs("suspend.bpmn");
    let plan = support::plan("suspend.bpmn");
    let mut resolve = driver::resolver(&d);
    let mut respond = respond;
    let mut dr =
        Driver::start(&plan, Vars::new(), Timestamp(0), &mut resolve, &mut respond).unwrap();
    let a = run_jobs(&last_effects(&dr))[0].key;

    assert_eq!(refused(dr.resume().unwrap_err()), DecideError::NotSuspended);
    dr.suspend("maintenance").unwrap();
    assert!(dr.state().is_suspended());
    assert_eq!(
        refused(dr.suspend("twice").unwrap_err()),
        DecideError::AlreadySuspended
    );

    // The answer for A is recorded; the child it leads to is held.
    dr.send(Command::CompleteJob {
        job: a,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    })
    .unwrap();
    assert!(
        !last_effects(&dr)
            .iter()
            .any(|e| matches!(e, Effect::StartChild { .. }))
    );
    assert!(matches!(dr.state().held.as_slice(), [Held::Child(_)]));
    assert_eq!(dr.executed().get("A"), Some(&1));
    assert_eq!(dr.executed().get("C"), None);

    // Resume asks for the child, which runs; the timer opens.
    dr.resume().unwrap();
    assert!(dr.state().held.is_empty());
    assert_eq!(dr.executed().get("C"), Some(&1));
    let timer = dr.state().timers().next().unwrap().0;

    // Suspended again: the due timer does not fire, and a fire is refused.
    dr.suspend("again").unwrap();
    dr.advance(20 * 60_000).unwrap();
    assert!(dr.state().timers().next().is_some(), "the timer is held");
    assert_eq!(
        refused(dr.send(Command::FireTimer { sub: timer }).unwrap_err()),
        DecideError::Suspended(timer)
    );
    // Resumed, the overdue timer fires and B is asked for.
    dr.resume().unwrap();
    assert!(dr.state().timers().next().is_none());
    assert!(
        dr.state()
            .tokens
            .iter()
            .any(|t| matches!(t.wait, Wait::Job { attempt: 1 }))
    );

    // A retry decided while suspended is held with its backoff, then asked
    // for on resume.
    let b_job = dr
        .report()
        .steps
        .iter()
        .flat_map(|s| run_jobs(&s.effects))
        .find(|r| r.node_id == "B")
        .unwrap()
        .key;
    dr.suspend("third").unwrap();
    dr.send(Command::FailJob {
        job: b_job,
        failure: JobFailure::Technical {
            message: "flaky".into(),
            retryable: true,
        },
    })
    .unwrap();
    assert!(run_jobs(&last_effects(&dr)).is_empty());
    let [Held::Job { key, not_before }] = dr.state().held.as_slice() else {
        panic!("{:?}", dr.state().held);
    };
    assert_eq!(key.attempt, 2);
    assert!(not_before.is_some());
    let (key, not_before) = (*key, *not_before);
    dr.resume().unwrap();
    let again = run_jobs(&last_effects(&dr));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].key, key);
    assert_eq!(again[0].not_before, not_before);
    assert_eq!(again[0].name.as_deref(), Some("B"));
    assert!(
        dr.history()
            .iter()
            .any(|e| matches!(e, Event::InstanceSuspended { reason } if reason == "maintenance"))
    );
    assert_eq!(dr.state().status, Status::Running);
    support::check_replay(&plan, &dr.report());
}

#[test]
fn a_suspended_instance_can_be_cancelled() {
    let d = support::defs("suspend.bpmn");
    let plan = support::plan("suspend.bpmn");
    let mut resolve = driver::resolver(&d);
    let mut respond = respond;
    let mut dr =
        Driver::start(&plan, Vars::new(), Timestamp(0), &mut resolve, &mut respond).unwrap();
    dr.suspend("hold").unwrap();
    dr.cancel("give up").unwrap();
    assert_eq!(
        dr.state().status,
        Status::Cancelled {
            reason: "give up".into()
        }
    );
    assert_eq!(refused(dr.resume().unwrap_err()), DecideError::NotRunning);
    support::check_replay(&plan, &dr.report());
}
