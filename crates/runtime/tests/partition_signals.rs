//! Signal broadcasts across runtimes serving some partitions (two nodes
//! sharing one in-memory store, as two nodes share one PostgreSQL
//! database; with real servers and PostgreSQL in
//! `crates/cli/tests/postgres_nodes_signals.rs`). A broadcast on a node is
//! one row per partition (`broadcast_parts.rs`), which the node serving
//! each partition delivers to its waiting instances: every waiting
//! instance on either node takes it, once — through slow commits, a node
//! that is gone until its partitions are adopted, and a thrown signal
//! broadcast again after a crash.
#![allow(clippy::unwrap_used)]

mod common;

use common::gated::Gated;
use common::*;
use serde_json::json;
use std::time::Duration;
use windlass_engine::Event;
use windlass_runtime::{
    Handlers, MAX_NODE_BROADCAST_VARS_BYTES, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions,
    StartRequest,
};
use windlass_store_api::{
    Batch, DefinitionRead, InstanceQuery, InstanceRef, InstanceStatus, OutboxChange, OutboxRow,
    PartitionSet, Store, StoreWrite,
};
use windlass_store_memory::MemoryStore;
use windlass_types::Vars;

/// `watch` takes `alarm` twice (one broadcast moves it from the first
/// catch to the second: taking one twice would complete it); `alarms`
/// ends by throwing `alarm`; `respond` starts at `alarm`.
fn processes() -> String {
    doc(r#"<signal id="alarm" name="alarm"/>
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
</process>"#)
}

/// A node serving `set`, on a store whose commits take 20 ms (a slow
/// database), ten times its delivery poll: a part taken twice while its
/// first commit is under way would reach its instances twice.
async fn node_on(store: MemoryStore, set: PartitionSet) -> RuntimeHandle<Gated> {
    let mut store = Gated::new(store);
    store.delay = Some(Duration::from_millis(20));
    let opts = RuntimeOptions {
        partitions: Some(set),
        delivery_poll: Duration::from_millis(2),
        ..RuntimeOptions::default()
    };
    Runtime::start(opts, store, Handlers::new()).await.unwrap()
}

/// The node serving `half` of two.
async fn node(store: MemoryStore, half: u16) -> RuntimeHandle<Gated> {
    node_on(store, PartitionSet::share(half, 2)).await
}

/// How many signals `id` took.
async fn taken<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> usize {
    let evs = events(rt, id).await;
    evs.iter()
        .filter(|e| matches!(e, Event::SignalDelivered { .. }))
        .count()
}

/// Waits until every one of `ids` took `n` signals (failing after 20 s).
async fn until_taken<S: Store>(rt: &RuntimeHandle<S>, ids: &[InstanceRef], n: usize) {
    for id in ids {
        let mut tries = 0;
        while taken(rt, id).await < n {
            tries += 1;
            assert!(
                tries < 4_000,
                "{id} took {} signals, not {n}",
                taken(rt, id).await
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The pending rows of kind `kind`.
async fn pending_of<S: Store>(rt: &RuntimeHandle<S>, kind: &str) -> Vec<OutboxRow> {
    let rows = rt.store().pending_outbox().await.unwrap();
    rows.into_iter().filter(|r| r.kind == kind).collect()
}

/// Waits until no row of kind `kind` is pending.
async fn until_none_pending<S: Store>(rt: &RuntimeHandle<S>, kind: &str) {
    for _ in 0..4_000 {
        if pending_of(rt, kind).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let keys: Vec<String> = (pending_of(rt, kind).await.into_iter())
        .map(|r| r.key)
        .take(5)
        .collect();
    panic!("{kind} rows stay pending, first: {keys:?}");
}

/// How many instances of `process` the store holds.
async fn instances_of<S: Store>(rt: &RuntimeHandle<S>, process: &str) -> usize {
    let q = InstanceQuery::default();
    let rows = rt.store().query_instances(&q).await.unwrap();
    rows.iter()
        .filter(|r| r.definition_key.starts_with(&format!("{process}:")))
        .count()
}

/// `n` watchers started through both nodes, each waiting at its first
/// catch, and the node serving each.
async fn watchers(nodes: &[RuntimeHandle<Gated>; 2], n: usize) -> Vec<(InstanceRef, usize)> {
    let mut out = Vec::new();
    for i in 0..n {
        let rt = &nodes[i % 2];
        let w = rt.start_instance(StartRequest::new("watch")).await.unwrap();
        assert_eq!(settled(rt, &w).await.status, InstanceStatus::Running);
        out.push((w, i % 2));
    }
    out
}

#[tokio::test]
async fn a_broadcast_through_one_node_reaches_waiting_instances_on_both_once() {
    let store = MemoryStore::new();
    let nodes = [node(store.clone(), 0).await, node(store.clone(), 1).await];
    nodes[0].deploy(&processes()).await.unwrap();
    let ws = watchers(&nodes, 20).await;

    let mut vars = Vars::new();
    vars.insert("level".into(), json!(3));
    // The count is the instances started: the waiting ones take it as
    // their partitions' nodes take its parts.
    assert_eq!(nodes[0].broadcast("alarm", vars).await.unwrap(), 1);
    for (w, on) in &ws {
        until_taken(&nodes[*on], std::slice::from_ref(w), 1).await;
    }
    until_none_pending(&nodes[0], "signal-to").await;
    // Many polls later, still once each: waiting at the second catch.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (w, on) in &ws {
        let rt = &nodes[*on];
        assert_eq!(taken(rt, w).await, 1, "{w}");
        let out = settled(rt, w).await;
        assert_eq!(out.status, InstanceStatus::Running, "{w}");
        assert_eq!(out.variables.get("level"), Some(&json!(3)), "{w}");
    }
    assert_eq!(instances_of(&nodes[0], "respond").await, 1);

    // The second, through the other node: every watcher completes.
    assert_eq!(nodes[1].broadcast("alarm", Vars::new()).await.unwrap(), 1);
    for (w, on) in &ws {
        let out = finished(&nodes[*on], w).await;
        assert_eq!(out.status, InstanceStatus::Completed, "{w}");
        assert_eq!(taken(&nodes[*on], w).await, 2, "{w}");
    }
    until_none_pending(&nodes[0], "signal-to").await;
    assert_eq!(instances_of(&nodes[0], "respond").await, 2);
    for rt in nodes {
        rt.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_thrown_signal_crosses_nodes_once_and_its_row_completes() {
    let store = MemoryStore::new();
    let nodes = [node(store.clone(), 0).await, node(store.clone(), 1).await];
    nodes[0].deploy(&processes()).await.unwrap();
    let ws = watchers(&nodes, 12).await;
    let thrower = nodes[1]
        .start_instance(StartRequest::new("alarms"))
        .await
        .unwrap();
    let out = finished(&nodes[1], &thrower).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    for (w, on) in &ws {
        until_taken(&nodes[*on], std::slice::from_ref(w), 1).await;
    }
    // The broadcast row and its markers complete; every part is taken.
    until_none_pending(&nodes[0], "broadcast").await;
    until_none_pending(&nodes[0], "broadcast-seen").await;
    until_none_pending(&nodes[0], "signal-to").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (w, on) in &ws {
        assert_eq!(taken(&nodes[*on], w).await, 1, "{w}");
    }
    assert_eq!(instances_of(&nodes[0], "respond").await, 1);
    for rt in nodes {
        rt.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn parts_for_a_stopped_node_wait_for_the_node_that_adopts_its_partitions() {
    let store = MemoryStore::new();
    let nodes = [node(store.clone(), 0).await, node(store.clone(), 1).await];
    nodes[0].deploy(&processes()).await.unwrap();
    let ws = watchers(&nodes, 12).await;
    let [a, b] = nodes;
    b.shutdown().await.unwrap();

    a.broadcast("alarm", Vars::new()).await.unwrap();
    let mine: Vec<InstanceRef> = (ws.iter().filter(|(_, on)| *on == 0))
        .map(|(w, _)| w.clone())
        .collect();
    until_taken(&a, &mine, 1).await;
    // b's half waits in the store: its parts pending, its watchers not
    // reached.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let left = pending_of(&a, "signal-to").await;
    let b_half = PartitionSet::share(1, 2);
    assert_eq!(left.len(), b_half.len(), "{left:?}");
    assert!(left.iter().all(|r| b_half.contains(r.partition().unwrap())));
    for (w, on) in &ws {
        if *on == 1 {
            assert_eq!(taken(&a, w).await, 0, "{w}");
        }
    }

    // a adopts b's half: b's watchers take the broadcast, once.
    a.adopt(b_half).await.unwrap();
    let theirs: Vec<InstanceRef> = (ws.iter().filter(|(_, on)| *on == 1))
        .map(|(w, _)| w.clone())
        .collect();
    until_taken(&a, &theirs, 1).await;
    until_none_pending(&a, "signal-to").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (w, _) in &ws {
        assert_eq!(taken(&a, w).await, 1, "{w}");
        assert_eq!(settled(&a, w).await.status, InstanceStatus::Running);
    }
    a.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_thrown_signal_broadcast_again_after_a_crash_writes_its_parts_once() {
    let store = MemoryStore::new();
    let every = PartitionSet::share(0, 1);
    let rt = node_on(store.clone(), every).await;
    rt.deploy(&processes()).await.unwrap();
    let watcher = rt.start_instance(StartRequest::new("watch")).await.unwrap();
    settled(&rt, &watcher).await;
    let thrower = rt
        .start_instance(StartRequest::new("alarms"))
        .await
        .unwrap();
    finished(&rt, &thrower).await;
    until_taken(&rt, std::slice::from_ref(&watcher), 1).await;
    until_none_pending(&rt, "broadcast").await;
    until_none_pending(&rt, "signal-to").await;
    let respond = instances_of(&rt, "respond").await;
    assert_eq!(respond, 1);
    rt.shutdown().await.unwrap();
    drop(rt);

    // The state a crash after the parts were committed (and taken) and the
    // instance started, but before the thrower's row completed, leaves:
    // the row and its markers pending again.
    let key = format!("broadcast:{}/{}/0", thrower.id.0, thrower.run.0);
    let defs = store.definitions().await.unwrap();
    let respond_def = defs.iter().find(|d| d.process_id == "respond").unwrap();
    let started = OutboxRow {
        key: format!("{key}#started-{}-rs", respond_def.key),
        kind: "broadcast-seen".into(),
        instance: None,
        payload: serde_json::to_vec(&json!({
            "by": "start", "broadcast": key, "definition": respond_def.key, "node": "rs"
        }))
        .unwrap(),
        due_at: windlass_types::Timestamp(0),
        attempt: 1,
        lease: None,
    };
    let row = OutboxRow {
        key: key.clone(),
        kind: "broadcast".into(),
        instance: Some(thrower.clone()),
        payload: br#"{"number":0,"name":"alarm","vars":{}}"#.to_vec(),
        due_at: windlass_types::Timestamp(0),
        attempt: 1,
        lease: None,
    };
    let marker = OutboxRow {
        key: format!("{key}#parts"),
        kind: "broadcast-seen".into(),
        instance: None,
        payload: format!(r#"{{"by":"parts","broadcast":"{key}"}}"#).into_bytes(),
        due_at: windlass_types::Timestamp(0),
        attempt: 1,
        lease: None,
    };
    let mut batch = Batch::new();
    batch.outbox(OutboxChange::Insert(row));
    batch.outbox(OutboxChange::Insert(marker));
    batch.outbox(OutboxChange::Insert(started));
    store.commit(batch).await.unwrap();

    // Broadcast again at the next start: the markers keep its parts from
    // being written again (so the watcher still waits at its second catch)
    // and its start from being made again.
    let rt = node_on(store.clone(), every).await;
    until_none_pending(&rt, "broadcast").await;
    until_none_pending(&rt, "broadcast-seen").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pending_of(&rt, "signal-to").await.is_empty());
    assert_eq!(taken(&rt, &watcher).await, 1);
    assert_eq!(settled(&rt, &watcher).await.status, InstanceStatus::Running);
    assert_eq!(instances_of(&rt, "respond").await, 1);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_broadcast_on_a_node_with_too_many_variables_is_refused_before_anything_is_written() {
    let store = MemoryStore::new();
    let rt = node(store.clone(), 0).await;
    rt.deploy(&processes()).await.unwrap();
    let mut vars = Vars::new();
    vars.insert(
        "blob".into(),
        json!("x".repeat(MAX_NODE_BROADCAST_VARS_BYTES)),
    );
    let err = rt.broadcast("alarm", vars).await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::BroadcastTooLarge { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("'alarm'"), "{err}");
    assert!(pending_of(&rt, "signal-to").await.is_empty());
    assert_eq!(instances_of(&rt, "respond").await, 0);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_signal_start_event_with_an_instance_id_template_is_refused_on_a_node() {
    let rt = node(MemoryStore::new(), 0).await;
    let xml = doc(r#"<signal id="alarm" name="alarm"/>
<process id="keyed" isExecutable="true">
  <extensionElements xmlns:windlass="urn:windlass:bpmn:1">
    <windlass:instanceId template="keyed-{site}"/>
  </extensionElements>
  <startEvent id="ks"><signalEventDefinition signalRef="alarm"/></startEvent>
  <sequenceFlow id="k1" sourceRef="ks" targetRef="ke"/>
  <endEvent id="ke"/>
</process>"#);
    let err = rt.deploy(&xml).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("a signal start event with an instance id template (element 'ks')"),
        "{err}"
    );
    rt.shutdown().await.unwrap();
}
