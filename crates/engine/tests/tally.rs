//! Per-node tallies: tokens that left each node normally are counted once
//! per departure (joins count every merged token, a multi-instance activity
//! counts once), active tokens and incidents come from the live tokens, and
//! replay rebuilds the same counts (the support module checks it).
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{M, run};
use windlass_engine::tally::{NodeCount, NodeTally};

/// The tally of a finished or waiting run, as (element id, active,
/// incidents, completed) rows sorted by node index.
fn rows(file: &str, r: &windlass_engine::driver::RunReport) -> Vec<(String, u32, u32, u32)> {
    let plan = support::plan(file);
    NodeTally::of(&r.state)
        .0
        .iter()
        .map(|c: &NodeCount| {
            let id = plan.graph().nodes[c.node.0 as usize].id.clone();
            (id, c.active, c.incidents, c.completed)
        })
        .collect()
}

fn sorted(mut v: Vec<(String, u32, u32, u32)>) -> Vec<(String, u32, u32, u32)> {
    v.sort();
    v
}

fn row(id: &str, a: u32, i: u32, c: u32) -> (String, u32, u32, u32) {
    (id.to_string(), a, i, c)
}

#[test]
fn a_join_counts_every_token_it_merges() {
    let r = run("parallel.bpmn", json!({}), &[]);
    assert_eq!(
        sorted(rows("parallel.bpmn", &r)),
        vec![
            row("A", 0, 0, 1),
            row("B", 0, 0, 1),
            row("after", 0, 0, 1),
            row("fork", 0, 0, 1),
            row("join", 0, 0, 2),
            row("start", 0, 0, 1),
        ]
    );
}

#[test]
fn a_multi_instance_activity_counts_once_and_a_waiting_one_is_active() {
    let r = run(
        "multi_instance.bpmn",
        json!({"items": [1, 2, 3]}),
        &[("seq", M::Leave)],
    );
    assert_eq!(
        sorted(rows("multi_instance.bpmn", &r)),
        vec![
            row("each", 0, 0, 1),
            row("seq", 1, 0, 0),
            row("start", 0, 0, 1)
        ]
    );
}

#[test]
fn an_incident_is_counted_at_its_node_and_not_as_active() {
    let r = run(
        "retries.bpmn",
        json!({"who": "me"}),
        &[("flaky", M::Tech("exit 1"))],
    );
    let tally = rows("retries.bpmn", &r);
    let flaky = tally.iter().find(|(id, ..)| id == "flaky").unwrap();
    assert_eq!(flaky, &row("flaky", 0, 1, 0), "{tally:?}");
    let decoded = NodeTally::decode(&NodeTally::of(&r.state).encode()).unwrap();
    assert_eq!(decoded, NodeTally::of(&r.state));
}
