//! Signal throw and end events through the runtime on SQLite: a thrown
//! signal is broadcast after the commit to every waiting signal catch
//! event (instances on other shards included) and starts an instance at a
//! signal start event; the `broadcast` outbox rows are completed once
//! broadcast, and a row left pending by a crash is broadcast at the next
//! start — exactly once: the markers the interrupted broadcast wrote (a
//! shard's delivery, a start) keep it from reaching their instances again,
//! also under another shard count.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_store_api::{
    Batch, DefinitionRead, InstanceQuery, InstanceRef, InstanceStatus, OutboxChange, OutboxRead,
    OutboxRow, Store, StoreWrite,
};
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

/// `alarms` throws `alarm` with `level`, then ends by throwing
/// `all-clear`; `watch` waits for `alarm`; `respond` starts at `all-clear`.
fn processes() -> String {
    doc(r#"<signal id="alarm" name="alarm"/>
<signal id="clear" name="all-clear"/>
<process id="alarms" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="raise"/>
  <intermediateThrowEvent id="raise" name="Raise">
    <extensionElements><input xmlns="urn:windlass:bpmn:1" source="severity" target="level"/></extensionElements>
    <signalEventDefinition signalRef="alarm"/>
  </intermediateThrowEvent>
  <sequenceFlow id="f2" sourceRef="raise" targetRef="e"/>
  <endEvent id="e"><signalEventDefinition signalRef="clear"/></endEvent>
</process>
<process id="watch" isExecutable="true">
  <startEvent id="ws"/>
  <sequenceFlow id="w1" sourceRef="ws" targetRef="heard"/>
  <intermediateCatchEvent id="heard" name="Heard"><signalEventDefinition signalRef="alarm"/></intermediateCatchEvent>
  <sequenceFlow id="w2" sourceRef="heard" targetRef="we"/>
  <endEvent id="we"/>
</process>
<process id="respond" isExecutable="true">
  <startEvent id="rs"><signalEventDefinition signalRef="clear"/></startEvent>
  <sequenceFlow id="r1" sourceRef="rs" targetRef="re"/>
  <endEvent id="re"/>
</process>"#)
}

async fn on_file(path: &Path, clock: &Arc<MockClock>) -> RuntimeHandle<SqliteStore> {
    on_shards(path, clock, 2).await
}

async fn on_shards(
    path: &Path,
    clock: &Arc<MockClock>,
    shards: usize,
) -> RuntimeHandle<SqliteStore> {
    let opts = RuntimeOptions {
        clock: clock.clone(),
        shards,
        ..RuntimeOptions::default()
    };
    Runtime::start(opts, SqliteStore::open(path).unwrap(), Handlers::new())
        .await
        .unwrap()
}

async fn start<S: Store>(rt: &RuntimeHandle<S>, process: &str, id: &str) -> InstanceRef {
    let mut req = StartRequest::new(process);
    req.instance_id = Some(id.into());
    req.vars.insert("severity".into(), json!(3));
    rt.start_instance(req).await.unwrap()
}

/// The pending `broadcast` rows.
async fn pending_broadcasts<S: Store>(rt: &RuntimeHandle<S>) -> Vec<OutboxRow> {
    let rows = rt.store().pending_outbox().await.unwrap();
    rows.into_iter().filter(|r| r.kind == "broadcast").collect()
}

async fn until_no_pending_broadcast<S: Store>(rt: &RuntimeHandle<S>) {
    for _ in 0..2_000 {
        if pending_broadcasts(rt).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "broadcast rows stay pending: {:?}",
        pending_broadcasts(rt).await
    );
}

async fn instances_of<S: Store>(rt: &RuntimeHandle<S>, process: &str) -> usize {
    let rows = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await
        .unwrap();
    rows.iter()
        .filter(|r| r.definition_key.contains(process))
        .count()
}

#[tokio::test]
async fn a_thrown_signal_reaches_every_waiting_instance_and_a_signal_end_starts_one()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&processes()).await?;
    // Watchers on both shards.
    let mut watchers = Vec::new();
    for i in 0..6 {
        let w = start(&rt, "watch", &format!("watch-{i}")).await;
        assert_eq!(settled(&rt, &w).await.status, InstanceStatus::Running);
        watchers.push(w);
    }
    let alarms = start(&rt, "alarms", "alarm-1").await;
    assert_eq!(
        finished(&rt, &alarms).await.status,
        InstanceStatus::Completed
    );
    for w in &watchers {
        let out = finished(&rt, w).await;
        assert_eq!(out.status, InstanceStatus::Completed, "{w}");
        assert_eq!(out.variables.get("level"), Some(&json!(3)), "{w}");
    }
    until_no_pending_broadcast(&rt).await;
    assert_eq!(
        instances_of(&rt, "respond").await,
        1,
        "started by all-clear"
    );
    let numbers: Vec<u32> = (events(&rt, &alarms).await.iter())
        .filter_map(|e| match e {
            windlass_engine::Event::SignalThrown { number, .. } => Some(*number),
            _ => None,
        })
        .collect();
    assert_eq!(numbers, [0, 1]);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_broadcast_row_left_pending_by_a_crash_is_broadcast_at_the_next_start()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&processes()).await?;
    let alarms = start(&rt, "alarms", "alarm-1").await;
    finished(&rt, &alarms).await;
    until_no_pending_broadcast(&rt).await;
    let watcher = start(&rt, "watch", "watch-late").await;
    assert_eq!(
        settled(&rt, &watcher).await.status,
        InstanceStatus::Running,
        "it started after the broadcast"
    );
    rt.shutdown().await?;
    drop(rt);

    // The state a crash between the commit and the broadcast leaves: the
    // thrower's `alarm` row still pending (written back as it was).
    let store = SqliteStore::open(&path)?;
    let row = OutboxRow {
        key: format!("broadcast:{}/{}/0", alarms.id.0, alarms.run.0),
        kind: "broadcast".into(),
        instance: Some(alarms.clone()),
        payload: br#"{"number":0,"name":"alarm","vars":{"level":7}}"#.to_vec(),
        due_at: Timestamp(T0),
        attempt: 1,
        lease: None,
    };
    let mut batch = Batch::new();
    batch.outbox(OutboxChange::Insert(row));
    store.commit(batch).await?;
    drop(store);

    let rt = on_file(&path, &clock).await;
    let out = finished(&rt, &watcher).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables.get("level"), Some(&json!(7)));
    until_no_pending_broadcast(&rt).await;
    rt.shutdown().await?;
    Ok(())
}

/// Writes rows into the database at `path` as a crash would have left them.
async fn write_rows(path: &Path, rows: Vec<OutboxRow>) -> anyhow::Result<()> {
    let store = SqliteStore::open(path)?;
    let mut batch = Batch::new();
    for row in rows {
        batch.outbox(OutboxChange::Insert(row));
    }
    store.commit(batch).await?;
    Ok(())
}

/// A pending `broadcast` row of `thrower`'s `number`-th signal.
fn broadcast_row(thrower: &InstanceRef, number: u32, payload: &str) -> OutboxRow {
    OutboxRow {
        key: format!("broadcast:{}/{}/{number}", thrower.id.0, thrower.run.0),
        kind: "broadcast".into(),
        instance: Some(thrower.clone()),
        payload: payload.as_bytes().to_vec(),
        due_at: Timestamp(T0),
        attempt: 1,
        lease: None,
    }
}

/// A marker row as `outbox/broadcast_seen.rs` stores it.
fn marker(key: String, payload: serde_json::Value) -> OutboxRow {
    OutboxRow {
        key,
        kind: "broadcast-seen".into(),
        instance: None,
        payload: payload.to_string().into_bytes(),
        due_at: Timestamp(T0),
        attempt: 1,
        lease: None,
    }
}

/// Two watchers, one per shard of two (ids chosen by their partition).
fn watcher_ids() -> (String, String) {
    let shard = |id: &str| windlass_types::partition::Partition::of_instance(id).shard(2);
    let ids: Vec<String> = (0..100).map(|i| format!("watch-{i}")).collect();
    let on = |k| ids.iter().find(|id| shard(id) == k).cloned().unwrap();
    (on(0), on(1))
}

/// A crash came after shard 0 of 2 had delivered the `alarm` broadcast
/// (its marker is written with its deliveries) and before the row was
/// completed; the runtime comes back with `shards` shards. The watcher on
/// shard 0's partitions does not take the signal again; the other does.
async fn interrupted_broadcast_resumes_with(shards: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&processes()).await?;
    let alarms = start(&rt, "alarms", "alarm-1").await;
    finished(&rt, &alarms).await;
    until_no_pending_broadcast(&rt).await;
    let (a, b) = watcher_ids();
    let (a, b) = (start(&rt, "watch", &a).await, start(&rt, "watch", &b).await);
    for w in [&a, &b] {
        assert_eq!(settled(&rt, w).await.status, InstanceStatus::Running);
    }
    rt.shutdown().await?;
    drop(rt);

    let row = broadcast_row(
        &alarms,
        0,
        r#"{"number":0,"name":"alarm","vars":{"level":7}}"#,
    );
    let seen = marker(
        format!("{}#seen-by-shard-0-of-2", row.key),
        json!({"by": "shard", "broadcast": row.key, "shard": 0, "of": 2}),
    );
    write_rows(&path, vec![row, seen]).await?;

    let rt = on_shards(&path, &clock, shards).await;
    let out = finished(&rt, &b).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables.get("level"), Some(&json!(7)));
    until_no_pending_broadcast(&rt).await;
    assert_eq!(
        settled(&rt, &a).await.status,
        InstanceStatus::Running,
        "{a} is in a partition whose shard had delivered the broadcast"
    );
    let left: Vec<String> = (rt.store().pending_outbox().await?.into_iter())
        .map(|r| r.key)
        .collect();
    assert!(left.is_empty(), "markers completed with the row: {left:?}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_interrupted_broadcast_skips_the_shard_that_delivered_it() -> anyhow::Result<()> {
    interrupted_broadcast_resumes_with(2).await
}

#[tokio::test]
async fn an_interrupted_broadcast_skips_covered_partitions_under_another_shard_count()
-> anyhow::Result<()> {
    interrupted_broadcast_resumes_with(3).await
}

/// A crash came after the `all-clear` broadcast had started `respond` (its
/// start marker written with the creation) and before the row was
/// completed: the next start does not start it again.
#[tokio::test]
async fn an_interrupted_broadcast_does_not_start_a_started_instance_again() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&processes()).await?;
    let alarms = start(&rt, "alarms", "alarm-1").await;
    finished(&rt, &alarms).await;
    until_no_pending_broadcast(&rt).await;
    assert_eq!(instances_of(&rt, "respond").await, 1);
    let respond = rt
        .store()
        .definitions()
        .await?
        .into_iter()
        .find(|d| d.process_id == "respond")
        .unwrap();
    rt.shutdown().await?;
    drop(rt);

    let row = broadcast_row(&alarms, 1, r#"{"number":1,"name":"all-clear","vars":{}}"#);
    let started = marker(
        format!("{}#started-{}-rs", row.key, respond.key),
        json!({"by": "start", "broadcast": row.key, "definition": respond.key, "node": "rs"}),
    );
    write_rows(&path, vec![row, started]).await?;

    let rt = on_file(&path, &clock).await;
    until_no_pending_broadcast(&rt).await;
    assert_eq!(instances_of(&rt, "respond").await, 1, "not started again");
    assert!(rt.store().pending_outbox().await?.is_empty());
    rt.shutdown().await?;
    Ok(())
}
