//! Bounded shard intake: while a shard is behind (here: its commit is held
//! at a gate), senders wait instead of queueing without bound.
#![allow(clippy::unwrap_used)]

mod common;

use common::gated::Gated;
use common::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::InstanceStatus;
use windlass_store_memory::MemoryStore;

#[tokio::test]
async fn a_full_intake_makes_start_wait_until_the_shard_catches_up() -> anyhow::Result<()> {
    let mut store = Gated::new(MemoryStore::new());
    let handlers = Handlers::new().on_name("Work", |_: &Job| {
        HandlerResult::Ready(JobOutcome::done(Default::default()))
    });
    let opts = RuntimeOptions {
        group_cap: 1,
        intake_capacity: 2,
        ..RuntimeOptions::default()
    };
    // The deploy commits before the gate is shut.
    let deployer = Runtime::start(
        RuntimeOptions::default(),
        store.inner.clone(),
        Handlers::new(),
    )
    .await?;
    deployer.deploy(&simple("p")).await?;
    deployer.shutdown().await?;
    let entered = Arc::new(Notify::new());
    let permits = Arc::new(Semaphore::new(0));
    store.gate = Some((entered.clone(), permits.clone()));
    let rt = Runtime::start(opts, store, handlers).await?;

    // The shard takes the first start and blocks in its commit; the
    // intake holds two more; the next start must wait.
    let mut ids = Vec::new();
    let mut waited = false;
    for _ in 0..6 {
        let start = rt.start_detached(StartRequest::new("p"));
        match tokio::time::timeout(Duration::from_millis(300), start).await {
            Ok(id) => ids.push(id?),
            Err(_) => {
                waited = true;
                break;
            }
        }
    }
    assert!(waited, "a start waited for room");
    assert!(ids.len() <= 3, "at most 1 taken + 2 queued: {}", ids.len());

    // Open the gate: the waiting caller gets in and everything completes.
    permits.add_permits(10_000);
    let id = tokio::time::timeout(
        Duration::from_secs(20),
        rt.start_detached(StartRequest::new("p")),
    )
    .await??;
    ids.push(id);
    for id in &ids {
        let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(id)).await??;
        assert_eq!(out.status, InstanceStatus::Completed);
    }
    rt.shutdown().await?;
    Ok(())
}
