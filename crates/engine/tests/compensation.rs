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
