//! Concurrent starts of one instance id on a SQLite file, from many tasks
//! of a multi-threaded tokio runtime and several shards (review R2b): the
//! owning shard decides them serially, so a live id gets exactly one run and
//! every other start `InstanceExists`; no start ever reaches the store as a
//! failing create that would poison a group commit.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use windlass_runtime::{
    HandlerResult, Handlers, Job, OnConflict, Runtime, RuntimeError, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceIndex, InstanceQuery, InstanceRef};
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp};

fn options() -> RuntimeOptions {
    RuntimeOptions {
        shards: 4,
        clock: Arc::new(MockClock::new(Timestamp(1_700_000_000_000))),
        ..RuntimeOptions::default()
    }
}

fn instant() -> String {
    doc(r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// Starts `per_id` copies of each of `ids` ids at once; the results by id.
async fn race(
    rt: &windlass_runtime::RuntimeHandle<SqliteStore>,
    process: &str,
    ids: usize,
    per_id: usize,
) -> Vec<Vec<Result<InstanceRef, RuntimeError>>> {
    let mut tasks = Vec::new();
    for i in 0..ids {
        for _ in 0..per_id {
            let rt = rt.clone();
            let req = StartRequest {
                instance_id: Some(format!("id-{i}")),
                on_conflict: OnConflict::Reject,
                ..StartRequest::new(process)
            };
            tasks.push((i, tokio::spawn(async move { rt.start_instance(req).await })));
        }
    }
    let mut by_id: Vec<Vec<_>> = (0..ids).map(|_| Vec::new()).collect();
    for (i, t) in tasks {
        by_id[i].push(t.await.unwrap());
    }
    by_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_id_gets_one_run_and_every_other_start_instance_exists() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("w.db"))?;
    let handlers = Handlers::new().on_name("Work", |_: &Job| HandlerResult::External);
    let rt = Runtime::start(options(), store, handlers).await?;
    rt.deploy(&simple("p")).await?;
    for (i, results) in race(&rt, "p", 40, 8).await.into_iter().enumerate() {
        let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok.len(), 1, "id-{i}: {results:?}");
        for r in &results {
            match r {
                Ok(_) => {}
                Err(RuntimeError::InstanceExists(live)) => assert_eq!(live, ok[0]),
                Err(e) => panic!("id-{i}: unexpected error {e:?}"),
            }
        }
    }
    let rows = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await?;
    assert_eq!(rows.len(), 40);
    assert!(rt.storage_failed().is_none());
    rt.shutdown().await?;
    Ok(())
}

/// The R2b repro: instances that finish in their first commit, started
/// concurrently many times. A start after the first run finished creates a
/// new run (a finished run does not clash); none fails in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn starts_racing_finished_runs_never_poison_a_group() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("w.db"))?;
    let rt = Runtime::start(options(), store, Handlers::new()).await?;
    rt.deploy(&instant()).await?;
    let mut created = 0;
    for _round in 0..5 {
        for (i, results) in race(&rt, "p", 50, 4).await.into_iter().enumerate() {
            for r in &results {
                match r {
                    Ok(_) => created += 1,
                    Err(RuntimeError::InstanceExists(_)) => {}
                    Err(e) => panic!("id-{i}: unexpected error {e:?}"),
                }
            }
        }
    }
    assert!(rt.storage_failed().is_none());
    let rows = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await?;
    assert_eq!(rows.len(), created);
    // At most one unfinished run per id (here: none left).
    assert!(rows.iter().all(|r| r.status.is_finished()), "{rows:?}");
    rt.shutdown().await?;
    Ok(())
}
