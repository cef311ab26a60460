//! Control through the runtime, on a `MockClock` (no sleeps): cancel with an
//! open external job (its handler's token fires, its outbox row is
//! completed) and with a child instance (terminated); a child cancelled on
//! its own (its parent sees `windlass:cancelled`); terminate; suspend
//! (a job answer is recorded but nothing new is dispatched — retries
//! included — and due timers are held) and resume; a suspended instance
//! stays suspended across a restart on SQLite.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use windlass_engine::Event;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeError, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceStatus, OutboxRead};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// start → "First" → "Second" → end.
fn two_tasks() -> String {
    doc(r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
  <serviceTask id="first" name="First"/>
  <sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
  <serviceTask id="second" name="Second"/>
  <sequenceFlow id="f3" sourceRef="second" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

fn opts(clock: &Arc<MockClock>) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    }
}

#[tokio::test]
async fn cancel_stops_an_open_external_job_and_completes_its_row() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let handlers = Handlers::new().on_name("First", external(handed.clone()));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&two_tasks()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    assert_eq!(settled(&rt, &id).await.status, InstanceStatus::Running);
    assert_eq!(rt.store().pending_outbox().await?.len(), 1);
    let (key, token) = handed.lock().unwrap()[0].clone();
    assert!(!token.is_cancelled());

    rt.cancel(&id, "not needed").await?;
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Cancelled);
    assert_eq!(out.failure.as_deref(), Some("cancelled: not needed"));
    assert!(token.is_cancelled(), "the handler's token fires");
    assert!(rt.store().pending_outbox().await?.is_empty());
    assert!(matches!(
        events(&rt, &id).await.last(),
        Some(Event::InstanceCancelled { reason }) if reason == "not needed"
    ));
    // The worker's late answer is refused; a second cancel too.
    let late = rt.complete_job(&key, Default::default()).await;
    assert!(late.is_err(), "{late:?}");
    let again = rt.cancel(&id, "again").await;
    assert!(again.is_err(), "{again:?}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn cancelling_a_parent_terminates_its_child() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let handlers = Handlers::new().on_name("Inside", external(handed.clone()));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&parent_and_child()).await?;
    let id = rt.start_instance(StartRequest::new("parent")).await?;
    let out = settled(&rt, &id).await;
    let child = out.called[0].clone();
    assert_eq!(settled(&rt, &child).await.status, InstanceStatus::Running);

    rt.cancel(&id, "stop the tree").await?;
    assert_eq!(finished(&rt, &id).await.status, InstanceStatus::Cancelled);
    let c = finished(&rt, &child).await;
    assert_eq!(c.status, InstanceStatus::Terminated);
    assert!(handed.lock().unwrap()[0].1.is_cancelled());
    assert!(rt.store().pending_outbox().await?.is_empty());
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_child_cancelled_by_an_operator_fails_its_call_activity_with_the_cancel_code()
-> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let handlers = Handlers::new().on_name("Inside", external(handed.clone()));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&parent_and_child()).await?;
    let id = rt.start_instance(StartRequest::new("parent")).await?;
    let child = settled(&rt, &id).await.called[0].clone();
    settled(&rt, &child).await;

    rt.cancel(&child, "not this one").await?;
    assert_eq!(
        finished(&rt, &child).await.status,
        InstanceStatus::Cancelled
    );
    // Nothing in the parent catches `windlass:cancelled`: it fails.
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Failed);
    let failure = out.failure.unwrap_or_default();
    assert!(
        failure.contains("windlass:cancelled") && failure.contains("not this one"),
        "{failure}"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn terminate_ends_the_instance_at_once() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let handlers = Handlers::new().on_name("First", external(handed.clone()));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&two_tasks()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &id).await;
    rt.terminate(&id, "by hand").await?;
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Terminated);
    assert!(handed.lock().unwrap()[0].1.is_cancelled());
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_suspended_instance_records_answers_but_dispatches_nothing_until_resumed()
-> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let second = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new()
        .on_name("First", external(handed.clone()))
        .on_name("Second", counting(second.clone(), "second"));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&two_tasks()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &id).await;
    let key = handed.lock().unwrap()[0].0.clone();

    rt.suspend(&id, "freeze").await?;
    let refused = rt.suspend(&id, "twice").await;
    assert!(
        matches!(refused, Err(RuntimeError::Rejected { .. })),
        "{refused:?}"
    );
    rt.complete_job(&key, Default::default()).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert!(out.suspended);
    assert_eq!(
        out.executed.get("First"),
        Some(&1),
        "the answer is recorded"
    );
    assert_eq!(
        second.load(Ordering::SeqCst),
        0,
        "nothing new is dispatched"
    );
    assert!(
        rt.store().pending_outbox().await?.is_empty(),
        "a held job has no outbox row"
    );

    rt.resume(&id).await?;
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert!(!out.suspended);
    assert_eq!(second.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_retry_that_falls_due_while_suspended_runs_after_resume() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    let handlers = Handlers::new()
        .on_name("First", external(handed.clone()))
        .on_name("Second", move |_: &Job| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                HandlerResult::Ready(JobOutcome::technical("flaky", true))
            } else {
                HandlerResult::Ready(JobOutcome::done(Default::default()))
            }
        });
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&two_tasks()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &id).await;
    let key = handed.lock().unwrap()[0].0.clone();
    rt.complete_job(&key, Default::default()).await?;
    // The first attempt failed; the retry waits 1 s (default backoff).
    tokio::time::timeout(Duration::from_secs(20), async {
        while attempts.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await?;
    rt.suspend(&id, "freeze").await?;
    clock.advance(2_000);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "the due retry is held");

    rt.resume(&id).await?;
    assert_eq!(finished(&rt, &id).await.status, InstanceStatus::Completed);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_timer_due_while_suspended_fires_only_after_resume() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let after = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("After", counting(after.clone(), "after"));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&timer_catch()).await?;
    let id = rt.start_instance(StartRequest::new("t")).await?;
    settled(&rt, &id).await;
    rt.suspend(&id, "freeze").await?;
    clock.advance(20 * MIN);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert_eq!(after.load(Ordering::SeqCst), 0, "the timer is held");
    assert!(
        !events(&rt, &id)
            .await
            .iter()
            .any(|e| matches!(e, Event::TimerFired { .. }))
    );

    rt.resume(&id).await?;
    assert_eq!(finished(&rt, &id).await.status, InstanceStatus::Completed);
    assert_eq!(after.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_suspended_instance_stays_suspended_across_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let after = Arc::new(AtomicUsize::new(0));
    let start = |after: Arc<AtomicUsize>| {
        let handlers = Handlers::new().on_name("After", counting(after, "after"));
        Runtime::start(opts(&clock), SqliteStore::open(&path).unwrap(), handlers)
    };
    let rt = start(after.clone()).await?;
    rt.deploy(&timer_catch()).await?;
    let id = rt.start_instance(StartRequest::new("t")).await?;
    settled(&rt, &id).await;
    rt.suspend(&id, "freeze").await?;
    rt.shutdown().await?;
    drop(rt);

    // Down while the timer falls due: at start it is due, and held again.
    clock.advance(20 * MIN);
    let rt = start(after.clone()).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert!(out.suspended, "still suspended after the restart");
    assert_eq!(after.load(Ordering::SeqCst), 0);

    rt.resume(&id).await?;
    assert_eq!(finished(&rt, &id).await.status, InstanceStatus::Completed);
    assert_eq!(after.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;
    Ok(())
}
