//! A cancelled job never runs (review R1): the runtime checks each job
//! against the instance's state after the whole group before handing it to
//! a handler, on both paths a job takes to its handler — the `RunJob` of a
//! group and a retry's `Due` after its backoff.
//!
//! The process runs "Each" over `["bad", "ok"]` in parallel and stops at
//! the first completed item; "bad" fails retryably, so its second attempt
//! is created and then cancelled when "ok" completes.
#![allow(clippy::unwrap_used)]

mod common;

use common::gated::Gated;
use common::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, oneshot};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::InstanceStatus;
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp, Vars};

/// start → "Each" over `items` (parallel, done after one completion,
/// `backoff` between 3 attempts) → end.
fn first_of_two(backoff: &str) -> String {
    doc(&format!(
        r#"<process id="p" isExecutable="true" xmlns:windlass="urn:windlass:bpmn:1">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="each"/>
  <serviceTask id="each" name="Each">
    <extensionElements><windlass:task kind="each" retries="3" backoff="{backoff}"/></extensionElements>
    <multiInstanceLoopCharacteristics isSequential="false">
      <loopDataInputRef>items</loopDataInputRef>
      <inputDataItem name="item"/>
      <completionCondition>nrOfCompletedInstances &gt;= 1</completionCondition>
    </multiInstanceLoopCharacteristics>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="each" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

fn items() -> StartRequest {
    let mut req = StartRequest::new("p");
    let mut vars = Vars::new();
    vars.insert("items".into(), serde_json::json!(["bad", "ok"]));
    req.vars = vars;
    req
}

fn item(job: &Job) -> String {
    job.request
        .inputs
        .get("item")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
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

/// Both answers land in one group: "bad" fails (attempt 2 is created), then
/// "ok" completes and the completion condition cancels attempt 2. Attempt 2
/// must not be handed to the handler after the commit.
#[tokio::test]
async fn a_job_cancelled_later_in_its_group_is_not_dispatched() -> anyhow::Result<()> {
    let bad_calls = Arc::new(AtomicUsize::new(0));
    let seen = bad_calls.clone();
    let handlers = Handlers::new().on_name("Each", move |job: &Job| {
        if item(job) == "bad" {
            seen.fetch_add(1, Ordering::SeqCst);
            HandlerResult::Ready(JobOutcome::technical("try again", true))
        } else {
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        }
    });
    let opts = RuntimeOptions {
        shards: 1,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, MemoryStore::new(), handlers).await?;
    rt.deploy(&first_of_two("PT0S")).await?;
    let id = rt.start_instance(items()).await?;
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    // Let anything wrongly dispatched reach the handler.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        bad_calls.load(Ordering::SeqCst),
        1,
        "the cancelled second attempt of 'bad' ran"
    );
    rt.shutdown().await?;
    Ok(())
}

/// The retry of "bad" comes due (its `Due` is taken) in the same group in
/// which "ok" completes and cancels it: the retry must not run. Commits are
/// held at a gate so both answers wait for one group, the `Due` first.
#[tokio::test]
async fn a_retry_cancelled_in_the_group_of_its_due_is_not_dispatched() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(1_700_000_000_000)));
    let bad_calls = Arc::new(AtomicUsize::new(0));
    let seen = bad_calls.clone();
    let (ok_tx, ok_rx) = oneshot::channel::<()>();
    let ok_rx = Arc::new(Mutex::new(Some(ok_rx)));
    let ok_done = Arc::new(AtomicBool::new(false));
    let ok_flag = ok_done.clone();
    let handlers = Handlers::new()
        .on_name("Each", move |job: &Job| {
            if item(job) == "bad" {
                seen.fetch_add(1, Ordering::SeqCst);
                return HandlerResult::Ready(JobOutcome::technical("try again", true));
            }
            let rx = ok_rx.lock().unwrap().take();
            let flag = ok_flag.clone();
            HandlerResult::Pending(Box::pin(async move {
                if let Some(rx) = rx {
                    let _ = rx.await;
                }
                flag.store(true, Ordering::SeqCst);
                JobOutcome::done(Default::default())
            }))
        })
        .on_name("Work", |_: &Job| HandlerResult::External);
    let entered = Arc::new(Notify::new());
    let permits = Arc::new(Semaphore::new(1_000_000));
    let mut store = Gated::new(MemoryStore::new());
    store.gate = Some((entered.clone(), permits.clone()));
    let opts = RuntimeOptions {
        shards: 1,
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    let rt = Arc::new(Runtime::start(opts, store, handlers).await?);
    rt.deploy(&first_of_two("PT1M")).await?;
    rt.deploy(&simple("other")).await?;
    let id = rt.start_instance(items()).await?;
    // Attempt 1 of "bad" failed; its retry waits a minute of the clock.
    until("the retry timer", || clock.sleepers() > 0).await;
    assert_eq!(bad_calls.load(Ordering::SeqCst), 1);
    // Close the gate and make the shard wait in a commit (the earlier
    // commits left one stored notification: drop it first).
    let _ = tokio::time::timeout(Duration::from_millis(20), entered.notified()).await;
    let open = permits.available_permits();
    permits.acquire_many(open as u32).await?.forget();
    let blocker = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.start_instance(StartRequest::new("other")).await })
    };
    entered.notified().await;
    // Meanwhile the retry comes due, then "ok" answers.
    clock.advance(60_000);
    until("the retry's wake-up", || clock.sleepers() == 0).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    ok_tx.send(()).ok();
    until("the answer of 'ok'", || ok_done.load(Ordering::SeqCst)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    permits.add_permits(1_000_000);
    blocker.await??;
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        bad_calls.load(Ordering::SeqCst),
        1,
        "the cancelled retry of 'bad' ran"
    );
    rt.shutdown().await?;
    Ok(())
}
