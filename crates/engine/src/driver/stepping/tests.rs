//! Unit tests of the stepping driver: settling, terminate, the clock, the
//! order in which due timers fire, publishing and buffering messages.

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
const TIMER_CATCH: &str = include_str!("../../../tests/fixtures/timer_catch.bpmn");
const MESSAGE_CATCH: &str = include_str!("../../../tests/fixtures/message_catch.bpmn");
const EVENT_GATEWAY: &str = include_str!("../../../tests/fixtures/event_gateway.bpmn");

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
            occurrence: 0,
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
    // The backoff is PT0.5S less up to a fifth (jitter): the retry (and all
    // after it) runs at its due time, 1 400-1 500.
    let due = dr.now();
    assert!((1_400..=1_500).contains(&due.0), "{due:?}");
    let report = dr.into_report();
    assert_eq!(report.steps.first().map(|s| s.now), Some(Timestamp(1_000)));
    assert_eq!(report.steps.last().map(|s| s.now), Some(due));
}

#[test]
fn due_timers_are_listed_in_due_order_then_instance_then_sub_id() {
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
    // The order only: subscriptions placed by hand in two instances.
    dr.insts[0].state.subscriptions = vec![timer(1, 500), timer(3, 200)];
    dr.insts[1].state.subscriptions = vec![timer(0, 200), timer(2, 100)];
    let order: Vec<_> = dr
        .timers()
        .into_iter()
        .map(|(due, inst, sub)| (due.0, inst, sub.0))
        .collect();
    assert_eq!(order, [(100, 1, 2), (200, 0, 3), (200, 1, 0), (500, 0, 1)]);
}

#[test]
fn advancing_fires_due_timers_in_due_order_with_the_clock_at_each_due_time() {
    let d = defs(TIMER_CATCH);
    let mut resolve = super::super::resolver(&d);
    let mut respond = complete;
    let mut dr = Driver::start(
        &plan(&d),
        Vars::new(),
        Timestamp(0),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    assert_eq!(dr.timers().len(), 3);
    // Nothing is due before ten minutes: the clock just moves.
    dr.advance(599_999).unwrap();
    assert_eq!(dr.now(), Timestamp(599_999));
    assert_eq!(dr.timers().len(), 3);
    dr.advance_to(Timestamp(61 * 60_000)).unwrap();
    assert_eq!(dr.now(), Timestamp(61 * 60_000));
    let fired: Vec<(u32, i64)> = dr.insts[0]
        .steps
        .iter()
        .filter_map(|s| match s.command {
            Command::FireTimer { sub } => Some((sub.0, s.now.0)),
            _ => None,
        })
        .collect();
    assert_eq!(fired, [(0, 600_000), (2, 3_600_000)]);
    assert_eq!(dr.executed().get("After"), Some(&1));
    assert_eq!(dr.timers().len(), 1, "the date is left");
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

fn message(name: &str, key: Option<&str>, id: Option<&str>, ttl: Option<u64>) -> Message {
    Message {
        name: name.into(),
        correlation_key: key.map(str::to_string),
        message_id: id.map(str::to_string),
        vars: Vars::from_iter([("amount".to_string(), serde_json::json!(3))]),
        ttl_millis: ttl,
    }
}

#[test]
fn a_published_message_reaches_the_waiting_subscription_with_its_key_once() {
    let d = defs(MESSAGE_CATCH);
    let mut resolve = super::super::resolver(&d);
    let mut respond = complete;
    let vars = Vars::from_iter([("orderId".to_string(), serde_json::json!("o-1"))]);
    let mut dr = Driver::start(&plan(&d), vars, Timestamp(0), &mut resolve, &mut respond).unwrap();
    assert_eq!(dr.status(), RunStatus::Waiting { incidents: vec![] });
    // Another key: nothing waits for it, it is buffered.
    assert_eq!(
        dr.publish(message("paid", Some("o-2"), Some("m0"), None))
            .unwrap(),
        Published::Buffered
    );
    assert_eq!(dr.status(), RunStatus::Waiting { incidents: vec![] });
    assert_eq!(
        dr.publish(message("paid", Some("o-1"), Some("m1"), None))
            .unwrap(),
        Published::Correlated
    );
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.variables()["amount"], serde_json::json!(3));
    // The same message id again changes nothing.
    assert_eq!(
        dr.publish(message("paid", Some("o-1"), Some("m1"), None))
            .unwrap(),
        Published::Duplicate
    );
    assert_eq!(
        dr.buffered().count(),
        1,
        "the o-2 message is still buffered"
    );
}

#[test]
fn buffered_messages_are_dropped_or_expire_by_their_time_to_live() {
    let d = defs(MESSAGE_CATCH);
    let mut resolve = super::super::resolver(&d);
    let mut respond = leave;
    // Nothing waits for 'other': a zero time-to-live drops it, a second one
    // is buffered and gone once its time-to-live has passed.
    let vars = Vars::from_iter([("orderId".to_string(), serde_json::json!("o-1"))]);
    let mut dr = Driver::start(&plan(&d), vars, Timestamp(0), &mut resolve, &mut respond).unwrap();
    assert_eq!(
        dr.publish(message("other", None, None, Some(0))).unwrap(),
        Published::Dropped
    );
    assert_eq!(
        dr.publish(message("other", None, None, Some(1_000)))
            .unwrap(),
        Published::Buffered
    );
    dr.advance(1_001).unwrap();
    assert_eq!(dr.buffered().count(), 0, "expired");
}

#[test]
fn at_an_event_based_gateway_a_message_before_the_timer_wins() {
    let d = defs(EVENT_GATEWAY);
    let mut resolve = super::super::resolver(&d);
    let mut respond = leave;
    let vars = Vars::from_iter([("orderId".to_string(), serde_json::json!("o-5"))]);
    let mut dr = Driver::start(&plan(&d), vars, Timestamp(0), &mut resolve, &mut respond).unwrap();
    assert_eq!(dr.timers().len(), 1);
    dr.advance(59 * 60_000).unwrap();
    assert_eq!(
        dr.publish(message("paid", Some("o-5"), None, None))
            .unwrap(),
        Published::Correlated
    );
    assert!(dr.timers().is_empty(), "the timer lost and closed");
    assert_eq!(
        dr.executed().get("Ship"),
        None,
        "Ship is left open by the responder"
    );
    let text: Vec<String> = dr
        .history()
        .iter()
        .map(|e| crate::history_text::describe(e, dr.insts[0].plan.graph()))
        .collect();
    assert!(
        text.iter().any(|l| l.contains("timer 1 cancelled")),
        "{text:#?}"
    );
}

/// A timer, then a message catch event without a correlation key.
const TIMER_THEN_MESSAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <message id="m" name="go"/>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="minute"/>
    <intermediateCatchEvent id="minute"><timerEventDefinition><timeDuration>PT1M</timeDuration></timerEventDefinition></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="minute" targetRef="go"/>
    <intermediateCatchEvent id="go"><messageEventDefinition messageRef="m"/></intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="go" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

#[test]
fn a_buffered_message_is_taken_when_its_subscription_opens_later() {
    let d = defs(TIMER_THEN_MESSAGE);
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
    assert_eq!(
        dr.publish(message("go", None, None, None)).unwrap(),
        Published::Buffered
    );
    assert_eq!(dr.status(), RunStatus::Waiting { incidents: vec![] });
    // The timer fires, the catch event subscribes, the buffered message is
    // delivered in the same settling.
    dr.advance(60_000).unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.buffered().count(), 0);
    assert_eq!(dr.variables()["amount"], serde_json::json!(3));
}

#[test]
fn a_buffered_message_whose_time_to_live_passed_is_not_delivered() {
    let d = defs(TIMER_THEN_MESSAGE);
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
    assert_eq!(
        dr.publish(message("go", None, None, Some(30_000))).unwrap(),
        Published::Buffered
    );
    dr.advance(60_000).unwrap();
    assert_eq!(dr.status(), RunStatus::Waiting { incidents: vec![] });
    assert_eq!(dr.buffered().count(), 0);
}
