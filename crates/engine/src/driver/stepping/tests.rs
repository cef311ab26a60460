//! Unit tests of the stepping driver: settling, terminate, the clock and the
//! order in which due timers fire.

use super::*;
use crate::decide::DecideError;
use crate::event::{CompletedBy, JobFailure};
use crate::ids::SubId;
use crate::state::{SubKind, Subscription};
use crate::{JobRequest, Plan, replay};
use windlass_model::{Definitions, Node, NodeIdx};

const TERMINATE: &str = include_str!("../../../tests/fixtures/terminate_cmd.bpmn");
const RETRIES: &str = include_str!("../../../tests/fixtures/retries.bpmn");
const SIMPLE: &str = include_str!("../../../tests/fixtures/simple.bpmn");

fn defs(xml: &str) -> Definitions {
    windlass_model::load(xml).definitions.unwrap()
}

fn plan(d: &Definitions) -> Arc<Plan> {
    Arc::new(Plan::new(d.first_executable().unwrap().clone()).unwrap())
}

/// Every job is left open.
fn leave(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Leave
}

fn complete(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Complete {
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    }
}

fn timer(id: u32, due: i64) -> Subscription {
    Subscription {
        id: SubId(id),
        token: TokenId(0),
        node: NodeIdx(0),
        kind: SubKind::Timer {
            due_at: Timestamp(due),
        },
    }
}

#[test]
fn start_settles_the_tree_and_terminate_cancels_it_children_included() {
    let d = defs(TERMINATE);
    let mut resolve = super::super::resolver(&d);
    let mut respond = leave;
    let mut dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(7),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Waiting { incidents: vec![] });
    assert_eq!(dr.insts.len(), 2, "the call activity's child was started");
    assert_eq!(dr.insts[1].state.status, Status::Running);

    dr.terminate("by hand").unwrap();
    assert_eq!(
        dr.status(),
        RunStatus::Terminated {
            reason: "by hand".into()
        }
    );
    assert_eq!(
        dr.insts[1].state.status,
        Status::Terminated {
            reason: CANCELLED_BY_PARENT.into()
        },
        "a child its parent cancels is terminated"
    );
    // The parent is not told of a child it cancelled.
    assert!(dr.insts[0].queue.is_empty());
    assert_eq!(replay(dr.history()).unwrap(), *dr.state());
    assert!(dr.executed().is_empty());

    // A finished instance refuses another terminate and stays as it was.
    let before = dr.history().len();
    let e = dr.terminate("again").unwrap_err();
    assert!(
        matches!(e, DriverError::Decide(DecideError::NotRunning)),
        "{e}"
    );
    assert_eq!(dr.history().len(), before);
}

#[test]
fn run_is_a_driver_read_out_at_once() {
    let d = defs(SIMPLE);
    let mut resolve = super::super::resolver(&d);
    let mut respond = complete;
    let report = super::super::run(
        &plan(&d),
        Vars::new(),
        Timestamp(0),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    let mut resolve = super::super::resolver(&d);
    let mut respond = complete;
    let dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(0),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.report(), report);
    assert!(!report.executed.is_empty());
}

#[test]
fn the_clock_moves_only_forward() {
    let d = defs(SIMPLE);
    let mut resolve = super::super::resolver(&d);
    let mut respond = leave;
    let mut dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    dr.advance(1_500).unwrap();
    assert_eq!(dr.now(), Timestamp(2_500));
    dr.advance_to(Timestamp(10)).unwrap();
    assert_eq!(dr.now(), Timestamp(2_500), "never back");
    dr.advance(u64::MAX).unwrap();
    assert_eq!(dr.now(), Timestamp(i64::MAX), "saturates");
}

#[test]
fn retry_backoff_jumps_the_clock_to_not_before() {
    let d = defs(RETRIES);
    let mut calls = 0;
    let mut respond = |_: &JobRequest, _: &Node| {
        calls += 1;
        if calls == 1 {
            JobOutcome::Fail(JobFailure::Technical {
                message: "flaky".into(),
                retryable: true,
            })
        } else {
            JobOutcome::Complete {
                outputs: Vars::new(),
                by: CompletedBy::Handler,
            }
        }
    };
    let mut resolve = super::super::resolver(&d);
    let dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    // The backoff is PT0.5S: the retry (and all after it) runs at 1 500.
    assert_eq!(dr.now(), Timestamp(1_500));
    let report = dr.into_report();
    assert_eq!(report.steps.first().map(|s| s.now), Some(Timestamp(1_000)));
    assert_eq!(report.steps.last().map(|s| s.now), Some(Timestamp(1_500)));
}

#[test]
fn due_timers_fire_in_due_order_then_instance_then_sub_id() {
    let d = defs(TERMINATE);
    let mut resolve = super::super::resolver(&d);
    let mut respond = leave;
    let mut dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(0),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    // No element opens a timer yet: the subscriptions are placed by hand.
    dr.insts[0].state.subscriptions = vec![timer(1, 500), timer(3, 200)];
    dr.insts[1].state.subscriptions = vec![timer(0, 200), timer(2, 100)];
    let order: Vec<_> = dr
        .timers()
        .into_iter()
        .map(|(due, inst, sub)| (due.0, inst, sub.0))
        .collect();
    assert_eq!(order, [(100, 1, 2), (200, 0, 3), (200, 1, 0), (500, 0, 1)]);

    // Nothing is due before 100: the clock just moves.
    dr.advance(99).unwrap();
    assert_eq!(dr.now(), Timestamp(99));

    // The first due timer is fired first, the clock at its due time; the
    // engine refuses it today (no element opens a timer), which the driver
    // reports rather than skipping it.
    let e = dr.advance_to(Timestamp(1_000)).unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Decide(DecideError::UnknownSubscription(SubId(2)))
        ),
        "{e}"
    );
    assert_eq!(dr.now(), Timestamp(100));

    // Ties at one due time: the earlier-started instance first.
    dr.insts[1].state.subscriptions = vec![timer(0, 200)];
    let e = dr.advance_to(Timestamp(1_000)).unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Decide(DecideError::UnknownSubscription(SubId(3)))
        ),
        "{e}"
    );
    assert_eq!(dr.now(), Timestamp(200));
    // Within one instance: the lower subscription id first.
    dr.insts[0].state.subscriptions = vec![timer(4, 300), timer(5, 300)];
    dr.insts[1].state.subscriptions.clear();
    let e = dr.advance(500).unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Decide(DecideError::UnknownSubscription(SubId(4)))
        ),
        "{e}"
    );
}

#[test]
fn a_finished_instance_has_no_timers() {
    let d = defs(TERMINATE);
    let mut resolve = super::super::resolver(&d);
    let mut respond = leave;
    let mut dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(0),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    dr.terminate("done").unwrap();
    dr.insts[0].state.subscriptions = vec![timer(1, 10)];
    assert!(dr.timers().is_empty());
    dr.advance(100).unwrap();
    assert_eq!(dr.now(), Timestamp(100));
}
