//! The value limit where values enter an instance (reliability probe, defect
//! 3): nothing over the limit is recorded; scripts and output mappings end in
//! an incident naming the variable, job outputs in a failed attempt, start
//! and skip variables are refused. Every history here also survives the codec
//! and replay (see `support::check_replay`).
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{M, plan, run, vars};
use windlass_engine::command::{Command, IncidentAction};
use windlass_engine::driver::RunStatus;
use windlass_engine::event::{Event, IncidentSite};
use windlass_engine::{Ctx, DecideError, InstanceState, decide, replay};
use windlass_types::limits::{MAX_VALUE_BYTES, MAX_VALUE_DEPTH, measure};
use windlass_types::{Timestamp, ValueLimitError};

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(0), |v, _| Value::Array(vec![v]))
}

fn incidents(status: &RunStatus) -> Vec<String> {
    match status {
        RunStatus::Waiting { incidents } => incidents.clone(),
        other => panic!("expected an incident, got {other:?}"),
    }
}

fn no_value_over_the_limit(history: &[Event]) {
    for e in history {
        assert_eq!(
            windlass_engine::value_limits::check_event(e),
            Ok(()),
            "{e:?}"
        );
    }
}

#[test]
fn nestloop_ends_in_an_incident_naming_b_and_the_limit() {
    let r = run("nestloop.bpmn", json!({"b": 0, "n": 0}), &[]);
    let inc = incidents(&r.status);
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert!(
        inc[0].contains("script task 'wrap'")
            && inc[0].contains("variable 'b' is nested 65 levels deep")
            && inc[0].contains("limit of 64 levels"),
        "{}",
        inc[0]
    );
    // The last value recorded is at the limit; the loop stopped there.
    assert_eq!(measure(&r.variables["b"]).depth, MAX_VALUE_DEPTH);
    assert_eq!(r.variables["n"], json!(64));
    no_value_over_the_limit(&r.history);
}

#[test]
fn retrying_a_script_incident_runs_the_script_again() {
    let r = run("nestloop.bpmn", json!({"b": 0, "n": 0}), &[]);
    let p = plan("nestloop.bpmn");
    let ctx = Ctx {
        plan: &p,
        now: Timestamp(2_000),
        definition_key: "nest",
    };
    let retry = Command::ResolveIncident {
        incident: windlass_engine::ids::IncidentId(0),
        action: IncidentAction::Retry,
    };
    let d = decide(&r.state, &retry, &ctx).unwrap();
    // The script ran again (no job) and was refused again: a new incident.
    assert!(d.events.iter().any(|e| matches!(
        e,
        Event::IncidentRaised {
            incident: windlass_engine::ids::IncidentId(1),
            ..
        }
    )));
    assert!(
        !d.events
            .iter()
            .any(|e| matches!(e, Event::JobCreated { .. }))
    );
    // Skipping with a smaller value lets the loop go on.
    let skip = Command::ResolveIncident {
        incident: windlass_engine::ids::IncidentId(0),
        action: IncidentAction::Skip(vars(json!({"b": 0}))),
    };
    let d = decide(&r.state, &skip, &ctx).unwrap();
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, Event::VariablesSet { .. }))
    );
    let mut state = r.state.clone();
    for e in &d.events {
        windlass_engine::apply(&mut state, e).unwrap();
    }
    let mut all = r.history.clone();
    all.extend(d.events);
    assert_eq!(replay(&all).unwrap(), state);
}

#[test]
fn job_outputs_over_the_limit_fail_the_attempt_then_raise_an_incident() {
    let deep = json!({"got": nested(MAX_VALUE_DEPTH + 1)});
    let r = run("deep_outputs.bpmn", json!({}), &[("fetch", M::Out(deep))]);
    let inc = incidents(&r.status);
    assert!(
        inc[0].contains("failed after 3 attempt(s)")
            && inc[0].contains("its outputs exceed the value limit")
            && inc[0].contains("variable 'got' is nested 65 levels deep"),
        "{inc:?}"
    );
    let failed = r
        .history
        .iter()
        .filter(|e| matches!(e, Event::JobFailed { .. }))
        .count();
    assert_eq!(failed, 3);
    assert!(
        !r.history
            .iter()
            .any(|e| matches!(e, Event::JobCompleted { .. }))
    );
    no_value_over_the_limit(&r.history);
}

#[test]
fn large_job_outputs_are_refused_with_their_size() {
    let big = json!({"blob": "x".repeat(MAX_VALUE_BYTES)});
    let r = run("deep_outputs.bpmn", json!({}), &[("fetch", M::Out(big))]);
    let inc = incidents(&r.status);
    assert!(
        inc[0].contains("variable 'blob' takes 4194306 bytes as JSON, 2 over the limit"),
        "{inc:?}"
    );
}

#[test]
fn an_output_mapping_over_the_limit_raises_an_incident_at_once() {
    let fits = json!({"got": nested(MAX_VALUE_DEPTH - 1)});
    let r = run("deep_outputs.bpmn", json!({}), &[("fetch", M::Out(fits))]);
    let inc = incidents(&r.status);
    assert!(
        inc[0].contains("job for 'Wrap' failed after 1 attempt(s)")
            && inc[0].contains("output mappings of 'wrap'")
            && inc[0].contains("variable 'wrapped' is nested 65 levels deep"),
        "{inc:?}"
    );
    // Fetch's outputs (depth 63) were taken; nothing deeper was recorded.
    assert_eq!(measure(&r.variables["got"]).depth, MAX_VALUE_DEPTH - 1);
    assert!(!r.variables.contains_key("wrapped"));
    no_value_over_the_limit(&r.history);
}

#[test]
fn start_and_skip_variables_over_the_limit_are_refused() {
    let p = plan("deep_outputs.bpmn");
    let ctx = Ctx {
        plan: &p,
        now: Timestamp(1_000),
        definition_key: "deep_outputs",
    };
    let start = |v: Value| Command::Start {
        vars: vars(json!({"ok": 1, "input": v})),
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    let err = decide(&InstanceState::default(), &start(nested(70)), &ctx).unwrap_err();
    assert_eq!(
        err,
        DecideError::ValueLimit(Box::new(ValueLimitError::TooDeep {
            name: "input".into(),
            depth: 70,
            limit: MAX_VALUE_DEPTH
        }))
    );
    assert!(err.to_string().contains("6 over the limit"), "{err}");
    // Within the limit the instance starts; an incident skipped with a value
    // over the limit is refused as a whole.
    let r = run(
        "deep_outputs.bpmn",
        json!({}),
        &[("fetch", M::Tech("down"))],
    );
    assert_eq!(incidents(&r.status).len(), 1);
    let skip = Command::ResolveIncident {
        incident: windlass_engine::ids::IncidentId(0),
        action: IncidentAction::Skip(vars(json!({"got": nested(65)}))),
    };
    let err = decide(&r.state, &skip, &ctx).unwrap_err();
    assert!(matches!(err, DecideError::ValueLimit(_)), "{err}");
}

/// The mappings are evaluated once, before the completion is recorded (to
/// check their values): what they make is what the instance keeps, each
/// variable set once, and the history replays (`run` checks).
#[test]
fn output_mappings_within_the_limit_are_applied_once() {
    let got = json!({"got": [1, "two"]});
    let r = run("deep_outputs.bpmn", json!({}), &[("fetch", M::Out(got))]);
    assert!(matches!(r.status, RunStatus::Completed), "{:?}", r.status);
    assert_eq!(r.variables["wrapped"], json!([[[1, "two"]]]));
    let sets: Vec<&Event> = r
        .history
        .iter()
        .filter(|e| matches!(e, Event::VariablesSet { .. }))
        .collect();
    assert_eq!(sets.len(), 2, "{sets:?}");
    no_value_over_the_limit(&r.history);
}

/// A mapping that cannot be evaluated raises an incident after the job's
/// completion is recorded (the job's outputs kept in it for a retry); one
/// that can is applied.
#[test]
fn an_output_mapping_that_cannot_be_evaluated_raises_an_incident_after_the_completion() {
    let r = run(
        "bad_mapping.bpmn",
        json!({}),
        &[("work", M::Out(json!({"count": 41})))],
    );
    assert!(matches!(r.status, RunStatus::Completed), "{:?}", r.status);
    assert_eq!(r.variables["next"], json!(42));
    let r = run(
        "bad_mapping.bpmn",
        json!({}),
        &[("work", M::Out(json!({"count": "a"})))],
    );
    let RunStatus::Waiting { incidents } = &r.status else {
        panic!("expected an incident, got {:?}", r.status);
    };
    assert!(
        incidents[0].contains("output mapping `count + 1` of 'work' could not be evaluated"),
        "{incidents:?}"
    );
    let n = r.history.len();
    assert!(n >= 2, "{:?}", r.history);
    assert!(
        matches!(r.history[n - 2], Event::JobCompleted { .. }),
        "{:?}",
        r.history
    );
    assert!(matches!(
        &r.history[n - 1],
        Event::IncidentRaisedAt {
            site: IncidentSite::Outputs { results },
            ..
        } if results.get("count") == Some(&json!("a"))
    ));
    assert!(!r.variables.contains_key("next"));
}
