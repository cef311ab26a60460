//! Signal throw and end events: the signal is recorded (`SignalThrown`,
//! numbered per instance) and handed out as `Effect::BroadcastSignal` with
//! the event's input mappings as its variables; the driver broadcasts it to
//! the tree's instances (the thrower's own catch events included). A
//! mapping that cannot be evaluated is an incident: retry throws, skip
//! moves on without throwing. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use windlass_engine::driver::{Driver, JobOutcome, RunStatus};
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::ids::IncidentId;
use windlass_engine::{Command, Effect, IncidentAction, JobRequest};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

fn complete(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Complete {
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    }
}

/// The signals thrown: (number, name, variables).
fn thrown(dr: &Driver<'_>) -> Vec<(u32, String, Vars)> {
    dr.history()
        .iter()
        .filter_map(|e| match e {
            Event::SignalThrown {
                number, name, vars, ..
            } => Some((*number, name.clone(), vars.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_thrown_signal_is_broadcast_to_the_instances_waiting_catch_events() {
    let d = support::defs("signal_throw.bpmn");
    let plan = support::plan("signal_throw.bpmn");
    let mut resolver = windlass_engine::driver::resolver(&d);
    let mut respond = complete;
    let vars = support::vars(json!({"severity": 2}));
    let dr = Driver::start(&plan, vars, Timestamp(1_000), &mut resolver, &mut respond).unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    // The catch event on the other branch heard the instance's own signal,
    // with its variables.
    assert_eq!(dr.executed().get("React"), Some(&1));
    assert_eq!(dr.variables().get("level"), Some(&json!(4)));
    assert_eq!(
        thrown(&dr),
        [
            (0, "alarm".to_string(), support::vars(json!({"level": 4}))),
            (1, "done".to_string(), Vars::new()),
        ]
    );
    let report = dr.report();
    // Each throw is handed to the runtime as a broadcast.
    let effects: Vec<(u32, String)> = report
        .steps
        .iter()
        .flat_map(|s| s.effects.iter())
        .filter_map(|e| match e {
            Effect::BroadcastSignal { number, name, .. } => Some((*number, name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(effects, [(0, "alarm".into()), (1, "done".into())]);
    support::check_replay(&plan, &report);
}

#[test]
fn a_signal_throw_whose_mapping_fails_is_an_incident() {
    let d = support::defs("signal_throw.bpmn");
    let plan = support::plan("signal_throw.bpmn");
    let mut resolver = windlass_engine::driver::resolver(&d);
    let mut respond = complete;
    let mut dr = Driver::start(
        &plan,
        Vars::new(),
        Timestamp(1_000),
        &mut resolver,
        &mut respond,
    )
    .unwrap();
    let RunStatus::Waiting { incidents } = dr.status() else {
        panic!("{:?}", dr.status());
    };
    assert!(
        incidents[0].contains("'raise'") && incidents[0].contains("severity * 2"),
        "{incidents:?}"
    );
    assert!(thrown(&dr).is_empty());
    // Retry evaluates again (the same failure); skip moves on without
    // throwing, so the catch event still waits; a broadcast from outside
    // reaches it.
    let resolve = |incident, action| Command::ResolveIncident {
        incident: IncidentId(incident),
        action,
    };
    dr.send(resolve(0, IncidentAction::Retry)).unwrap();
    dr.send(resolve(1, IncidentAction::Skip(Vars::new())))
        .unwrap();
    assert_eq!(thrown(&dr).len(), 0);
    assert_eq!(dr.executed().get("React"), None);
    dr.broadcast("alarm", Vars::new()).unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(thrown(&dr), [(0, "done".to_string(), Vars::new())]);
    support::check_replay(&plan, &dr.report());
}
