//! The injected clock is the runtime's one time source: a retry's backoff
//! and a job's timeout are times of the clock, so a test moving a
//! `MockClock` fires them without real sleeping.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::InstanceStatus;
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp};

/// start → "Flaky" (3 attempts, four minutes between them, a day's
/// timeout) → end.
fn flaky() -> String {
    doc(
        r#"<process id="p" isExecutable="true" xmlns:windlass="urn:windlass:bpmn:1">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Flaky">
    <extensionElements><windlass:task kind="flaky" retries="3" backoff="PT4M" timeout="P1D"/></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>"#,
    )
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn a_retry_fires_when_the_mock_clock_is_advanced() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(1_700_000_000_000)));
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let handlers = Handlers::new().on_name("Flaky", move |_: &Job| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            HandlerResult::Ready(JobOutcome::technical("try again", true))
        } else {
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        }
    });
    let opts = RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, MemoryStore::new(), handlers).await?;
    rt.deploy(&flaky()).await?;
    let t0 = Instant::now();
    let id = rt.start_instance(StartRequest::new("p")).await?;
    // The first attempt failed; the retry waits for the clock (4 minutes).
    until("the retry timer", || clock.sleepers() > 0).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    clock.advance(3 * 60 * 1_000);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "not before its time");
    clock.advance(60 * 1_000);
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "no real minutes slept"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_job_timeout_is_a_time_of_the_clock() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(1_700_000_000_000)));
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let handlers = Handlers::new().on_name("Flaky", move |_: &Job| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            // Never answers: only the timeout ends this attempt.
            HandlerResult::Pending(Box::pin(std::future::pending()))
        } else {
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        }
    });
    let opts = RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, MemoryStore::new(), handlers).await?;
    rt.deploy(&flaky()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    until("the timeout's wait", || clock.sleepers() > 0).await;
    clock.advance(24 * 3_600 * 1_000);
    // Timed out → retry after an hour of the clock.
    until("the retry timer", || {
        clock.sleepers() > 0 && calls.load(Ordering::SeqCst) == 1
    })
    .await;
    clock.advance(3_600 * 1_000);
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    rt.shutdown().await?;
    Ok(())
}
