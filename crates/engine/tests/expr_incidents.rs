//! Expressions that cannot be evaluated at a token raise an incident on it
//! instead of failing the instance: a script task, a gateway condition, a
//! task's input mapping. Retry evaluates again; skip sets the given
//! variables and moves on (a task completes with them; a gateway evaluates
//! its conditions again with them). Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use windlass_engine::driver::{self, Driver, JobOutcome, RunStatus};
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::ids::IncidentId;
use windlass_engine::{Command, IncidentAction, JobRequest};
use windlass_model::Node;
use windlass_types::Timestamp;

fn complete(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Complete {
        outputs: Default::default(),
        by: CompletedBy::Handler,
    }
}

fn resolve(incident: u32, action: IncidentAction) -> Command {
    Command::ResolveIncident {
        incident: IncidentId(incident),
        action,
    }
}

/// The messages of the open incidents.
fn incidents(dr: &Driver<'_>) -> Vec<String> {
    match dr.status() {
        RunStatus::Waiting { incidents } => incidents,
        other => panic!("not waiting: {other:?}"),
    }
}

#[test]
fn failing_expressions_at_a_token_raise_incidents_that_retry_and_skip_resolve() {
    let d = support::defs("expr_incidents.bpmn");
    let plan = support::plan("expr_incidents.bpmn");
    let mut resolver = driver::resolver(&d);
    let mut respond = complete;
    let input = support::vars(json!({"a": "one", "limit": "x", "offset": "z"}));
    let mut dr =
        Driver::start(&plan, input, Timestamp(1_000), &mut resolver, &mut respond).unwrap();

    // The script: an incident naming the task and the script.
    let open = incidents(&dr);
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0].contains("'calc'") && open[0].contains("a + 1"),
        "{open:?}"
    );
    // Retry evaluates again: the same failure, a new incident.
    dr.send(resolve(0, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    // Skip completes the task with the given variables.
    dr.send(resolve(
        1,
        IncidentAction::Skip(support::vars(json!({"total": 5}))),
    ))
    .unwrap();
    assert_eq!(dr.executed().get("Calc"), Some(&1));

    // The gateway's condition compares a number with a string.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'gw'") && open[0].contains("total > limit"),
        "{open:?}"
    );
    // Skip sets the variables and evaluates the conditions again.
    dr.send(resolve(
        2,
        IncidentAction::Skip(support::vars(json!({"limit": 3}))),
    ))
    .unwrap();
    assert_eq!(dr.executed().get("Big"), Some(&1));

    // The input mapping of `work`: an incident before its job is created.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'work'") && open[0].contains("total + offset"),
        "{open:?}"
    );
    assert!(!dr.history().iter().any(|e| matches!(
        e,
        Event::JobCreated { node, .. } if plan.graph().node(*node).id == "work"
    )));
    // Retry with the variable still wrong raises it again.
    dr.send(resolve(3, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    dr.send(resolve(
        4,
        IncidentAction::Skip(support::vars(json!({"n": 6}))),
    ))
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.variables().get("n"), Some(&json!(6)));
    support::check_replay(&plan, &dr.report());
}

#[test]
fn input_mappings_of_sub_processes_and_call_activities_raise_incidents() {
    let d = support::defs("expr_incidents_scopes.bpmn");
    let plan = support::plan("expr_incidents_scopes.bpmn");
    let mut resolver = driver::resolver(&d);
    let mut respond = complete;
    let input = support::vars(json!({"x": "one"}));
    let mut dr =
        Driver::start(&plan, input, Timestamp(1_000), &mut resolver, &mut respond).unwrap();
    let open = incidents(&dr);
    assert!(
        open[0].contains("'sub'") && open[0].contains("x + 1"),
        "{open:?}"
    );
    // Retry with a fixed variable is not possible (retry keeps the
    // variables): a skip completes the sub-process without running it.
    dr.send(resolve(
        0,
        IncidentAction::Skip(support::vars(json!({"x": 2}))),
    ))
    .unwrap();
    assert_eq!(dr.executed().get("Inner"), None);
    // The call activity's mapping `x * 2` now evaluates (x = 2): the child
    // runs.
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().get("Child work"), Some(&1));
    support::check_replay(&plan, &dr.report());

    // With x still a string after the sub-process's skip, the call
    // activity's mapping fails too; a retry with the same variables fails
    // again and starts no child.
    let input = support::vars(json!({"x": "one"}));
    let mut dr =
        Driver::start(&plan, input, Timestamp(1_000), &mut resolver, &mut respond).unwrap();
    dr.send(resolve(0, IncidentAction::Skip(Default::default())))
        .unwrap();
    let open = incidents(&dr);
    assert!(
        open[0].contains("'call'") && open[0].contains("x * 2"),
        "{open:?}"
    );
    dr.send(resolve(1, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1, "the same variables fail again");
    assert_eq!(dr.executed().get("Child work"), None);
    support::check_replay(&plan, &dr.report());
}
