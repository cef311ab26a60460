//! Failed group commits (a full disk, an I/O error), driven by
//! [`FailingStore`]: the requesters and waiters of the affected instances
//! get the storage error instead of hanging or reading "waiting", the
//! benchmark stops, and a restart on the healed store loses nothing and
//! doubles nothing. (A real full file system needs a small tmpfs, which tests
//! cannot mount without privileges; `FailingStore` fails commits the same
//! way: the whole batch is refused.)
#![allow(clippy::unwrap_used)]

mod common;

use common::failing::{FailRule, FailingStore};
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_runtime::bench::{self, BenchOptions};
use windlass_runtime::{
    HandlerResult, Handlers, Job, Runtime, RuntimeError, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceIndex, InstanceQuery, InstanceStatus, OutboxRead, Store};
use windlass_store_memory::MemoryStore;

/// Fails the test instead of hanging when `f` does not finish in 20 s.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("finished instead of hanging")
}

/// Every instance's history is gap-free, and "Work" completed exactly once
/// in each completed instance.
async fn check_exactly_once<S: Store>(store: &S) -> anyhow::Result<usize> {
    let mut completed = 0;
    for row in store.query_instances(&InstanceQuery::default()).await? {
        let history = store.history(&row.instance).await?;
        for (i, h) in history.iter().enumerate() {
            assert_eq!(h.seq, i as u64 + 1, "{}: gap-free history", row.instance);
        }
        let done = history
            .iter()
            .filter(|h| matches!(decode_event(&h.payload), Ok(Event::JobCompleted { .. })))
            .count();
        if row.status == InstanceStatus::Completed {
            assert_eq!(done, 1, "{}: Work completed exactly once", row.instance);
            completed += 1;
        } else {
            assert!(done <= 1, "{}: at most one completion", row.instance);
        }
    }
    Ok(completed)
}

#[tokio::test]
async fn a_failed_commit_is_reported_to_the_waiter_and_a_restart_completes_it_once()
-> anyhow::Result<()> {
    let disk = MemoryStore::new();
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = keys.clone();
    let external = Handlers::new().on_name("Work", move |job: &Job| {
        seen.lock().unwrap().push(job.key.clone());
        HandlerResult::External
    });
    let store = FailingStore::new(disk.clone(), FailRule::default());
    let rt = Runtime::start(RuntimeOptions::default(), store, external).await?;
    rt.deploy(&simple("p")).await?;
    let mut req = StartRequest::new("p");
    req.instance_id = Some("doomed".into());
    let id = rt.start_instance(req).await?;
    assert_eq!(rt.wait_settled(&id).await?.status, InstanceStatus::Running);
    assert!(rt.storage_failed().is_none());

    // The disk fills up: the job's completion cannot be written.
    rt.store().rule.lock().unwrap().instance = Some("doomed".into());
    let key = keys.lock().unwrap()[0].clone();
    let err = rt.complete_job(&key, Default::default()).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Store(_)), "{err}");
    // Waiting on it reports the storage error: it never reads "waiting".
    let err = bounded(rt.wait_settled(&id)).await.unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    let err = bounded(rt.wait_finished(&id)).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Store(_)), "{err}");
    assert!(rt.storage_failed().is_some());
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;

    // Space is freed; the next start re-dispatches the pending job.
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let rt = Runtime::start(RuntimeOptions::default(), disk.clone(), handlers).await?;
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.executed.get("Work"), Some(&1));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(rt.store().pending_outbox().await?.is_empty());
    assert_eq!(check_exactly_once(rt.store()).await?, 1);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn four_shards_merge_their_batches_and_survive_a_failed_merged_commit() -> anyhow::Result<()>
{
    let disk = MemoryStore::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let store = FailingStore::new(disk.clone(), FailRule::default());
    let opts = RuntimeOptions {
        shards: 4,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts.clone(), store, handlers.clone()).await?;
    rt.deploy(&simple("p")).await?;
    // The second merged commit of the shards fails.
    let deployed = rt.store().commits.load(Ordering::SeqCst);
    rt.store().rule.lock().unwrap().nth = Some(deployed + 2);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let rt = rt.clone();
        tasks.spawn(async move {
            let mut req = StartRequest::new("p");
            req.instance_id = Some(format!("i{i}"));
            rt.start_instance(req).await
        });
    }
    let mut started = Vec::new();
    let mut refused = 0;
    while let Some(r) = tasks.join_next().await {
        match r? {
            Ok(id) => started.push(id),
            Err(RuntimeError::Store(_)) => refused += 1,
            Err(e) => panic!("unexpected start error: {e}"),
        }
    }
    let mut stuck = 0;
    for id in &started {
        match bounded(rt.wait_finished(id)).await {
            Ok(out) => assert_eq!(out.status, InstanceStatus::Completed),
            Err(RuntimeError::Store(_)) => stuck += 1,
            Err(e) => panic!("unexpected wait error: {e}"),
        }
    }
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 1);
    assert!(refused + stuck > 0, "the failed commit hit someone");
    let commits = rt.commit_stats().commits;
    rt.shutdown().await?;

    let rt = Runtime::start(opts, disk.clone(), handlers).await?;
    for id in &started {
        let out = bounded(rt.wait_finished(id)).await?;
        assert_eq!(out.status, InstanceStatus::Completed, "{id}");
    }
    // Starts refused by the failed commit never appear; every other
    // instance completed, its work done exactly once.
    let all = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await?;
    assert_eq!(all.len(), started.len());
    assert_eq!(check_exactly_once(rt.store()).await?, started.len());
    assert!(rt.store().pending_outbox().await?.is_empty());
    assert!(commits > 0);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn bench_stops_with_the_storage_error_instead_of_hanging() -> anyhow::Result<()> {
    let store = FailingStore::new(
        MemoryStore::new(),
        FailRule {
            from: Some(5),
            ..FailRule::default()
        },
    );
    let err = bounded(bench::run(store, BenchOptions::new(simple("p"), 5_000)))
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Store(_)), "{err}");
    assert!(err.to_string().contains("injected failure"), "{err}");
    Ok(())
}

#[tokio::test]
async fn bench_respects_its_timeout() -> anyhow::Result<()> {
    let mut opts = BenchOptions::new(simple("p"), 10);
    opts.handlers = Some(Handlers::new().fallback(|_: &Job| HandlerResult::External));
    opts.timeout = Some(Duration::from_millis(300));
    let err = bounded(bench::run(MemoryStore::new(), opts))
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::TimedOut(_)), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_resume_without_handlers_leaves_interrupted_jobs_pending() -> anyhow::Result<()> {
    let disk = MemoryStore::new();
    // The job is running when the process stops (its handler never ends).
    let slow = Handlers::new().on_name("Work", |_: &Job| {
        HandlerResult::Pending(Box::pin(std::future::pending()))
    });
    let rt = Runtime::start(RuntimeOptions::default(), disk.clone(), slow).await?;
    rt.deploy(&simple("p")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    tokio::task::yield_now().await;
    rt.shutdown().await?;
    assert_eq!(disk.pending_outbox().await?.len(), 1);

    // A resume with no handler bound (an unrelated `run`, a `recover`
    // without mocks) must not turn the interrupted job into an incident.
    let rt = Runtime::start(RuntimeOptions::default(), disk.clone(), Handlers::new()).await?;
    assert_eq!(rt.recovery().outbox_rows, 1);
    let out = bounded(rt.wait_settled(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Running);
    assert!(out.incidents.is_empty(), "{:?}", out.incidents);
    rt.shutdown().await?;
    assert_eq!(disk.pending_outbox().await?.len(), 1, "still pending");

    // With the right handler it completes.
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let rt = Runtime::start(RuntimeOptions::default(), disk.clone(), handlers).await?;
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(check_exactly_once(rt.store()).await?, 1);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_recovery_whose_writes_fail_reports_the_error_not_waiting() -> anyhow::Result<()> {
    let disk = MemoryStore::new();
    let slow = Handlers::new().on_name("Work", |_: &Job| {
        HandlerResult::Pending(Box::pin(std::future::pending()))
    });
    let rt = Runtime::start(RuntimeOptions::default(), disk.clone(), slow).await?;
    rt.deploy(&simple("p")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    rt.shutdown().await?;

    // `windlass recover` on a full disk: the re-dispatched job completes,
    // but its commit fails. Waiting on the instance reports the storage
    // error (the CLI exits with it) instead of "waiting".
    let full = FailingStore::new(
        disk.clone(),
        FailRule {
            from: Some(1),
            ..FailRule::default()
        },
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let rt = Runtime::start(RuntimeOptions::default(), full, handlers.clone()).await?;
    let err = bounded(rt.wait_settled(&id)).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Store(_)), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;

    // Space freed: the next recovery completes it, once.
    let rt = Runtime::start(RuntimeOptions::default(), disk.clone(), handlers).await?;
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(check_exactly_once(rt.store()).await?, 1);
    rt.shutdown().await?;
    Ok(())
}

/// One shard's conflict never fails another shard's commit: with four
/// shards merging their batches, a batch touching `bad` fails with a
/// conflict; the merged commit is retried shard by shard, so every start on
/// another shard in the same merged commit succeeds. (Instances of the bad
/// instance's own shard are decided again without it: see
/// `tests/group_isolation.rs`.)
#[tokio::test]
async fn a_conflict_in_a_merged_commit_fails_only_its_own_shard() -> anyhow::Result<()> {
    let store = FailingStore::new(
        MemoryStore::new(),
        FailRule {
            instance: Some("bad".into()),
            error: Some(windlass_store_api::StoreError::Conflict {
                instance: windlass_store_api::InstanceRef::new("bad", "r"),
                expected: 0,
                actual: 1,
            }),
            ..FailRule::default()
        },
    );
    let opts = RuntimeOptions {
        shards: 4,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, store, Handlers::new()).await?;
    rt.deploy(&simple("p")).await?;
    let shard = |id: &str| windlass_types::partition::Partition::of_instance(id).shard(4);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let rt = rt.clone();
        let id = if i % 50 == 0 {
            "bad".to_string()
        } else {
            format!("good-{i}")
        };
        if id != "bad" && shard(&id) == shard("bad") {
            continue;
        }
        tasks.spawn(async move {
            let req = StartRequest {
                instance_id: Some(id.clone()),
                ..StartRequest::new("p")
            };
            (id, rt.start_instance(req).await)
        });
    }
    let mut bad_failed = 0;
    while let Some(r) = tasks.join_next().await {
        let (id, result) = r?;
        if id == "bad" {
            if result.is_err() {
                bad_failed += 1;
            }
        } else {
            assert!(result.is_ok(), "{id}: {result:?}");
        }
    }
    assert!(bad_failed > 0, "the bad instance's start failed");
    rt.shutdown().await?;
    Ok(())
}
