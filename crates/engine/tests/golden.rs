//! Golden histories written by format version 1. They are committed and
//! never rewritten: every later version must keep decoding and replaying
//! them. (`cargo test -p windlass-engine --test golden -- --ignored` writes
//! them anew, only for a NEW format version under new file names.)
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::path::PathBuf;
use support::M;
use windlass_engine::codec::{decode_history, encode_history};
use windlass_engine::state::Status;
use windlass_engine::{Command, Ctx, IncidentAction, decide, replay};
use windlass_types::Timestamp;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn cases() -> Vec<(&'static str, support::RunOutput)> {
    vec![
        (
            "v1-errors.wlh",
            support::run("errors.bpmn", json!({"fail": true}), &[]),
        ),
        (
            "v1-nested-mi.wlh",
            support::run("nested_mi.bpmn", json!({"groups": ["g1", "g2"]}), &[]),
        ),
        (
            "v1-retries.wlh",
            support::run(
                "retries.bpmn",
                json!({"who": "me"}),
                &[("flaky", M::Tech("exit 1"))],
            ),
        ),
        (
            "v1-misc.wlh",
            support::run("misc.bpmn", json!({"a": 1, "b": 2}), &[("slow", M::Leave)]),
        ),
        (
            "v1-call.wlh",
            support::run("call.bpmn", json!({"n": 1}), &[]),
        ),
        (
            "v1-complex.wlh",
            support::run(
                "complex.bpmn",
                json!({}),
                &[("decide", M::Out(json!({"pick": "x"})))],
            ),
        ),
        (
            "v1-event-sub.wlh",
            support::run("event_subprocess.bpmn", json!({}), &[("A", M::Err("x"))]),
        ),
        (
            "v1-failed.wlh",
            support::run("exclusive_no_default.bpmn", json!({"x": 0}), &[]),
        ),
        ("v1-skipped.wlh", skipped_incident()),
    ]
}

/// The retries instance, then an operator skips its incident.
fn skipped_incident() -> support::RunOutput {
    let mut report = support::run(
        "retries.bpmn",
        json!({"who": "me"}),
        &[("flaky", M::Tech("exit 1"))],
    );
    let plan = support::plan("retries.bpmn");
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(9_000),
        definition_key: "retries",
    };
    let cmd = Command::ResolveIncident {
        incident: 0,
        action: IncidentAction::Skip(support::vars(json!({"ok": true}))),
    };
    let d = decide(&report.state, &cmd, &ctx).unwrap();
    report.history.extend(d.events);
    report
}

#[test]
#[ignore = "writes the golden files; run only when adding a new format version"]
fn bless_golden_histories() {
    for (name, report) in cases() {
        std::fs::write(path(name), encode_history(&report.history).unwrap()).unwrap();
    }
}

#[test]
fn golden_histories_still_decode_and_replay() {
    let expected = [
        ("v1-errors.wlh", "completed"),
        ("v1-nested-mi.wlh", "completed"),
        ("v1-retries.wlh", "running"),
        ("v1-misc.wlh", "completed"),
        ("v1-call.wlh", "completed"),
        ("v1-complex.wlh", "running"),
        ("v1-event-sub.wlh", "completed"),
        ("v1-failed.wlh", "failed"),
        ("v1-skipped.wlh", "completed"),
    ];
    let mut tags = BTreeSet::new();
    for (name, status) in expected {
        let bytes = std::fs::read(path(name)).unwrap();
        let events = decode_history(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        tags.extend(events.iter().map(|e| e.tag()));
        let state = replay(&events).unwrap_or_else(|e| panic!("{name}: {e}"));
        let actual = match state.status {
            Status::Completed => "completed",
            Status::Running => "running",
            Status::Failed { .. } => "failed",
            _ => "other",
        };
        assert_eq!(actual, status, "{name}");
    }
    // Together the golden files cover every tag of format version 1.
    let missing: Vec<u8> = (0..=27u8).filter(|t| !tags.contains(t)).collect();
    assert_eq!(missing, Vec::<u8>::new(), "tags not covered");
}
