//! Signal throw and end events through the runtime on SQLite: a thrown
//! signal is broadcast after the commit to every waiting signal catch
//! event (instances on other shards included) and starts an instance at a
//! signal start event; the `broadcast` outbox rows are completed once
//! broadcast, and a row left pending by a crash is broadcast at the next
//! start (at least once: whoever waits then takes it).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_store_api::{
    Batch, InstanceQuery, InstanceRef, InstanceStatus, OutboxChange, OutboxRow, Store, StoreWrite,
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
    let opts = RuntimeOptions {
        clock: clock.clone(),
        shards: 2,
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
