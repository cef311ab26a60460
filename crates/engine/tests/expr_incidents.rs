//! Expressions that cannot be evaluated at a token raise an incident on it
//! instead of failing the instance: a script task, a gateway condition, a
//! task's input mapping. Retry evaluates again; skip sets the given
//! variables and moves on (a task completes with them; a gateway evaluates
//! its conditions again with them). Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use windlass_engine::driver::{self, Driver, JobOutcome, RunStatus};
use windlass_engine::event::{CompletedBy, Event, IncidentSite};
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

/// Outputs of `fetch` (no `size * scale` without `scale`) and no answer
/// from the child; everything else completes empty.
fn fetch_replies(_: &JobRequest, node: &Node) -> JobOutcome {
    let outputs = match node.id.as_ref() {
        "fetch" => support::vars(json!({"reply": {"size": 3}})),
        _ => Default::default(),
    };
    JobOutcome::Complete {
        outputs,
        by: CompletedBy::Handler,
    }
}

/// The node ids of the jobs created so far, in order.
fn jobs(dr: &Driver<'_>, plan: &windlass_engine::Plan) -> Vec<String> {
    dr.history()
        .iter()
        .filter_map(|e| match e {
            Event::JobCreated { node, .. } => Some(plan.graph().node(*node).id.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn output_mappings_and_leaving_conditions_raise_incidents_after_the_work() {
    let d = support::defs("expr_incidents_after.bpmn");
    let plan = support::plan("expr_incidents_after.bpmn");
    let mut resolver = driver::resolver(&d);
    let mut respond = fetch_replies;
    let input = support::vars(json!({"limit": "x"}));
    let mut dr =
        Driver::start(&plan, input, Timestamp(1_000), &mut resolver, &mut respond).unwrap();

    // The job completed; its output mapping cannot be evaluated yet.
    let open = incidents(&dr);
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0].contains("'fetch'") && open[0].contains("reply.size * scale"),
        "{open:?}"
    );
    assert!(dr.history().iter().any(|e| matches!(
        e,
        Event::IncidentRaisedAt { site: IncidentSite::Outputs { results }, .. }
            if results.get("reply") == Some(&json!({"size": 3}))
    )));
    // A retry maps the same results again (no new job): the same failure.
    dr.send(resolve(0, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    assert_eq!(jobs(&dr, &plan), ["fetch"]);

    // `scale` arrives on the other branch; the retry now maps the kept
    // results of the one job that ran.
    dr.signal("scale", support::vars(json!({"scale": 2})))
        .unwrap();
    dr.send(resolve(1, IncidentAction::Retry)).unwrap();
    assert_eq!(dr.variables().get("size"), Some(&json!(6)));
    assert_eq!(jobs(&dr, &plan), ["fetch"]);
    assert_eq!(dr.executed().get("Child work"), Some(&1));

    // The child completed without `answer`: the call activity's mapping
    // fails; a skip sets the variables in place of what it makes.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'call'") && open[0].contains("answer + 1"),
        "{open:?}"
    );
    dr.send(resolve(
        2,
        IncidentAction::Skip(support::vars(json!({"total": 5}))),
    ))
    .unwrap();
    assert_eq!(dr.variables().get("total"), Some(&json!(5)));

    // Leaving the call activity: `total > limit` compares a number with a
    // string. Retry evaluates again; skip sets variables first.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'call'") && open[0].contains("total > limit"),
        "{open:?}"
    );
    assert!(matches!(
        dr.history().last(),
        Some(Event::IncidentRaisedAt {
            site: IncidentSite::Leave,
            ..
        })
    ));
    dr.send(resolve(3, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    dr.send(resolve(
        4,
        IncidentAction::Skip(support::vars(json!({"limit": 3}))),
    ))
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().get("Big"), Some(&1));
    assert_eq!(dr.executed().get("Small"), None);
    // Each piece of work ran once.
    assert_eq!(jobs(&dr, &plan), ["fetch", "bigTask"]);
    assert_eq!(dr.executed().get("Child work"), Some(&1));
    support::check_replay(&plan, &dr.report());
}

#[test]
fn a_sub_process_output_mapping_raises_an_incident_keeping_its_variables() {
    let d = support::defs("expr_incidents_sub.bpmn");
    let plan = support::plan("expr_incidents_sub.bpmn");
    let mut resolver = driver::resolver(&d);
    let mut respond = complete;
    let input = support::vars(json!({"first": "two"}));
    let mut dr =
        Driver::start(&plan, input, Timestamp(1_000), &mut resolver, &mut respond).unwrap();
    let open = incidents(&dr);
    assert!(
        open[0].contains("'sub'") && open[0].contains("n + 1"),
        "{open:?}"
    );
    // The scope is closed; its local `n` is kept in the incident.
    assert_eq!(dr.state().scopes.len(), 1, "only the process scope is open");
    assert!(matches!(
        dr.history().last(),
        Some(Event::IncidentRaisedAt { site: IncidentSite::Outputs { results }, .. })
            if results.get("n") == Some(&json!("two"))
    ));
    dr.send(resolve(0, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1, "the same variables fail again");
    assert!(incidents(&dr)[0].contains("n + 1"));
    dr.send(resolve(
        1,
        IncidentAction::Skip(support::vars(json!({"m": 3}))),
    ))
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.variables().get("m"), Some(&json!(3)));
    assert_eq!(dr.executed().get("Inner"), Some(&1));
    assert!(!dr.variables().contains_key("n"), "`n` stayed local");
    support::check_replay(&plan, &dr.report());
}
