//! Event sub-processes started by a timer, a message and a signal, through
//! the runtime on SQLite with a `MockClock`: the listeners open when the
//! process starts, survive a restart, a non-interrupting timer cycle and
//! signal run their sub-process beside the main flow, and an interrupting
//! message (correlated by key through the correlator) cancels everything
//! else. Uses `examples/canary-rollout.bpmn`, so the example is what is
//! tested.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_engine::Event;
use windlass_runtime::{
    Handlers, InstanceOutcome, Message, PublishOutcome, Runtime, RuntimeHandle, RuntimeOptions,
    StartRequest,
};
use windlass_store_api::{InstanceRef, InstanceStatus, Store};
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp, Vars};

const CANARY: &str = include_str!("../../../examples/canary-rollout.bpmn");

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// Counts per task node, shared across restarts.
#[derive(Default)]
struct Counts {
    deploy: Arc<AtomicUsize>,
    report: Arc<AtomicUsize>,
    post: Arc<AtomicUsize>,
    undo: Arc<AtomicUsize>,
    promote: Arc<AtomicUsize>,
}

async fn on_file(path: &Path, clock: &Arc<MockClock>, c: &Counts) -> RuntimeHandle<SqliteStore> {
    let handlers = Handlers::new()
        .on_node("deploy", counting(c.deploy.clone(), "deployed"))
        .on_node("report", counting(c.report.clone(), "reports"))
        .on_node("post", counting(c.post.clone(), "posts"))
        .on_node("undo", counting(c.undo.clone(), "undone"))
        .on_node("promote", counting(c.promote.clone(), "promoted"));
    let opts = RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    Runtime::start(opts, SqliteStore::open(path).unwrap(), handlers)
        .await
        .unwrap()
}

async fn rollout<S: Store>(rt: &RuntimeHandle<S>, service: &str) -> InstanceRef {
    let mut req = StartRequest::new("canary-rollout");
    req.vars.insert("service".into(), json!(service));
    rt.start_instance(req).await.unwrap()
}

/// The due times of the instance's timer rows, relative to `T0`, sorted.
async fn timer_rows<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> Vec<i64> {
    let mut due: Vec<i64> = (rt.store().timers_of(id).await.unwrap().iter())
        .map(|r| r.due_at.millis() - T0)
        .collect();
    due.sort();
    due
}

fn ran(out: &InstanceOutcome, node: &str) -> u32 {
    out.executed.get(node).copied().unwrap_or(0)
}

fn rollback(service: &str) -> Message {
    Message {
        name: "rollback-requested".into(),
        correlation_key: Some(service.into()),
        message_id: None,
        vars: Vars::new(),
        ttl_millis: Some(0),
    }
}

#[tokio::test]
async fn listeners_survive_a_restart_then_a_message_rolls_the_canary_back() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let c = Counts::default();
    let rt = on_file(&path, &clock, &c).await;
    rt.deploy(CANARY).await?;
    let a = rollout(&rt, "checkout").await;
    let b = rollout(&rt, "search").await;
    let out = settled(&rt, &a).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert_eq!(ran(&out, "Deploy canary of checkout"), 1, "{out:?}");
    // The soak timer and the progress listener's first occurrence.
    assert_eq!(timer_rows(&rt, &a).await, vec![10 * MIN, 30 * MIN]);
    rt.shutdown().await?;
    drop(rt);

    let rt = on_file(&path, &clock, &c).await;
    assert_eq!(
        timer_rows(&rt, &a).await,
        vec![10 * MIN, 30 * MIN],
        "re-armed"
    );
    // The cycle's first occurrence runs the progress report beside the soak.
    clock.advance(10 * MIN);
    let out = settled(&rt, &a).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert_eq!(c.report.load(Ordering::SeqCst), 2, "one per instance");
    assert_eq!(timer_rows(&rt, &a).await, vec![20 * MIN, 30 * MIN]);
    // A signal to one instance runs its status sub-process; the listener
    // stays open for the next one.
    rt.signal(&a, "status-requested", Vars::new()).await?;
    rt.signal(&a, "status-requested", Vars::new()).await?;
    let out = settled(&rt, &a).await;
    assert_eq!(c.post.load(Ordering::SeqCst), 2);
    assert_eq!(out.status, InstanceStatus::Running);
    // The message correlates by the service name through the correlator:
    // only "checkout" rolls back, cancelling its soak and its reports.
    let published = rt.publish(rollback("checkout")).await?;
    assert_eq!(
        published,
        PublishOutcome::Correlated {
            instance: a.clone()
        }
    );
    let out = finished(&rt, &a).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(c.undo.load(Ordering::SeqCst), 1);
    assert!(timer_rows(&rt, &a).await.is_empty(), "timers closed");
    let history = events(&rt, &a).await;
    assert!(
        history
            .iter()
            .any(|e| matches!(e, Event::InstanceCompleted)),
        "{history:?}"
    );
    // A second rollback finds nothing waiting for it: the listener closed.
    let again = rt.publish(rollback("checkout")).await?;
    assert_eq!(again, PublishOutcome::Dropped);
    // "search" soaks on and is promoted; its progress cycle (R2) fired
    // twice.
    clock.advance(20 * MIN);
    let out = finished(&rt, &b).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(c.promote.load(Ordering::SeqCst), 1);
    assert_eq!(c.report.load(Ordering::SeqCst), 3, "two for search");
    assert_eq!(c.undo.load(Ordering::SeqCst), 1);
    assert!(timer_rows(&rt, &b).await.is_empty());
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_rollback_published_before_the_listener_opens_waits_in_the_buffer() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let c = Counts::default();
    let rt = on_file(&path, &clock, &c).await;
    rt.deploy(CANARY).await?;
    let mut early = rollback("billing");
    early.ttl_millis = Some((5 * MIN) as u64);
    assert_eq!(rt.publish(early).await?, PublishOutcome::Buffered);
    // The instance opens its listener and takes the buffered message: it
    // rolls back at once.
    let id = rollout(&rt, "billing").await;
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(c.undo.load(Ordering::SeqCst), 1);
    assert_eq!(c.promote.load(Ordering::SeqCst), 0);
    assert!(timer_rows(&rt, &id).await.is_empty());
    rt.shutdown().await?;
    Ok(())
}
