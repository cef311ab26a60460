//! Signal broadcasts across two `windlass server --node` processes writing
//! one PostgreSQL database: a broadcast on a node is one outbox row per
//! partition, which the node serving each partition delivers to its
//! waiting instances (woken by `NOTIFY`). A signal thrown by an instance
//! and one broadcast through the REST API both reach the watchers of both
//! nodes, once each; the second is broadcast while the other node lies
//! killed, and its watchers take it once the survivor has taken their
//! partitions over.

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::ServerProc;
use server_common::cluster::{TwoNodes, reader, start, taken_over, two_nodes};
use std::time::{Duration, Instant};
use windlass_store_api::Partition;

/// `watch` takes `alarm` twice (taking one broadcast twice would complete
/// it early); `alarms` ends by throwing `alarm`; `respond` starts at
/// `alarm`.
const SIGNALS_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="signals" targetNamespace="t">
  <signal id="alarm" name="alarm"/>
  <process id="watch" isExecutable="true">
    <startEvent id="ws"/>
    <sequenceFlow id="w1" sourceRef="ws" targetRef="first"/>
    <intermediateCatchEvent id="first"><signalEventDefinition signalRef="alarm"/></intermediateCatchEvent>
    <sequenceFlow id="w2" sourceRef="first" targetRef="second"/>
    <intermediateCatchEvent id="second"><signalEventDefinition signalRef="alarm"/></intermediateCatchEvent>
    <sequenceFlow id="w3" sourceRef="second" targetRef="we"/>
    <endEvent id="we"/>
  </process>
  <process id="alarms" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"><signalEventDefinition signalRef="alarm"/></endEvent>
  </process>
  <process id="respond" isExecutable="true">
    <startEvent id="rs"><signalEventDefinition signalRef="alarm"/></startEvent>
    <sequenceFlow id="r1" sourceRef="rs" targetRef="re"/>
    <endEvent id="re"/>
  </process>
</definitions>
"#;

/// How many signals instance `id` took, read through `node`.
async fn taken(node: &ServerProc, id: &str) -> usize {
    let (status, v) = node
        .get(&format!("/api/v1/instances/{id}/history?limit=1000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["eventType"] == "SignalDelivered")
        .count()
}

/// Waits until each of `ids` took `n` signals, read through `node`.
async fn until_taken(node: &ServerProc, ids: &[String], n: usize) {
    let since = Instant::now();
    for id in ids {
        while taken(node, id).await < n {
            assert!(
                since.elapsed() < Duration::from_secs(20),
                "{id} took {} signals, not {n}",
                taken(node, id).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// How many instances of `process` exist, read through `node`.
async fn instances_of(node: &ServerProc, process: &str) -> usize {
    let (status, list) = node
        .get(&format!("/api/v1/instances?limit=1000&processId={process}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn broadcasts_reach_watchers_on_both_nodes_once_through_a_kill() {
    let Some(TwoNodes {
        db,
        dir: _dir,
        a,
        a_half,
        b,
        ..
    }) = two_nodes("nodes_signals").await
    else {
        return;
    };
    let (status, body) = a.deploy(SIGNALS_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Past b's first lease (its supervisor starts after it).
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let mut watchers = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        let id = start(node, "watch", &format!("w-{i}")).await;
        watchers.push(id.unwrap_or_else(|| panic!("watcher w-{i} not accepted")));
    }
    let on_a = |id: &String| a_half.contains(Partition::of_instance(id));
    assert!(watchers.iter().any(on_a) && !watchers.iter().all(on_a));

    // A thrown signal, from an instance started through b.
    let thrower = start(&b, "alarms", "thrower-1").await.expect("thrower");
    b.wait_for(&thrower, |v| v["status"] == "completed").await;
    until_taken(&a, &watchers, 1).await;
    assert_eq!(instances_of(&a, "respond").await, 1);

    // b killed; a broadcast through a while b's partitions have no owner:
    // their parts wait in the store.
    b.signal("KILL");
    let killed = Instant::now();
    let (status, v) = a
        .post(
            "/api/v1/signals",
            json!({"name": "alarm", "variables": {"round": 2}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["delivered"], 1, "the instance started: {v}");
    let took = taken_over(&reader(&db).await, "b", killed, Duration::from_secs(5)).await;

    // Every watcher completes, having taken each broadcast once.
    for id in &watchers {
        let view = a.wait_for(id, |v| v["status"] == "completed").await;
        assert_eq!(view["variables"]["round"], 2, "{id}: {view}");
        assert_eq!(taken(&a, id).await, 2, "{id}");
    }
    assert_eq!(instances_of(&a, "respond").await, 2);
    eprintln!(
        "b killed; its partitions taken over after {took:?}; 20 watchers took 2 broadcasts once each"
    );
    assert!(a.stop().success());
}
