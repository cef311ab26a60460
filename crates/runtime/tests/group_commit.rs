//! Group commit, effects strictly after commit, graceful shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use common::gated::Gated;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::{Notify, Semaphore};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeError, RuntimeOptions, StartRequest,
};
use windlass_store_api::InstanceStatus;
use windlass_store_memory::MemoryStore;

#[tokio::test]
async fn many_instances_share_few_commits() -> anyhow::Result<()> {
    let store = Gated::new(MemoryStore::new());
    let seen = store.seen.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
    rt.deploy(&simple("p")).await?;
    let mut ids = Vec::new();
    for _ in 0..300 {
        ids.push(rt.start_detached(StartRequest::new("p")).await?);
    }
    for id in &ids {
        assert_eq!(
            rt.wait_finished(id).await?.status,
            InstanceStatus::Completed
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 300);
    let batches = seen.batches.lock().unwrap().clone();
    // One deploy commit, then the starts and the completions in groups.
    let max_creates = batches.iter().map(|b| b.0).max().unwrap();
    let max_appends = batches.iter().map(|b| b.1).max().unwrap();
    assert!(max_creates >= 100, "starts were grouped: {batches:?}");
    assert!(max_appends >= 100, "completions were grouped: {batches:?}");
    assert!(
        batches.len() <= 20,
        "{} commits for 300 instances",
        batches.len()
    );
    // The shards counted their own group commits (the deploy is not one).
    let stats = rt.commit_stats();
    assert!(stats.commits >= 2, "{stats:?}");
    assert!(
        stats.commits < batches.len() as u64,
        "{stats:?} vs {batches:?}"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn handlers_run_only_after_the_commit() -> anyhow::Result<()> {
    let mut store = Gated::new(MemoryStore::new());
    let entered = Arc::new(Notify::new());
    let permits = Arc::new(Semaphore::new(1)); // the deploy's commit
    store.gate = Some((entered.clone(), permits.clone()));
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
    rt.deploy(&simple("p")).await?;
    entered.notified().await; // the deploy's commit announced itself
    let id = rt.start_detached(StartRequest::new("p")).await?;
    entered.notified().await; // the start's commit is held at the gate
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no job before its commit");
    permits.add_permits(1);
    entered.notified().await; // the completion's commit: the job ran
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    permits.add_permits(100);
    assert_eq!(
        rt.wait_finished(&id).await?.status,
        InstanceStatus::Completed
    );
    rt.shutdown().await?;
    Ok(())
}

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn shutdown_drains_inline_work_and_cancels_pending_jobs() -> anyhow::Result<()> {
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    let handlers = Handlers::new()
        .on_name("Work", |_: &Job| {
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        })
        .on_name("Slow", move |_: &Job| {
            let guard = DropFlag(flag.clone());
            HandlerResult::Pending(Box::pin(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                JobOutcome::done(Default::default())
            }))
        });
    let store = MemoryStore::new();
    let rt = Runtime::start(RuntimeOptions::default(), store.clone(), handlers).await?;
    rt.deploy(&simple("p")).await?;
    rt.deploy(&one_task("slow", "serviceTask", "Slow")).await?;
    let slow = rt.start_instance(StartRequest::new("slow")).await?;
    // start_instance returned after the commit; the job future is running.
    let mut fast = Vec::new();
    for _ in 0..50 {
        fast.push(rt.start_detached(StartRequest::new("p")).await?);
    }
    rt.shutdown().await?;
    assert!(rt.is_stopped(), "every task ended");
    assert!(
        cancelled.load(Ordering::SeqCst),
        "the pending job future was dropped"
    );
    let err = rt.start_instance(StartRequest::new("p")).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ShuttingDown), "{err}");
    for id in &fast {
        let row = windlass_store_api::InstanceIndex::instance(&store, id)
            .await?
            .unwrap();
        assert_eq!(
            row.status,
            InstanceStatus::Completed,
            "queued work was drained"
        );
    }
    let row = windlass_store_api::InstanceIndex::instance(&store, &slow)
        .await?
        .unwrap();
    assert_eq!(
        row.status,
        InstanceStatus::Running,
        "the slow one stays durable"
    );
    Ok(())
}
