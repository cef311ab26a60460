//! A graceful shutdown with jobs in flight: their handlers are stopped, and
//! what they answer because they were stopped is not an outcome. The jobs
//! stay open (no incident, no failed attempt) and run again at the next
//! start. A handler that ends its work when its job's cancel token fires
//! (as the shell, http and Kubernetes kinds do) used to have that
//! "cancelled" answer committed during the shutdown's drain: an incident
//! for every job in flight.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceIndex, InstanceQuery, InstanceStatus, OutboxRead};
use windlass_store_sqlite::SqliteStore;

/// Jobs in flight at the shutdown (several, so some handlers answer on
/// other worker threads while the shard drains).
const N: usize = 50;

fn one_task() -> String {
    doc(r#"<process id="one" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
  <serviceTask id="a" name="A"/>
  <sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

fn all() -> InstanceQuery {
    InstanceQuery {
        limit: Some(100),
        ..InstanceQuery::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_in_flight_stay_open_across_a_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let started = Arc::new(AtomicUsize::new(0));
    let handlers = {
        let started = started.clone();
        Handlers::new().on_name("A", move |job: &Job| {
            started.fetch_add(1, Ordering::SeqCst);
            let cancel = job.cancel.clone();
            HandlerResult::Pending(Box::pin(async move {
                // Works until stopped, then says so, as the built-in kinds do.
                cancel.cancelled().await;
                JobOutcome::technical("task 'A': cancelled", false)
            }))
        })
    };
    let rt = Runtime::start(
        RuntimeOptions::default(),
        SqliteStore::open(&path).unwrap(),
        handlers,
    )
    .await
    .unwrap();
    rt.deploy(&one_task()).await.unwrap();
    for i in 0..N {
        let req = StartRequest {
            instance_id: Some(format!("i-{i}")),
            ..StartRequest::new("one")
        };
        rt.start_instance(req).await.unwrap();
    }
    for _ in 0..500 {
        if started.load(Ordering::SeqCst) == N {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        started.load(Ordering::SeqCst),
        N,
        "every job was dispatched"
    );
    rt.shutdown().await.unwrap();
    drop(rt);

    // The next start: no incident, the three jobs pending and run again.
    let store = SqliteStore::open(&path).unwrap();
    let list = store.query_instances(&all()).await.unwrap();
    assert_eq!(list.len(), N);
    for item in &list {
        assert_eq!(item.status, InstanceStatus::Running, "{item:?}");
    }
    assert_eq!(store.pending_outbox().await.unwrap().len(), N);
    let ran = Arc::new(AtomicUsize::new(0));
    let handlers = {
        let ran = ran.clone();
        Handlers::new().on_name("A", move |_: &Job| {
            ran.fetch_add(1, Ordering::SeqCst);
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        })
    };
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers)
        .await
        .unwrap();
    assert_eq!(rt.recovery().outbox_rows, N);
    for _ in 0..500 {
        let done = rt
            .store()
            .query_instances(&all())
            .await
            .unwrap()
            .iter()
            .filter(|i| i.status == InstanceStatus::Completed)
            .count();
        if done == N {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(ran.load(Ordering::SeqCst), N);
    rt.shutdown().await.unwrap();
}
