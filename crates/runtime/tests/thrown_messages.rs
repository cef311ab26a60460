//! Message throw and end events through the runtime on SQLite: a thrown
//! message reaches a receive task of another instance (correlated by the
//! key evaluated in the thrower), a message end event starts an instance
//! at a message start event, the `publish` outbox rows are completed once
//! published, and a row left pending by a crash is published again after
//! the restart with the same message id, so nobody gets it twice.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_store_api::{
    Batch, InstanceQuery, InstanceRef, InstanceStatus, MessageRead, OutboxChange, OutboxRow, Store,
    StoreWrite,
};
use windlass_store_sqlite::SqliteStore;
use windlass_types::{Clock, MockClock, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

/// `orders` throws `paid` keyed by `order` with `amount`, then ends by
/// throwing `shipped`; `billing` waits for `paid` in a receive task;
/// `shipping` starts at `shipped`.
fn processes() -> String {
    doc(r#"<message id="paid" name="paid">
  <extensionElements><correlation xmlns="urn:windlass:bpmn:1" key="order"/></extensionElements>
</message>
<message id="shipped" name="shipped"/>
<process id="orders" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="pay"/>
  <intermediateThrowEvent id="pay" name="Paid">
    <extensionElements><input xmlns="urn:windlass:bpmn:1" source="total" target="amount"/></extensionElements>
    <messageEventDefinition messageRef="paid"/>
  </intermediateThrowEvent>
  <sequenceFlow id="f2" sourceRef="pay" targetRef="e"/>
  <endEvent id="e"><messageEventDefinition messageRef="shipped"/></endEvent>
</process>
<process id="billing" isExecutable="true">
  <startEvent id="bs"/>
  <sequenceFlow id="b1" sourceRef="bs" targetRef="wait"/>
  <receiveTask id="wait" name="Wait for payment" messageRef="paid"/>
  <sequenceFlow id="b2" sourceRef="wait" targetRef="be"/>
  <endEvent id="be"/>
</process>
<process id="shipping" isExecutable="true">
  <startEvent id="ss"><messageEventDefinition messageRef="shipped"/></startEvent>
  <sequenceFlow id="s1" sourceRef="ss" targetRef="se"/>
  <endEvent id="se"/>
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
    req.vars.insert("order".into(), json!("o-1"));
    req.vars.insert("total".into(), json!(5));
    rt.start_instance(req).await.unwrap()
}

/// The pending `publish` rows.
async fn pending_publishes<S: Store>(rt: &RuntimeHandle<S>) -> Vec<OutboxRow> {
    let rows = rt.store().pending_outbox().await.unwrap();
    rows.into_iter().filter(|r| r.kind == "publish").collect()
}

async fn until_no_pending_publish<S: Store>(rt: &RuntimeHandle<S>) {
    for _ in 0..2_000 {
        if pending_publishes(rt).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "publish rows stay pending: {:?}",
        pending_publishes(rt).await
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
async fn a_thrown_message_reaches_another_instance_and_an_end_event_starts_one()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&processes()).await?;
    let billing = start(&rt, "billing", "bill-1").await;
    assert_eq!(settled(&rt, &billing).await.status, InstanceStatus::Running);
    let orders = start(&rt, "orders", "order-1").await;
    assert_eq!(
        finished(&rt, &orders).await.status,
        InstanceStatus::Completed
    );
    let paid = finished(&rt, &billing).await;
    assert_eq!(paid.status, InstanceStatus::Completed);
    assert_eq!(paid.variables.get("amount"), Some(&json!(5)));
    until_no_pending_publish(&rt).await;
    assert_eq!(instances_of(&rt, "shipping").await, 1, "started by shipped");
    let thrown = events(&rt, &orders).await;
    let numbers: Vec<u32> = (thrown.iter())
        .filter_map(|e| match e {
            windlass_engine::Event::MessageThrown { number, .. } => Some(*number),
            _ => None,
        })
        .collect();
    assert_eq!(numbers, [0, 1]);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_publish_row_left_pending_by_a_crash_is_published_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&processes()).await?;
    let billing = start(&rt, "billing", "bill-1").await;
    settled(&rt, &billing).await;
    let orders = start(&rt, "orders", "order-1").await;
    finished(&rt, &billing).await;
    until_no_pending_publish(&rt).await;
    rt.shutdown().await?;
    drop(rt);

    // The state a crash between the commit and the publication leaves: the
    // thrower's `paid` row still pending (written back as it was).
    let store = SqliteStore::open(&path)?;
    let row = OutboxRow {
        key: format!("publish:{}/{}/0", orders.id.0, orders.run.0),
        kind: "publish".into(),
        instance: Some(orders.clone()),
        payload: br#"{"number":0,"name":"paid","correlation_key":"o-1","vars":{"amount":5}}"#
            .to_vec(),
        due_at: Timestamp(T0),
        attempt: 1,
        lease: None,
    };
    let mut batch = Batch::new();
    batch.outbox(OutboxChange::Insert(row));
    store.commit(batch).await?;
    drop(store);
    // A second billing instance for the same order now waits: a second
    // delivery of the same message would reach it.
    let rt = on_file(&path, &clock).await;
    let second = start(&rt, "billing", "bill-2").await;
    assert_eq!(settled(&rt, &second).await.status, InstanceStatus::Running);
    until_no_pending_publish(&rt).await;
    assert_eq!(
        settled(&rt, &second).await.status,
        InstanceStatus::Running,
        "the re-published message was a duplicate"
    );
    let buffered = rt.store().messages_for("paid", "o-1", clock.now()).await?;
    assert!(buffered.is_empty(), "nor buffered again: {buffered:?}");
    rt.shutdown().await?;
    Ok(())
}

/// `reminder` throws `paid` (keyed by `order`) with a time-to-live of ten
/// minutes; `billing` (above) waits for it.
fn with_ttl() -> String {
    doc(r#"<message id="paid" name="paid">
  <extensionElements><correlation xmlns="urn:windlass:bpmn:1" key="order"/></extensionElements>
</message>
<process id="reminder" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="pay"/>
  <endEvent id="pay">
    <extensionElements><publish xmlns="urn:windlass:bpmn:1" ttl="PT10M"/></extensionElements>
    <messageEventDefinition messageRef="paid"/>
  </endEvent>
</process>
<process id="billing" isExecutable="true">
  <startEvent id="bs"/>
  <sequenceFlow id="b1" sourceRef="bs" targetRef="wait"/>
  <receiveTask id="wait" name="Wait for payment" messageRef="paid"/>
  <sequenceFlow id="b2" sourceRef="wait" targetRef="be"/>
  <endEvent id="be"/>
</process>"#)
}

#[tokio::test]
async fn a_thrown_message_with_a_ttl_is_buffered_only_that_long() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = on_file(&path, &clock).await;
    rt.deploy(&with_ttl()).await?;

    // Thrown with nothing waiting: buffered, taken by a subscriber that
    // opens within ten minutes.
    let mut req = StartRequest::new("reminder");
    req.vars.insert("order".into(), json!("o-1"));
    let first = rt.start_instance(req).await?;
    finished(&rt, &first).await;
    until_no_pending_publish(&rt).await;
    let buffered = rt.store().messages_for("paid", "o-1", clock.now()).await?;
    assert_eq!(buffered.len(), 1, "{buffered:?}");
    clock.advance(9 * 60_000);
    let bill = start(&rt, "billing", "bill-1").await;
    assert_eq!(finished(&rt, &bill).await.status, InstanceStatus::Completed);

    // Thrown again: after eleven minutes it has expired, so a new
    // subscriber waits.
    let mut req = StartRequest::new("reminder");
    req.vars.insert("order".into(), json!("o-1"));
    req.instance_id = Some("again".into());
    let second = rt.start_instance(req).await?;
    finished(&rt, &second).await;
    until_no_pending_publish(&rt).await;
    clock.advance(11 * 60_000);
    let late = start(&rt, "billing", "bill-2").await;
    assert_eq!(
        settled(&rt, &late).await.status,
        InstanceStatus::Running,
        "the message expired"
    );
    rt.shutdown().await?;
    Ok(())
}
