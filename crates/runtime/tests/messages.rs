//! Messages and signals through the runtime, with a `MockClock` (no
//! sleeping): correlation by name and key, buffering until a subscription
//! opens, time-to-live, idempotent publishing by message id, a message
//! refused by a closed subscription going back to the buffer, event-based
//! gateways, several shards, buffered messages and consumed ids surviving
//! a restart on SQLite, signals to one instance and broadcast.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use windlass_runtime::{
    Handlers, Message, PublishOutcome, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions,
    StartRequest,
};
use windlass_store_api::{InstanceIndex, InstanceRef, InstanceStatus, MessageRead, Store};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::{Clock, MockClock, Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// start → catch message `paid` keyed by `order` → end.
fn paid() -> String {
    doc(r#"<message id="m" name="paid">
  <extensionElements><correlation xmlns="urn:windlass:bpmn:1" key="order"/></extensionElements>
</message>
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
  <intermediateCatchEvent id="wait" name="Paid">
    <messageEventDefinition messageRef="m"/>
  </intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// start → receive task waiting for `paid` keyed by `order` → end.
fn receive() -> String {
    paid().replace(
        r#"<intermediateCatchEvent id="wait" name="Paid">
    <messageEventDefinition messageRef="m"/>
  </intermediateCatchEvent>"#,
        r#"<receiveTask id="wait" name="Paid" messageRef="m"/>"#,
    )
}

/// start → event-based gateway: message `paid` (keyed by `order`) or a
/// 10-minute timer → end.
fn race() -> String {
    doc(r#"<message id="m" name="paid">
  <extensionElements><correlation xmlns="urn:windlass:bpmn:1" key="order"/></extensionElements>
</message>
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
  <eventBasedGateway id="g"/>
  <sequenceFlow id="f2" sourceRef="g" targetRef="msg"/>
  <sequenceFlow id="f3" sourceRef="g" targetRef="late"/>
  <intermediateCatchEvent id="msg" name="Paid"><messageEventDefinition messageRef="m"/></intermediateCatchEvent>
  <intermediateCatchEvent id="late" name="Late">
    <timerEventDefinition><timeDuration>PT10M</timeDuration></timerEventDefinition>
  </intermediateCatchEvent>
  <sequenceFlow id="f4" sourceRef="msg" targetRef="e1"/>
  <sequenceFlow id="f5" sourceRef="late" targetRef="e2"/>
  <endEvent id="e1"/>
  <endEvent id="e2"/>
</process>"#)
}

/// start → catch signal `go` → end.
fn go() -> String {
    doc(r#"<signal id="sig" name="go"/>
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
  <intermediateCatchEvent id="wait" name="Go"><signalEventDefinition signalRef="sig"/></intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// Started by message `order-placed` (instance id `order-{order}`) or by
/// signal `audit`; waits for `paid` keyed by `order`.
fn started_by_events() -> String {
    doc(r#"<message id="placed" name="order-placed"/>
<message id="m" name="paid">
  <extensionElements><correlation xmlns="urn:windlass:bpmn:1" key="order"/></extensionElements>
</message>
<signal id="sig" name="audit"/>
<process id="orders" isExecutable="true">
  <extensionElements><instanceId xmlns="urn:windlass:bpmn:1" template="order-{order}"/></extensionElements>
  <startEvent id="by-message"><messageEventDefinition messageRef="placed"/></startEvent>
  <startEvent id="by-signal"><signalEventDefinition signalRef="sig"/></startEvent>
  <sequenceFlow id="f1" sourceRef="by-message" targetRef="wait"/>
  <intermediateCatchEvent id="wait" name="Paid"><messageEventDefinition messageRef="m"/></intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
  <sequenceFlow id="f3" sourceRef="by-signal" targetRef="e2"/>
  <endEvent id="e"/>
  <endEvent id="e2"/>
</process>"#)
}

fn opts(clock: &Arc<MockClock>, shards: usize) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        shards,
        ..RuntimeOptions::default()
    }
}

fn msg(name: &str, key: &str, id: Option<&str>, ttl_millis: Option<u64>, vars: Vars) -> Message {
    Message {
        name: name.into(),
        correlation_key: Some(key.into()),
        message_id: id.map(str::to_string),
        vars,
        ttl_millis,
    }
}

fn vars(v: serde_json::Value) -> Vars {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Vars::new(),
    }
}

async fn start<S: Store>(rt: &RuntimeHandle<S>, id: &str, order: &str) -> InstanceRef {
    let mut req = StartRequest::new("p");
    req.instance_id = Some(id.into());
    req.vars = vars(json!({ "order": order }));
    rt.start_instance(req).await.unwrap()
}

#[tokio::test]
async fn a_message_is_correlated_by_name_and_key_and_its_variables_arrive() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 1), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&paid()).await?;
    let a = start(&rt, "a", "o-1").await;
    let b = start(&rt, "b", "o-2").await;
    assert_eq!(settled(&rt, &a).await.status, InstanceStatus::Running);
    let out = rt
        .publish(msg("paid", "o-2", None, None, vars(json!({ "amount": 3 }))))
        .await?;
    assert_eq!(
        out,
        PublishOutcome::Correlated {
            instance: b.clone()
        }
    );
    let done = settled(&rt, &b).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("amount"), Some(&json!(3)));
    assert_eq!(
        settled(&rt, &a).await.status,
        InstanceStatus::Running,
        "other key"
    );
    // Same key, other name: nothing waits for it.
    let out = rt
        .publish(msg("refunded", "o-1", None, None, Vars::new()))
        .await?;
    assert_eq!(out, PublishOutcome::Buffered);
    assert_eq!(settled(&rt, &a).await.status, InstanceStatus::Running);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_message_published_first_waits_in_the_buffer_until_its_ttl() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 1), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&paid()).await?;
    let ttl = Some(10 * MIN as u64);
    assert_eq!(
        rt.publish(msg("paid", "o-1", Some("m1"), ttl, vars(json!({ "n": 1 }))))
            .await?,
        PublishOutcome::Buffered
    );
    assert_eq!(
        rt.publish(msg("paid", "o-2", Some("m2"), ttl, Vars::new()))
            .await?,
        PublishOutcome::Buffered
    );
    assert_eq!(
        rt.publish(msg("paid", "o-3", None, Some(0), Vars::new()))
            .await?,
        PublishOutcome::Dropped,
        "a zero time-to-live is dropped when nothing waits"
    );
    let rows = rt.store().messages_for("paid", "o-1", clock.now()).await?;
    assert_eq!(rows.len(), 1, "the buffered message is a row");
    // The instance opens its subscription and takes the buffered message.
    let a = start(&rt, "a", "o-1").await;
    let done = settled(&rt, &a).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("n"), Some(&json!(1)));
    assert!(
        rt.store()
            .messages_for("paid", "o-1", clock.now())
            .await?
            .is_empty(),
        "consumed"
    );
    // m2 expires: an instance opening later does not get it.
    clock.advance(10 * MIN);
    let b = start(&rt, "b", "o-2").await;
    assert_eq!(settled(&rt, &b).await.status, InstanceStatus::Running);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn publishing_with_a_message_id_is_idempotent() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 1), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&paid()).await?;
    let a = start(&rt, "a", "o-1").await;
    let b = start(&rt, "b", "o-1").await;
    settled(&rt, &b).await;
    let m = msg("paid", "o-1", Some("pay-1"), None, Vars::new());
    let first = rt.publish(m.clone()).await?;
    assert_eq!(
        first,
        PublishOutcome::Correlated {
            instance: a.clone()
        },
        "the first to subscribe"
    );
    assert_eq!(rt.publish(m.clone()).await?, PublishOutcome::Duplicate);
    assert_eq!(
        settled(&rt, &b).await.status,
        InstanceStatus::Running,
        "b did not get it"
    );
    // Buffered duplicates too.
    let buffered = msg("paid", "o-9", Some("pay-9"), None, Vars::new());
    assert_eq!(
        rt.publish(buffered.clone()).await?,
        PublishOutcome::Buffered
    );
    assert_eq!(rt.publish(buffered).await?, PublishOutcome::Duplicate);
    // Ids are checked.
    let bad = msg("paid", "o-1", Some("~x"), None, Vars::new());
    assert!(matches!(
        rt.publish(bad).await,
        Err(RuntimeError::InvalidMessage(_))
    ));
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_event_based_gateway_takes_the_message_or_the_timer_never_both() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 1), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&race()).await?;
    let a = start(&rt, "a", "o-1").await;
    let b = start(&rt, "b", "o-2").await;
    settled(&rt, &b).await;
    // a: the message wins.
    let out = rt
        .publish(msg("paid", "o-1", None, None, Vars::new()))
        .await?;
    assert_eq!(
        out,
        PublishOutcome::Correlated {
            instance: a.clone()
        }
    );
    let done = settled(&rt, &a).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(
        done.executed.get("Paid"),
        None,
        "catch events are not tasks"
    );
    // b: the timer wins; a message arriving later is buffered, not lost.
    clock.advance(10 * MIN);
    assert_eq!(settled(&rt, &b).await.status, InstanceStatus::Completed);
    let out = rt
        .publish(msg("paid", "o-2", None, None, Vars::new()))
        .await?;
    assert_eq!(out, PublishOutcome::Buffered);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_message_racing_the_gateways_timer_is_buffered_not_lost() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 1), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&race()).await?;
    let a = start(&rt, "a", "o-1").await;
    settled(&rt, &a).await;
    // The timer falls due and the message is published before either is
    // applied: whichever the shard takes first wins. On this (current
    // thread) runtime the timer does, and the correlator, which still
    // believed the subscription open, has its delivery refused.
    clock.advance(10 * MIN);
    let out = rt
        .publish(msg("paid", "o-1", Some("late"), None, Vars::new()))
        .await?;
    assert_eq!(out, PublishOutcome::Buffered, "refused, then buffered");
    let done = settled(&rt, &a).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    let rows = rt.store().messages_for("paid", "o-1", clock.now()).await?;
    assert_eq!(
        rows.len(),
        1,
        "the message is kept for the next subscription"
    );
    // And it is taken by the next one (at once: its timer is not due).
    let b = start(&rt, "b", "o-1").await;
    let done = settled(&rt, &b).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert!(
        rt.store()
            .messages_for("paid", "o-1", clock.now())
            .await?
            .is_empty()
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn messages_correlate_across_shards() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 4), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&paid()).await?;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(start(&rt, &format!("i{i}"), &format!("o-{i}")).await);
    }
    for id in &ids {
        settled(&rt, id).await;
    }
    // A subscription is announced to the correlator with its commit,
    // before the instance counts as settled: these go straight to it.
    for (i, id) in ids.iter().enumerate() {
        let m = msg(
            "paid",
            &format!("o-{i}"),
            Some(&format!("m{i}")),
            None,
            Vars::new(),
        );
        let want = PublishOutcome::Correlated {
            instance: id.clone(),
        };
        assert_eq!(rt.publish(m).await?, want);
    }
    // These are buffered for instances that start later.
    for i in 40..60 {
        let m = msg("paid", &format!("o-{i}"), None, None, Vars::new());
        assert_eq!(rt.publish(m).await?, PublishOutcome::Buffered);
    }
    for i in 40..60 {
        ids.push(start(&rt, &format!("i{i}"), &format!("o-{i}")).await);
    }
    for id in &ids {
        assert_eq!(
            settled(&rt, id).await.status,
            InstanceStatus::Completed,
            "{id}"
        );
    }
    rt.shutdown().await?;
    Ok(())
}

async fn sqlite(path: &Path) -> SqliteStore {
    SqliteStore::open(path).unwrap()
}

#[tokio::test]
async fn buffered_messages_subscriptions_and_consumed_ids_survive_a_restart() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let a;
    {
        let rt = Runtime::start(opts(&clock, 1), sqlite(&path).await, Handlers::new()).await?;
        rt.deploy(&paid()).await?;
        a = start(&rt, "a", "o-1").await;
        settled(&rt, &a).await;
        let m = msg("paid", "o-9", Some("early"), None, vars(json!({ "k": 9 })));
        assert_eq!(rt.publish(m).await?, PublishOutcome::Buffered);
        let consumed = msg("paid", "o-7", Some("seen"), None, Vars::new());
        assert_eq!(rt.publish(consumed).await?, PublishOutcome::Buffered);
        let c = start(&rt, "c", "o-7").await;
        assert_eq!(settled(&rt, &c).await.status, InstanceStatus::Completed);
        rt.shutdown().await?;
    }
    let rt = Runtime::start(opts(&clock, 2), sqlite(&path).await, Handlers::new()).await?;
    // The recovered instance's subscription is announced again.
    let out = rt
        .publish(msg("paid", "o-1", None, None, Vars::new()))
        .await?;
    assert_eq!(out, PublishOutcome::Correlated { instance: a });
    // The buffered one is still there, the consumed id still known.
    let seen = msg("paid", "o-7", Some("seen"), None, Vars::new());
    assert_eq!(rt.publish(seen).await?, PublishOutcome::Duplicate);
    let b = start(&rt, "b", "o-9").await;
    let done = settled(&rt, &b).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("k"), Some(&json!(9)));
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_consumed_id_is_forgotten_after_its_retention() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let options = RuntimeOptions {
        message_id_retention: Duration::from_secs(60),
        ..opts(&clock, 1)
    };
    let rt = Runtime::start(options, MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&paid()).await?;
    let a = start(&rt, "a", "o-1").await;
    settled(&rt, &a).await;
    let m = msg("paid", "o-1", Some("x"), None, Vars::new());
    assert!(matches!(
        rt.publish(m.clone()).await?,
        PublishOutcome::Correlated { .. }
    ));
    assert_eq!(rt.publish(m.clone()).await?, PublishOutcome::Duplicate);
    clock.advance(MIN);
    // Known no more: published again (and buffered: nothing waits).
    assert_eq!(rt.publish(m).await?, PublishOutcome::Buffered);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn signals_to_one_instance_are_kept_until_consumed_and_broadcasts_reach_every_waiter()
-> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 3), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&go()).await?;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(start(&rt, &format!("s{i}"), "-").await);
    }
    for id in &ids {
        assert_eq!(settled(&rt, id).await.status, InstanceStatus::Running);
    }
    rt.signal(&ids[0], "go", vars(json!({ "who": "me" })))
        .await?;
    let done = settled(&rt, &ids[0]).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("who"), Some(&json!("me")));
    // A signal nothing waits for is kept by the instance (it is its
    // history); an unknown instance is an error.
    rt.signal(&ids[1], "later", Vars::new()).await?;
    assert!(
        rt.signal(&InstanceRef::new("nope", "1"), "go", Vars::new())
            .await
            .is_err()
    );
    let n = rt.broadcast("go", vars(json!({ "all": true }))).await?;
    assert_eq!(n, 5);
    for id in &ids[1..] {
        let done = settled(&rt, id).await;
        assert_eq!(done.status, InstanceStatus::Completed, "{id}");
        assert_eq!(done.variables.get("all"), Some(&json!(true)));
    }
    assert_eq!(
        rt.broadcast("go", Vars::new()).await?,
        0,
        "nothing waits any more"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_message_start_event_starts_an_instance_when_no_instance_waits() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let placed = |order: &str, id: &str| Message {
        name: "order-placed".into(),
        correlation_key: None,
        message_id: Some(id.into()),
        vars: vars(json!({ "order": order })),
        ttl_millis: None,
    };
    let first;
    {
        let rt = Runtime::start(opts(&clock, 2), sqlite(&path).await, Handlers::new()).await?;
        rt.deploy(&started_by_events()).await?;
        let out = rt.publish(placed("7", "p-7")).await?;
        let PublishOutcome::Started { instances } = out else {
            panic!("not started: {out:?}");
        };
        assert_eq!(instances.len(), 1);
        first = instances[0].clone();
        assert_eq!(first.id.as_str(), "order-7", "the instanceId template");
        let out = settled(&rt, &first).await;
        assert_eq!(out.status, InstanceStatus::Running, "waits for paid");
        // The same message id again: a duplicate, no second instance.
        assert_eq!(
            rt.publish(placed("7", "p-7")).await?,
            PublishOutcome::Duplicate
        );
        // Another order with the same live instance id clashes: an error,
        // and the id is not consumed (a retry later may start it).
        let err = rt.publish(placed("7", "p-7b")).await.unwrap_err();
        assert!(matches!(err, RuntimeError::InstanceExists(_)), "{err}");
        rt.shutdown().await?;
    }
    // After a restart the start event is indexed again from the store and
    // the consumed id is still known.
    let rt = Runtime::start(opts(&clock, 2), sqlite(&path).await, Handlers::new()).await?;
    assert_eq!(
        rt.publish(placed("7", "p-7")).await?,
        PublishOutcome::Duplicate
    );
    let out = rt.publish(placed("8", "p-8")).await?;
    assert!(
        matches!(&out, PublishOutcome::Started { instances } if instances[0].id.as_str() == "order-8"),
        "{out:?}"
    );
    // A message for the waiting instance still goes to it, not to a start.
    let paid = msg("paid", "7", None, None, Vars::new());
    assert_eq!(
        rt.publish(paid).await?,
        PublishOutcome::Correlated {
            instance: first.clone()
        }
    );
    assert_eq!(settled(&rt, &first).await.status, InstanceStatus::Completed);
    // The publication refused earlier (its id was not consumed) now starts
    // a new run of order-7.
    let out = rt.publish(placed("7", "p-7b")).await?;
    let PublishOutcome::Started { instances } = out else {
        panic!("not started: {out:?}");
    };
    assert_eq!(instances[0].id.as_str(), "order-7");
    assert_ne!(instances[0].run, first.run, "a new run");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_broadcast_starts_processes_with_a_signal_start_event() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 1), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&started_by_events()).await?;
    let n = rt
        .broadcast("audit", vars(json!({ "order": "a1" })))
        .await?;
    assert_eq!(n, 1, "one process has a signal start event for it");
    let id = InstanceRef::new("order-a1", "-");
    let rows = rt
        .store()
        .query_instances(&windlass_store_api::InstanceQuery::default())
        .await?;
    let row = rows.iter().find(|r| r.instance.id == id.id).unwrap();
    assert_eq!(
        row.status,
        InstanceStatus::Completed,
        "went straight to its end"
    );
    assert_eq!(rt.broadcast("nobody-listens", Vars::new()).await?, 0);
    rt.shutdown().await?;
    Ok(())
}

/// Signal-with-start: the live run of the id takes the signal; with none
/// (no run yet, or only finished ones) a new run is started and signalled
/// in the same commit.
#[tokio::test]
async fn signal_with_start_signals_the_live_run_or_starts_one() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 2), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&go()).await?;
    let req = |id: &str| StartRequest {
        instance_id: Some(id.to_string()),
        vars: vars(json!({ "from": "start" })),
        ..StartRequest::new("p")
    };
    // No run yet: started and signalled at once.
    let first = rt
        .signal_with_start(req("sws"), "go", vars(json!({ "who": "a" })))
        .await?;
    let done = settled(&rt, &first).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("from"), Some(&json!("start")));
    assert_eq!(done.variables.get("who"), Some(&json!("a")));
    // Only a finished run: a new run is created under the same id.
    let second = rt
        .signal_with_start(req("sws"), "go", vars(json!({ "who": "b" })))
        .await?;
    assert_eq!(second.id, first.id);
    assert_ne!(second.run, first.run);
    assert_eq!(
        settled(&rt, &second).await.status,
        InstanceStatus::Completed
    );
    // A live run takes the signal; nothing new is started.
    let live = rt.start_instance(req("other")).await?;
    assert_eq!(settled(&rt, &live).await.status, InstanceStatus::Running);
    let signalled = rt
        .signal_with_start(req("other"), "go", vars(json!({ "who": "c" })))
        .await?;
    assert_eq!(signalled, live);
    let done = settled(&rt, &live).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("who"), Some(&json!("c")));
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_receive_task_takes_a_message_published_after_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = Runtime::start(opts(&clock, 2), sqlite(&path).await, Handlers::new()).await?;
    rt.deploy(&receive()).await?;
    let a = start(&rt, "a", "o-1").await;
    let out = settled(&rt, &a).await;
    assert_eq!(out.status, InstanceStatus::Running, "no job: it waits");
    rt.shutdown().await?;
    drop(rt);

    let rt = Runtime::start(opts(&clock, 2), sqlite(&path).await, Handlers::new()).await?;
    let published = rt
        .publish(msg("paid", "o-1", None, None, vars(json!({ "amount": 5 }))))
        .await?;
    assert_eq!(
        published,
        PublishOutcome::Correlated {
            instance: a.clone()
        }
    );
    let done = settled(&rt, &a).await;
    assert_eq!(done.status, InstanceStatus::Completed);
    assert_eq!(done.variables.get("amount"), Some(&json!(5)));
    assert_eq!(
        done.executed.get("Paid"),
        Some(&1),
        "counted as an activity"
    );
    rt.shutdown().await?;
    Ok(())
}
