//! SQLite files on disk: a run dropped mid-way (tasks killed, no shutdown)
//! resumes on restart and completes everything exactly once; pending jobs
//! are re-dispatched with the same idempotency key.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::{HistoryRead, InstanceIndex, InstanceQuery, InstanceStatus, OutboxRead};
use windlass_store_sqlite::SqliteStore;

/// start → "A" → "B" → end.
fn two_tasks() -> String {
    doc(r#"<process id="two" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
  <serviceTask id="a" name="A"/>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <serviceTask id="b" name="B"/>
  <sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

fn done(_: &Job) -> HandlerResult {
    HandlerResult::Ready(JobOutcome::done(Default::default()))
}

/// Phase 1 on its own tokio runtime, dropped without shutdown (a crash).
fn crash_mid_run(path: &Path, n: usize) -> Vec<windlass_store_api::InstanceRef> {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ids = tokio_rt.block_on(async {
        let handlers = Handlers::new().on_name("A", done).on_name("B", |_: &Job| {
            HandlerResult::Pending(Box::pin(async {
                std::future::pending::<()>().await;
                JobOutcome::done(Default::default())
            }))
        });
        let store = SqliteStore::open(path).unwrap();
        let rt = Runtime::start(RuntimeOptions::default(), store, handlers)
            .await
            .unwrap();
        rt.deploy(&two_tasks()).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            let req = StartRequest {
                instance_id: Some(format!("order-{i}")),
                ..StartRequest::new("two")
            };
            ids.push(rt.start_instance(req).await.unwrap());
        }
        // Let every instance reach B (its job is in flight and never ends).
        for _ in 0..200 {
            tokio::task::yield_now().await;
        }
        let running = rt
            .store()
            .pending_outbox()
            .await
            .unwrap()
            .iter()
            .filter(|r| {
                r.key.ends_with("/1")
                    && windlass_runtime::decode_job(&r.payload, &r.key)
                        .is_ok_and(|job| job.node_id == "b")
            })
            .count();
        assert!(running > 0, "some instances reached B before the crash");
        ids
    });
    drop(tokio_rt); // every task killed mid-run, no shutdown
    ids
}

#[test]
fn a_run_dropped_mid_way_resumes_and_completes_exactly_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crash.db");
    let n = 40;
    let ids = crash_mid_run(&path, n);
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio_rt.block_on(async {
        let a = Arc::new(AtomicUsize::new(0));
        let b = Arc::new(AtomicUsize::new(0));
        let handlers = Handlers::new()
            .on_name("A", counting(a.clone(), "a"))
            .on_name("B", counting(b.clone(), "b"));
        let store = SqliteStore::open(&path)?;
        let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
        let report = rt.recovery().clone();
        assert_eq!(report.instances, n, "{report:?}");
        assert!(report.skipped.is_empty(), "{report:?}");
        for id in &ids {
            let out = rt.wait_finished(id).await?;
            assert_eq!(out.status, InstanceStatus::Completed, "{id}");
            assert_eq!(out.executed.get("A"), Some(&1), "{id}: {:?}", out.executed);
            assert_eq!(out.executed.get("B"), Some(&1), "{id}: {:?}", out.executed);
            let history = rt.store().history(id).await?;
            let events: Vec<Event> = history
                .iter()
                .map(|h| decode_event(&h.payload).unwrap())
                .collect();
            let completions = events
                .iter()
                .filter(|e| matches!(e, Event::JobCompleted { .. }))
                .count();
            let ends = events
                .iter()
                .filter(|e| matches!(e, Event::InstanceCompleted))
                .count();
            assert_eq!((completions, ends), (2, 1), "{id}");
        }
        // B ran once more per instance (re-dispatched); A only where the
        // crash came before A's completion was committed.
        assert_eq!(b.load(Ordering::SeqCst), n);
        assert!(rt.store().pending_outbox().await?.is_empty());
        let done = rt
            .store()
            .query_instances(&InstanceQuery {
                status: Some(InstanceStatus::Completed),
                ..Default::default()
            })
            .await?;
        assert_eq!(done.len(), n);
        rt.shutdown().await?;
        anyhow::Ok(())
    })
}

#[tokio::test]
async fn pending_jobs_are_redispatched_with_their_keys() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("redispatch.db");
    let first = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = first.clone();
    let park = Handlers::new().on_node("t", move |job: &Job| {
        seen.lock().unwrap().insert(job.key.clone());
        HandlerResult::External
    });
    let rt = Runtime::start(RuntimeOptions::default(), SqliteStore::open(&path)?, park).await?;
    rt.deploy(&one_task("p", "userTask", "Approve")).await?;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let id = rt.start_instance(StartRequest::new("p")).await?;
        rt.wait_settled(&id).await?;
        ids.push(id);
    }
    rt.shutdown().await?;
    drop(rt);

    let second = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = second.clone();
    let answer = Handlers::new().on_node("t", move |job: &Job| {
        seen.lock().unwrap().insert(job.key.clone());
        HandlerResult::Ready(JobOutcome::done(Default::default()))
    });
    let rt = Runtime::start(RuntimeOptions::default(), SqliteStore::open(&path)?, answer).await?;
    assert_eq!(rt.recovery().outbox_rows, 10);
    for id in &ids {
        let out = rt.wait_finished(id).await?;
        assert_eq!(out.status, InstanceStatus::Completed);
        assert_eq!(out.executed.get("Approve"), Some(&1));
    }
    assert_eq!(
        *first.lock().unwrap(),
        *second.lock().unwrap(),
        "same idempotency keys"
    );
    rt.shutdown().await?;
    Ok(())
}
