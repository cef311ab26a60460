//! Multi-instance data items written as SpiffWorkflow and Camunda 7 do,
//! with replay checks (the support's `run`).
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{M, ex, executed, run};
use windlass_engine::driver::RunStatus;

#[test]
fn spiff_style_items_bind_by_id_and_collect_each_elements_output() {
    let r = run("mi_data_items.bpmn", json!({"input_data": [1, 2, 3]}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(r.variables.get("output_data"), Some(&json!([2, 4, 6])));
    // Neither item leaks into the process scope.
    assert!(!r.variables.contains_key("input_item"));
    assert!(!r.variables.contains_key("output_item"));
    assert_eq!(executed(&r), ex(&[("Double", 3), ("Report", 1)]));
}

#[test]
fn output_item_stays_local_even_when_the_process_has_that_variable() {
    let r = run(
        "mi_data_items.bpmn",
        json!({"input_data": [5, 7], "output_item": "outer"}),
        &[],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(r.variables.get("output_data"), Some(&json!([10, 14])));
    assert_eq!(r.variables.get("output_item"), Some(&json!("outer")));
}

#[test]
fn job_output_to_the_output_item_is_collected_not_set_outside() {
    let r = run(
        "multi_instance.bpmn",
        json!({"items": ["a", "b"], "answer": "outer"}),
        &[("each", M::Out(json!({"answer": "ok"})))],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(r.variables.get("results"), Some(&json!(["ok", "ok"])));
    assert_eq!(r.variables.get("answer"), Some(&json!("outer")));
}

#[test]
fn camunda7_collection_and_element_variable_run_each_element() {
    let r = run("mi_camunda7.bpmn", json!({"hosts": ["a", "b", "c"]}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(
        executed(&r),
        ex(&[("Handle a", 1), ("Handle b", 1), ("Handle c", 1)])
    );
    assert!(!r.variables.contains_key("host"));
}

#[test]
fn a_map_as_collection_is_an_incident_naming_the_variable_and_its_type() {
    let r = run("mi_camunda7.bpmn", json!({"hosts": {"a": 1, "b": 2}}), &[]);
    match &r.status {
        RunStatus::Waiting { incidents } => assert!(
            incidents.len() == 1
                && incidents[0].contains("`hosts`")
                && incidents[0].contains("'each'")
                && incidents[0].contains("a map"),
            "{incidents:?}"
        ),
        other => panic!("expected an incident, got {other:?}"),
    }
    assert!(r.executed.is_empty());
}

#[test]
fn a_collection_incident_raises_again_on_retry_and_a_skip_completes_the_activity() {
    let mut r = run("mi_camunda7.bpmn", json!({"hosts": "a,b"}), &[]);
    let plan = support::plan("mi_camunda7.bpmn");
    let resolve = |r: &mut support::RunOutput, action| {
        let (incident, _) = r.state.incidents().next().unwrap();
        let cmd = windlass_engine::Command::ResolveIncident { incident, action };
        let ctx = windlass_engine::Ctx {
            plan: &plan,
            now: windlass_types::Timestamp(2_000),
            definition_key: "k",
        };
        let d = windlass_engine::decide(&r.state, &cmd, &ctx).unwrap();
        r.history.extend(d.events);
        r.state = windlass_engine::replay(&r.history).unwrap();
    };
    // Retry with the same variables: the same incident again, no element.
    resolve(&mut r, windlass_engine::IncidentAction::Retry);
    assert_eq!(r.state.incidents().count(), 1);
    assert!(
        r.state
            .tokens
            .iter()
            .all(|t| !matches!(t.wait, windlass_engine::state::Wait::Body(_)))
    );
    // Skip: the activity completes with the given variables, no element ran.
    let skip = support::vars(json!({"handled": 0}));
    resolve(&mut r, windlass_engine::IncidentAction::Skip(skip));
    assert_eq!(r.state.status, windlass_engine::state::Status::Completed);
    assert_eq!(r.state.root_vars().unwrap().get("handled"), Some(&json!(0)));
}

#[test]
fn input_and_output_item_of_the_same_name_start_with_the_input_value() {
    let r = run("mi_same_item.bpmn", json!({"items": [1, 2, 3]}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(r.variables.get("bumped"), Some(&json!([2, 3, 4])));
    assert!(!r.variables.contains_key("item"));
}

#[test]
fn a_collection_of_another_type_is_refused_without_the_map_hint() {
    let r = run("mi_camunda7.bpmn", json!({"hosts": "a,b"}), &[]);
    match &r.status {
        RunStatus::Waiting { incidents } => assert!(
            incidents[0].contains("`hosts`")
                && incidents[0].contains("a string")
                && !incidents[0].contains("map"),
            "{incidents:?}"
        ),
        other => panic!("expected an incident, got {other:?}"),
    }
}
