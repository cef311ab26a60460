//! Cancellation: a job the engine cancels (here: a parallel branch fails
//! the instance with an uncaught BPMN error) stops its running handler — the
//! future is aborted and the token handed to the handler is cancelled — and
//! shutdown cancels every job's token.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceStatus, OutboxRead};
use windlass_store_memory::MemoryStore;

/// start → fork → "Slow" and "Fail" → join → end.
fn two_branches() -> String {
    doc(r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
  <parallelGateway id="fork"/>
  <sequenceFlow id="f1" sourceRef="fork" targetRef="slow"/>
  <sequenceFlow id="f2" sourceRef="fork" targetRef="fail"/>
  <serviceTask id="slow" name="Slow"/>
  <serviceTask id="fail" name="Fail"/>
  <sequenceFlow id="f3" sourceRef="slow" targetRef="join"/>
  <sequenceFlow id="f4" sourceRef="fail" targetRef="join"/>
  <parallelGateway id="join"/>
  <sequenceFlow id="f5" sourceRef="join" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// Sets its flag when dropped (the handler future was dropped).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Flags: (the handler saw its token cancelled, its future was dropped,
/// it ran to its end).
type Flags = (Arc<AtomicBool>, Arc<AtomicBool>, Arc<AtomicBool>);

/// A handler that works "forever" (an hour), watching its token.
fn slow_handler(flags: Flags) -> impl Fn(&Job) -> HandlerResult {
    move |job: &Job| {
        let (observed, dropped, finished) = flags.clone();
        let token = job.cancel.clone();
        // Work started elsewhere watches the token, as a child process or
        // remote call would.
        tokio::spawn(async move {
            token.cancelled().await;
            observed.store(true, Ordering::SeqCst);
        });
        // Part of the future from the start: dropped with it, polled or not.
        let guard = DropFlag(dropped);
        HandlerResult::Pending(Box::pin(async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            finished.store(true, Ordering::SeqCst);
            JobOutcome::done(Default::default())
        }))
    }
}

async fn eventually(flag: &AtomicBool) -> bool {
    for _ in 0..200 {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_failing_parallel_branch_cancels_the_running_handler() -> anyhow::Result<()> {
    let flags: Flags = Default::default();
    let handlers = Handlers::new()
        .on_name("Slow", slow_handler(flags.clone()))
        .on_name("Fail", |_: &Job| {
            HandlerResult::Ready(JobOutcome::bpmn_error("boom", None))
        });
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers).await?;
    rt.deploy(&two_branches()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Failed);
    assert!(
        eventually(&flags.0).await,
        "the handler observed cancellation"
    );
    assert!(eventually(&flags.1).await, "the handler future was aborted");
    assert!(!flags.2.load(Ordering::SeqCst), "it did not run to its end");
    assert!(rt.store().pending_outbox().await?.is_empty());
    // The runtime stays usable: the cancelled job was uncounted.
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn shutdown_cancels_the_token_of_a_running_job() -> anyhow::Result<()> {
    let flags: Flags = Default::default();
    let handlers = Handlers::new().on_name("Work", slow_handler(flags.clone()));
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers).await?;
    rt.deploy(&simple("p")).await?;
    rt.start_instance(StartRequest::new("p")).await?;
    assert!(
        !eventually_short(&flags.0).await,
        "not cancelled while running"
    );
    rt.shutdown().await?;
    assert!(
        eventually(&flags.0).await,
        "shutdown cancelled the job's token"
    );
    assert!(flags.1.load(Ordering::SeqCst), "and dropped its future");
    Ok(())
}

async fn eventually_short(flag: &AtomicBool) -> bool {
    tokio::time::sleep(Duration::from_millis(50)).await;
    flag.load(Ordering::SeqCst)
}
