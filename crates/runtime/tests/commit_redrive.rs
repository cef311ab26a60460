//! A failed group commit never strands work (review R3): for a transient,
//! conflicting or ambiguous failure the affected instances are rebuilt from
//! the store and their pending work (open jobs' rows, consumed rows) is
//! re-driven without a restart, with their in-flight work counted right;
//! a store that keeps failing is given up after a few tries and reported.
#![allow(clippy::unwrap_used)]

mod common;

use common::failing::{FailRule, FailingStore};
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions,
    StartRequest,
};
use windlass_store_api::{
    InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus, OutboxRead, Store, StoreError,
};
use windlass_store_memory::MemoryStore;

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("finished instead of hanging")
}

/// Completed instances have each "Work"-like job completed exactly once in
/// their history; returns how many completed.
async fn completed_once<S: Store>(store: &S) -> anyhow::Result<usize> {
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
            assert_eq!(done, 1, "{}: completed exactly once", row.instance);
            completed += 1;
        }
    }
    Ok(completed)
}

fn transient() -> Option<StoreError> {
    Some(StoreError::Transient("injected: database is busy".into()))
}

/// A runtime on `disk` behind a failing wrapper, with a counted "Work"
/// handler and process `p` deployed; `rule` (given the number of commits so
/// far, so `+ 2` is the commit after the start's) is then armed and one
/// instance started.
struct Failing {
    rt: RuntimeHandle<FailingStore<MemoryStore>>,
    calls: Arc<AtomicUsize>,
    handlers: Handlers,
    id: InstanceRef,
}

async fn start_failing(
    disk: MemoryStore,
    options: RuntimeOptions,
    rule: impl FnOnce(usize) -> FailRule,
) -> anyhow::Result<Failing> {
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let store = FailingStore::new(disk, FailRule::default());
    let rt = Runtime::start(options, store, handlers.clone()).await?;
    rt.deploy(&simple("p")).await?;
    let d = rt.store().commits.load(Ordering::SeqCst);
    *rt.store().rule.lock().unwrap() = rule(d);
    let id = rt.start_instance(StartRequest::new("p")).await?;
    Ok(Failing {
        rt,
        calls,
        handlers,
        id,
    })
}

#[tokio::test]
async fn a_transient_failure_is_redriven_without_a_restart() -> anyhow::Result<()> {
    // The commit after the start (the job's completion) fails.
    let Failing { rt, calls, id, .. } =
        start_failing(MemoryStore::new(), RuntimeOptions::default(), |d| {
            FailRule {
                nth: Some(d + 2),
                error: transient(),
                ..FailRule::default()
            }
        })
        .await?;
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the job ran again");
    assert!(
        rt.storage_failed().is_none(),
        "a re-driven failure is no outage"
    );
    assert!(rt.store().pending_outbox().await?.is_empty());
    assert_eq!(completed_once(rt.store()).await?, 1);
    rt.shutdown().await?;
    Ok(())
}

/// start → fork → "Slow" and "Fast" → join → end.
fn slow_and_fast() -> String {
    doc(r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
  <parallelGateway id="fork"/>
  <sequenceFlow id="f1" sourceRef="fork" targetRef="slow"/>
  <sequenceFlow id="f2" sourceRef="fork" targetRef="fast"/>
  <serviceTask id="slow" name="Slow"/>
  <serviceTask id="fast" name="Fast"/>
  <sequenceFlow id="f3" sourceRef="slow" targetRef="join"/>
  <sequenceFlow id="f4" sourceRef="fast" targetRef="join"/>
  <parallelGateway id="join"/>
  <sequenceFlow id="f5" sourceRef="join" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// After a conflicting commit is re-driven, a handler still running for the
/// instance keeps it unsettled: `wait_settled` does not answer early.
#[tokio::test]
async fn a_redriven_instance_counts_its_running_handlers() -> anyhow::Result<()> {
    let (slow_tx, slow_rx) = tokio::sync::oneshot::channel::<()>();
    let slow_rx = Arc::new(Mutex::new(Some(slow_rx)));
    let fast_calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new()
        .on_name("Slow", move |_: &Job| {
            let rx = slow_rx.lock().unwrap().take();
            HandlerResult::Pending(Box::pin(async move {
                if let Some(rx) = rx {
                    let _ = rx.await;
                }
                JobOutcome::done(Default::default())
            }))
        })
        .on_name("Fast", counting(fast_calls.clone(), "fast"));
    let store = FailingStore::new(MemoryStore::new(), FailRule::default());
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
    rt.deploy(&slow_and_fast()).await?;
    let d = rt.store().commits.load(Ordering::SeqCst);
    *rt.store().rule.lock().unwrap() = FailRule {
        nth: Some(d + 2),
        error: Some(StoreError::AlreadyExists {
            what: "outbox entry",
            key: "injected".into(),
        }),
        ..FailRule::default()
    };
    let id = rt.start_instance(StartRequest::new("p")).await?;
    // "Fast" fails to commit once and is re-driven.
    for _ in 0..2_000 {
        if fast_calls.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(fast_calls.load(Ordering::SeqCst), 2);
    // "Slow" still runs: the instance is not settled.
    let early = tokio::time::timeout(Duration::from_millis(300), rt.wait_settled(&id)).await;
    assert!(early.is_err(), "settled while a handler runs: {early:?}");
    slow_tx.send(()).ok();
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;
    Ok(())
}

/// Four shards merge their batches; one merged commit fails transiently.
/// Every instance whose start committed completes in the same process, its
/// work done exactly once; refused starts never appear.
#[tokio::test]
async fn four_shards_redrive_a_failed_merged_commit() -> anyhow::Result<()> {
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "n"));
    let store = FailingStore::new(MemoryStore::new(), FailRule::default());
    let opts = RuntimeOptions {
        shards: 4,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, store, handlers).await?;
    rt.deploy(&simple("p")).await?;
    let d = rt.store().commits.load(Ordering::SeqCst);
    *rt.store().rule.lock().unwrap() = FailRule {
        nth: Some(d + 2),
        error: transient(),
        ..FailRule::default()
    };
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
    while let Some(r) = tasks.join_next().await {
        match r? {
            Ok(id) => started.push(id),
            Err(RuntimeError::Store(e)) => assert!(e.to_string().contains("injected"), "{e}"),
            Err(e) => panic!("unexpected start error: {e}"),
        }
    }
    for id in &started {
        let out = bounded(rt.wait_finished(id)).await?;
        assert_eq!(out.status, InstanceStatus::Completed, "{id}");
    }
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 1);
    let all = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await?;
    assert_eq!(all.len(), started.len());
    assert_eq!(completed_once(rt.store()).await?, started.len());
    assert!(rt.store().pending_outbox().await?.is_empty());
    rt.shutdown().await?;
    Ok(())
}

/// A store that keeps failing transiently: the instance is re-driven a few
/// times, then given up (here at once after them: no retry window) — its
/// waiter gets the error instead of hanging, and a restart on the healed
/// store completes it once.
#[tokio::test]
async fn a_store_that_keeps_failing_is_given_up_and_reported() -> anyhow::Result<()> {
    let disk = MemoryStore::new();
    let options = RuntimeOptions {
        transient_retry_window: Duration::ZERO,
        ..RuntimeOptions::default()
    };
    let Failing {
        rt,
        calls,
        handlers,
        id,
    } = start_failing(disk.clone(), options, |d| FailRule {
        from: Some(d + 2),
        error: transient(),
        ..FailRule::default()
    })
    .await?;
    let err = bounded(rt.wait_finished(&id)).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Store(_)), "{err}");
    assert!(err.to_string().contains("busy"), "{err}");
    // The first run and five re-drives.
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 6);
    assert!(rt.storage_failed().is_some());
    rt.shutdown().await?;

    let rt = Runtime::start(RuntimeOptions::default(), disk, handlers).await?;
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(completed_once(rt.store()).await?, 1);
    rt.shutdown().await?;
    Ok(())
}

/// A store down for longer than the first quick re-drives (a database
/// failing over): within the retry window the work keeps being re-driven,
/// about once a second, and completes once the store is back — once.
#[tokio::test]
async fn a_store_down_for_a_while_is_waited_out_within_the_retry_window() -> anyhow::Result<()> {
    // The start commits; then eight commits in a row fail, more than the
    // five quick re-drives (which alone would give the instance up).
    let Failing { rt, id, .. } =
        start_failing(MemoryStore::new(), RuntimeOptions::default(), |d| {
            FailRule {
                from: Some(d + 2),
                until: Some(d + 9),
                error: transient(),
                ..FailRule::default()
            }
        })
        .await?;
    let out = bounded(rt.wait_finished(&id)).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(rt.store().failed.load(Ordering::SeqCst), 8);
    assert_eq!(completed_once(rt.store()).await?, 1);
    rt.shutdown().await?;
    Ok(())
}
