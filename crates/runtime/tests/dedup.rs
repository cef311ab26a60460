//! Deduplication through the runtime, on a `MockClock`: one instance holds
//! a dedup key, the latest claim waits and the one before it is superseded
//! (naming its successor); every terminal path releases the key; keys are
//! per process and key; coalesced starts create no instance while the key
//! is held; holders, waiters and held-back starts survive a restart on
//! SQLite; a new claim racing the holder's end gets the key either way.
#![allow(clippy::unwrap_used)]

mod common;

use common::{doc, events, finished, settled};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use windlass_engine::Event;
use windlass_runtime::{
    DedupOutcome, HandlerResult, Handlers, Job, PublishOutcome, Runtime, RuntimeHandle,
    RuntimeOptions, StartRequest,
};
use windlass_store_api::{
    DedupRead, InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus, Store, StoreWrite,
};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp, Vars};

const T0: i64 = 1_767_225_600_000;

/// start → "Work" (carrying the dedup key `{key}`) → end.
fn region() -> String {
    doc(r#"<process id="r" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work">
    <extensionElements><windlass:dedup key="{key}"/></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
    .replace(
        "<definitions ",
        r#"<definitions xmlns:windlass="urn:windlass:bpmn:1" "#,
    )
}

/// A start event carrying the key `{key}` → "Work" → end.
fn coalescing() -> String {
    doc(r#"<process id="c" isExecutable="true">
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{key}"/></extensionElements>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
    .replace(
        "<definitions ",
        r#"<definitions xmlns:windlass="urn:windlass:bpmn:1" "#,
    )
}

/// Jobs handed to the external "worker": (instance id, job key).
type Jobs = mpsc::UnboundedReceiver<(String, String)>;

fn handlers() -> (Handlers, Jobs) {
    let (tx, rx) = mpsc::unbounded_channel();
    let h = Handlers::new().on_name("Work", move |job: &Job| {
        let _ = tx.send((job.instance.id.0.clone(), job.key.clone()));
        HandlerResult::External
    });
    (h, rx)
}

fn opts(clock: &Arc<MockClock>) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    }
}

fn vars(key: &str) -> Vars {
    Vars::from_iter([("key".to_string(), serde_json::json!(key))])
}

fn start(process: &str, id: &str, key: &str) -> StartRequest {
    StartRequest {
        instance_id: Some(id.to_string()),
        vars: vars(key),
        ..StartRequest::new(process)
    }
}

/// The next job handed out (the grant and dispatch are asynchronous).
async fn next_job(jobs: &mut Jobs) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(20), jobs.recv())
        .await
        .expect("a job is handed out")
        .unwrap()
}

/// No job is handed out while the runtime has nothing left to do.
async fn no_job<S: Store>(rt: &RuntimeHandle<S>, ids: &[&InstanceRef], jobs: &mut Jobs) {
    for id in ids {
        settled(rt, id).await;
    }
    assert!(jobs.try_recv().is_err(), "no job may run");
}

/// Waits until the dedup table is empty (the last release is committed by
/// the owner after the instance's own commit).
async fn table_empties<S: Store>(rt: &RuntimeHandle<S>) {
    for _ in 0..2_000 {
        if rt.store().dedup_entries().await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "the dedup table still holds {:?}",
        rt.store().dedup_entries().await.unwrap()
    );
}

#[tokio::test]
async fn one_holds_the_latest_waits_and_the_one_before_is_superseded() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&region()).await?;
    let a = rt.start_instance(start("r", "a", "web/shop")).await?;
    let (who, job_a) = next_job(&mut jobs).await;
    assert_eq!(who, "a");
    let b = rt.start_instance(start("r", "b", "web/shop")).await?;
    no_job(&rt, &[&b], &mut jobs).await;
    let c = rt.start_instance(start("r", "c", "web/shop")).await?;
    // b is replaced by c: it ends superseded, naming c.
    let out = finished(&rt, &b).await;
    assert_eq!(out.status, InstanceStatus::Superseded);
    assert_eq!(
        out.failure.as_deref(),
        Some("superseded by 'c' (dedup key 'web/shop')")
    );
    assert!(matches!(
        events(&rt, &b).await.last(),
        Some(Event::InstanceSuperseded { by, key }) if by == "c" && key == "web/shop"
    ));
    no_job(&rt, &[&c], &mut jobs).await;
    // a ends: c gets the key and runs.
    rt.complete_job(&job_a, Vars::new()).await?;
    assert_eq!(finished(&rt, &a).await.status, InstanceStatus::Completed);
    let (who, job_c) = next_job(&mut jobs).await;
    assert_eq!(who, "c");
    rt.complete_job(&job_c, Vars::new()).await?;
    assert_eq!(finished(&rt, &c).await.status, InstanceStatus::Completed);
    table_empties(&rt).await;
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn every_terminal_path_releases_the_key() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&region()).await?;
    let a = rt.start_instance(start("r", "a", "k")).await?;
    next_job(&mut jobs).await;
    let b = rt.start_instance(start("r", "b", "k")).await?;
    no_job(&rt, &[&b], &mut jobs).await;
    // Cancelled holder.
    rt.cancel(&a, "no").await?;
    assert_eq!(finished(&rt, &a).await.status, InstanceStatus::Cancelled);
    assert_eq!(next_job(&mut jobs).await.0, "b");
    let c = rt.start_instance(start("r", "c", "k")).await?;
    no_job(&rt, &[&c], &mut jobs).await;
    // Terminated holder.
    rt.terminate(&b, "by hand").await?;
    let (who, job_c) = next_job(&mut jobs).await;
    assert_eq!(who, "c");
    // Completed holder.
    let d = rt.start_instance(start("r", "d2", "k")).await?;
    no_job(&rt, &[&d], &mut jobs).await;
    rt.complete_job(&job_c, Vars::new()).await?;
    assert_eq!(next_job(&mut jobs).await.0, "d2");
    // A waiter that is cancelled while it waits gives up its place.
    let e = rt.start_instance(start("r", "e", "k")).await?;
    no_job(&rt, &[&e], &mut jobs).await;
    rt.cancel(&e, "never mind").await?;
    assert_eq!(finished(&rt, &e).await.status, InstanceStatus::Cancelled);
    rt.terminate(&d, "done").await?;
    finished(&rt, &d).await;
    table_empties(&rt).await;
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn keys_are_per_key_and_per_process() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&region()).await?;
    rt.deploy(&region().replace(r#"id="r""#, r#"id="r2""#))
        .await?;
    rt.start_instance(start("r", "a", "k1")).await?;
    rt.start_instance(start("r", "b", "k2")).await?;
    rt.start_instance(start("r2", "c", "k1")).await?;
    let mut who = vec![
        next_job(&mut jobs).await.0,
        next_job(&mut jobs).await.0,
        next_job(&mut jobs).await.0,
    ];
    who.sort();
    assert_eq!(who, vec!["a", "b", "c"]);
    // A key that cannot be rendered is an incident naming it.
    let bad = rt
        .start_instance(StartRequest {
            instance_id: Some("bad".into()),
            ..StartRequest::new("r")
        })
        .await?;
    let out = settled(&rt, &bad).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    rt.shutdown().await?;
    Ok(())
}

async fn instances_of<S: Store>(rt: &RuntimeHandle<S>) -> Vec<InstanceRef> {
    rt.store()
        .query_instances(&InstanceQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.instance)
        .collect()
}

#[tokio::test]
async fn coalesced_starts_create_no_instance_while_the_key_is_held() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&coalescing()).await?;
    let req = |n: u32| StartRequest {
        vars: Vars::from_iter([
            ("key".to_string(), serde_json::json!("web/shop")),
            ("n".to_string(), serde_json::json!(n)),
        ]),
        ..StartRequest::new("c")
    };
    let DedupOutcome::Started(first) = rt.start_coalesced(req(1)).await? else {
        panic!("the first start is made");
    };
    let (_, job) = next_job(&mut jobs).await;
    let mut last = None;
    for n in 2..=50 {
        match rt.start_coalesced(req(n)).await? {
            DedupOutcome::Queued(r) => last = Some(r),
            other => panic!("start {n}: {other:?}"),
        }
    }
    assert_eq!(instances_of(&rt).await, vec![first.clone()]);
    rt.complete_job(&job, Vars::new()).await?;
    finished(&rt, &first).await;
    // Only the latest queued start is made, with its own variables.
    let (who, job) = next_job(&mut jobs).await;
    let last = last.unwrap();
    assert_eq!(who, last.id.0);
    let out = settled(&rt, &last).await;
    assert_eq!(out.variables.get("n"), Some(&serde_json::json!(50)));
    assert_eq!(instances_of(&rt).await.len(), 2);
    rt.complete_job(&job, Vars::new()).await?;
    finished(&rt, &last).await;
    table_empties(&rt).await;
    // A process whose start event carries no key is refused.
    rt.deploy(&common::simple("plain")).await?;
    let refused = rt.start_coalesced(StartRequest::new("plain")).await;
    assert!(refused.is_err(), "{refused:?}");
    // So is a key that cannot be rendered.
    let refused = rt.start_coalesced(StartRequest::new("c")).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("dedup key")),
        "{refused:?}"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn holders_waiters_and_held_back_starts_survive_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("d.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (a, b, s1, s2) = {
        let (h, mut jobs) = handlers();
        let rt = Runtime::start(opts(&clock), SqliteStore::open(&path)?, h).await?;
        rt.deploy(&region()).await?;
        rt.deploy(&coalescing()).await?;
        let a = rt.start_instance(start("r", "a", "k")).await?;
        next_job(&mut jobs).await;
        let b = rt.start_instance(start("r", "b", "k")).await?;
        no_job(&rt, &[&b], &mut jobs).await;
        let DedupOutcome::Started(s1) = rt.start_coalesced(start("c", "s1", "k")).await? else {
            panic!()
        };
        next_job(&mut jobs).await;
        let DedupOutcome::Queued(s2) = rt.start_coalesced(start("c", "s2", "k")).await? else {
            panic!()
        };
        rt.shutdown().await?;
        (a, b, s1, s2)
    };
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), SqliteStore::open(&path)?, h).await?;
    // The holders' jobs are handed out again; the waiters stay waiting.
    let mut again = [next_job(&mut jobs).await, next_job(&mut jobs).await];
    again.sort();
    assert_eq!(again[0].0, "a");
    assert_eq!(again[1].0, "s1");
    no_job(&rt, &[&a, &b, &s1], &mut jobs).await;
    assert!(
        rt.store().instance(&s2).await?.is_none(),
        "s2 is not made yet"
    );
    rt.complete_job(&again[0].1, Vars::new()).await?;
    assert_eq!(next_job(&mut jobs).await.0, "b");
    rt.complete_job(&again[1].1, Vars::new()).await?;
    assert_eq!(next_job(&mut jobs).await.0, "s2");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_holder_that_ended_while_the_owner_was_stopped_is_released_at_start() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("d.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    {
        let (h, mut jobs) = handlers();
        let rt = Runtime::start(opts(&clock), SqliteStore::open(&path)?, h).await?;
        rt.deploy(&region()).await?;
        rt.start_instance(start("r", "a", "k")).await?;
        next_job(&mut jobs).await;
        let b = rt.start_instance(start("r", "b", "k")).await?;
        no_job(&rt, &[&b], &mut jobs).await;
        rt.shutdown().await?;
    }
    // The row is made to name a holder that does not exist, as if its
    // release had been lost in a crash after the holder ended.
    let store = SqliteStore::open(&path)?;
    let rows = store.dedup_entries().await?;
    assert_eq!(rows.len(), 1);
    let holder = rows[0].running.clone().unwrap().instance;
    let mut batch = windlass_store_api::Batch::new();
    batch.dedup(windlass_store_api::DedupChange::Put(
        windlass_store_api::DedupRow {
            running: Some(windlass_store_api::DedupHolder {
                instance: InstanceRef::new("gone", holder.run.0.clone()),
                token: "claim".into(),
                payload: Vec::new(),
            }),
            ..rows[0].clone()
        },
    ));
    store.commit(batch).await?;
    drop(store);
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), SqliteStore::open(&path)?, h).await?;
    // `gone` does not exist: released at start, so b gets the key (a still
    // runs its job: its claim was granted before, so it is handed out too).
    let mut who = vec![next_job(&mut jobs).await.0, next_job(&mut jobs).await.0];
    who.sort();
    assert_eq!(who, vec!["a", "b"]);
    rt.shutdown().await?;
    Ok(())
}

/// A new claim and the holder's end, sent together: whichever the owner
/// sees first, the new claim ends up holding the key.
#[tokio::test]
async fn a_claim_racing_the_holders_end_gets_the_key() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&region()).await?;
    let mut holder = rt.start_instance(start("r", "r0", "k")).await?;
    let mut job = next_job(&mut jobs).await.1;
    for n in 1..=20 {
        let next_id = format!("r{n}");
        let (done, started) = tokio::join!(
            rt.complete_job(&job, Vars::new()),
            rt.start_instance(start("r", &next_id, "k"))
        );
        done?;
        let next = started?;
        assert_eq!(
            finished(&rt, &holder).await.status,
            InstanceStatus::Completed
        );
        let (who, j) = next_job(&mut jobs).await;
        assert_eq!(who, next_id);
        holder = next;
        job = j;
    }
    rt.shutdown().await?;
    Ok(())
}

/// A message start event carrying the key `{name}` → "Work" → end.
fn watched() -> String {
    doc(r#"<message id="m" name="changed"/>
<process id="w" isExecutable="true">
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{name}"/></extensionElements>
    <messageEventDefinition messageRef="m"/>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
    .replace(
        "<definitions ",
        r#"<definitions xmlns:windlass="urn:windlass:bpmn:1" "#,
    )
}

/// controller-runtime's reconcile pattern: change events for one object
/// arriving while its reconcile runs coalesce into one more run.
#[tokio::test]
async fn message_starts_with_a_dedup_key_coalesce() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&watched()).await?;
    let event = |id: &str| windlass_runtime::Message {
        name: "changed".into(),
        correlation_key: None,
        message_id: Some(id.to_string()),
        vars: Vars::from_iter([("name".to_string(), serde_json::json!("web/shop"))]),
        ttl_millis: None,
    };
    let first = rt.publish(event("e1")).await?;
    let PublishOutcome::Started { instances } = first else {
        panic!("{first:?}")
    };
    let (_, job) = next_job(&mut jobs).await;
    let mut last = None;
    for n in 2..=5 {
        match rt.publish(event(&format!("e{n}"))).await? {
            PublishOutcome::Coalesced { started, queued } => {
                assert!(started.is_empty());
                last = queued.into_iter().next();
            }
            other => panic!("{other:?}"),
        }
    }
    // The ids of coalesced events are consumed too: a repeat is a duplicate.
    assert_eq!(rt.publish(event("e3")).await?, PublishOutcome::Duplicate);
    rt.complete_job(&job, Vars::new()).await?;
    finished(&rt, &instances[0]).await;
    let (who, _) = next_job(&mut jobs).await;
    assert_eq!(Some(who), last.map(|l| l.id.0));
    assert_eq!(instances_of(&rt).await.len(), 2);
    rt.shutdown().await?;
    Ok(())
}

/// A page of events in one call: outcomes in order, keys independent, and
/// a batch with one bad event starts nothing.
#[tokio::test]
async fn a_batch_of_coalesced_starts_is_answered_in_order() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), h).await?;
    rt.deploy(&coalescing()).await?;
    let req = |key: &str| StartRequest {
        vars: vars(key),
        ..StartRequest::new("c")
    };
    let out = rt
        .start_coalesced_many(vec![req("k1"), req("k1"), req("k2"), req("k1"), req("k2")])
        .await?;
    let kinds: Vec<&str> = out
        .iter()
        .map(|o| match o {
            DedupOutcome::Started(_) => "started",
            DedupOutcome::Queued(_) => "queued",
        })
        .collect();
    assert_eq!(kinds, ["started", "queued", "started", "queued", "queued"]);
    next_job(&mut jobs).await;
    next_job(&mut jobs).await;
    let bad = rt
        .start_coalesced_many(vec![req("k3"), StartRequest::new("c")])
        .await;
    assert!(bad.is_err(), "{bad:?}");
    assert_eq!(
        instances_of(&rt).await.len(),
        2,
        "nothing of the bad batch started"
    );
    rt.shutdown().await?;
    Ok(())
}
