//! Compensation and transactions: compensation throw and end events run
//! the handlers of the scope's completed activities latest first (or the
//! one `activityRef` names), through completed sub-processes (their own
//! records, or their compensation event sub-process) and per element of a
//! multi-instance activity; a cancel end event compensates its transaction
//! and leaves by the cancel boundary event. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::M;
use windlass_engine::driver::{RunReport, RunStatus};
use windlass_engine::event::Event;

/// The names of the activities started, in order.
fn started(r: &RunReport) -> Vec<String> {
    r.history
        .iter()
        .filter_map(|e| match e {
            Event::ActivityStarted { name, .. } => Some(name.clone().unwrap_or_default()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_compensation_throw_undoes_completed_activities_latest_first() {
    let r = support::run(
        "compensation.bpmn",
        json!({"ok": false, "only_hotel": false, "shows": ["A", "B"]}),
        &[],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    assert_eq!(
        started(&r),
        [
            "Book hotel",
            "Book flight",
            "Extras",
            "Rent car",
            "Buy ticket",
            "Buy ticket",
            "Charge",
            // Undo all: the sub-process's records (its tickets per element,
            // latest first, then the car), then the flight and the hotel.
            "Refund ticket B",
            "Refund ticket A",
            "Return car",
            "Cancel flight",
            "Cancel hotel",
            "Apologise",
        ]
    );
    let thrown: Vec<bool> = r
        .history
        .iter()
        .filter_map(|e| match e {
            Event::CompensationThrown {
                activity: None,
                into,
                token,
                ..
            } if r
                .history
                .iter()
                .any(|x| matches!(x, Event::TokenCreated { token: t, .. } if t == token)) =>
            {
                Some(into.is_some())
            }
            _ => None,
        })
        .collect();
    // Undo all, the restored sub-process, the two restored elements, then
    // the end event, which finds nothing left.
    assert_eq!(thrown, [true, true, true, true, false]);
    let plan = support::plan("compensation.bpmn");
    support::check_replay(&plan, &r);
    assert!(r.state.scopes.iter().all(|s| s.compensable().is_empty()));
}

#[test]
fn activity_ref_compensates_only_that_activity() {
    let r = support::run(
        "compensation.bpmn",
        json!({"ok": false, "only_hotel": true, "shows": ["A"]}),
        &[],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    let s = started(&r);
    assert_eq!(s.last().map(String::as_str), Some("Cancel hotel"));
    assert!(!s.iter().any(|n| n == "Cancel flight" || n == "Return car"));
    support::check_replay(&support::plan("compensation.bpmn"), &r);
}

#[test]
fn nothing_is_compensated_on_the_happy_path() {
    let r = support::run(
        "compensation.bpmn",
        json!({"ok": true, "only_hotel": false, "shows": []}),
        &[],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    assert!(!started(&r).iter().any(|n| n.starts_with("Cancel")));
    let recorded = r
        .history
        .iter()
        .filter(|e| matches!(e, Event::CompensationRecorded { .. }))
        .count();
    // Hotel, flight, car, and the sub-process keeping the car.
    assert_eq!(recorded, 4);
}

#[test]
fn a_compensation_event_sub_process_runs_with_the_kept_variables() {
    let r = support::run(
        "compensation_esp.bpmn",
        json!({}),
        &[("reserve", M::Out(json!({"orderNo": 7})))],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    assert_eq!(
        started(&r),
        [
            "Order",
            "Reserve stock",
            "On compensate",
            "Log undo 7",
            "Release stock 7"
        ]
    );
    support::check_replay(&support::plan("compensation_esp.bpmn"), &r);
}

#[test]
fn a_cancelled_transaction_compensates_and_leaves_by_its_cancel_boundary() {
    let r = support::run(
        "transaction.bpmn",
        json!({"refused": true}),
        &[("wait", M::Leave)],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    assert_eq!(
        started(&r),
        [
            "Booking",
            "Book",
            "Wait for the customer",
            "Pay",
            "Unbook",
            "Tell the customer"
        ]
    );
    // The customer's task was left open: the cancel ended it (else the
    // instance could not complete).
    assert!(
        r.history
            .iter()
            .any(|e| matches!(e, Event::TransactionCancelled { .. }))
    );
    support::check_replay(&support::plan("transaction.bpmn"), &r);

    let ok = support::run("transaction.bpmn", json!({"refused": false}), &[]);
    assert_eq!(ok.status, RunStatus::Completed);
    assert_eq!(started(&ok).last().map(String::as_str), Some("Confirm"));
    assert!(!started(&ok).iter().any(|n| n == "Unbook"));
}

#[test]
fn an_error_event_sub_process_compensates_its_sub_process_and_elements_keep_their_variables() {
    let r = support::run(
        "compensation_more.bpmn",
        json!({"items": ["x", "y"]}),
        &[("Charge", M::Err("declined"))],
    );
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.status);
    let s = started(&r);
    // Reserve, Charge (declined), the error event sub-process compensates
    // the order's completed Reserve; then both books, undone latest first.
    let at = |n: &str| s.iter().position(|x| x == n).unwrap();
    assert!(at("Release") > at("On declined"), "{s:?}");
    assert_eq!(&s[s.len() - 2..], ["Unbook y", "Unbook x"], "{s:?}");
    support::check_replay(&support::plan("compensation_more.bpmn"), &r);
}

#[test]
fn a_failing_handler_fails_the_instance_and_a_cancel_stops_a_running_compensation() {
    use windlass_engine::command::Command;
    use windlass_engine::decide::{Ctx, decide};
    // The handler's BPMN error is looked for from the compensated scope
    // outward: nothing catches it, the instance fails.
    let failed = support::run(
        "compensation.bpmn",
        json!({"ok": false, "only_hotel": false, "shows": []}),
        &[("Cancel flight", M::Err("stuck"))],
    );
    assert!(
        matches!(&failed.status, RunStatus::Failed { .. }),
        "{:?}",
        failed.status
    );
    support::check_replay(&support::plan("compensation.bpmn"), &failed);

    // A handler left open, then the instance is cancelled: the run is
    // cancelled with it and the instance ends cancelled.
    let plan = support::plan("compensation.bpmn");
    let waiting = support::run(
        "compensation.bpmn",
        json!({"ok": false, "only_hotel": false, "shows": []}),
        &[("Cancel flight", M::Leave)],
    );
    assert!(waiting.state.scopes.iter().any(|s| !s.pending().is_empty()));
    let ctx = Ctx {
        plan: &plan,
        now: windlass_types::Timestamp(9_000),
        definition_key: "compensation",
    };
    let cancel = Command::Cancel {
        reason: "stop".into(),
    };
    let d = decide(&waiting.state, &cancel, &ctx).unwrap();
    let mut history = waiting.history.clone();
    history.extend(d.events.iter().cloned());
    let after = windlass_engine::replay(&history).unwrap();
    assert!(
        matches!(
            after.status,
            windlass_engine::state::Status::Cancelled { .. }
        ),
        "{:?}",
        after.status
    );
    assert!(after.scopes.iter().all(|s| s.pending().is_empty()));
}
