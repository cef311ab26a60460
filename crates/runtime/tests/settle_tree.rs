//! `wait_settled` over an instance tree: a parent whose call activity's
//! child waits (an external job) or is in an incident is settled — the wait
//! returns instead of hanging — and `outcome_with_children` folds the
//! child's executed tasks and incidents into the parent's outcome. Run with
//! one shard and with several (a child usually lives on another shard).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass_runtime::{HandlerResult, Handlers, Job, Runtime, RuntimeOptions, StartRequest};
use windlass_store_api::InstanceStatus;
use windlass_store_memory::MemoryStore;

/// A settle that hangs fails the test instead.
const DEADLINE: Duration = Duration::from_secs(30);

fn options(shards: usize) -> RuntimeOptions {
    RuntimeOptions {
        shards,
        ..RuntimeOptions::default()
    }
}

async fn a_waiting_child_settles_its_parent(shards: usize) -> anyhow::Result<()> {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = keys.clone();
    let handlers = Handlers::new()
        .on_name("Inside", move |job: &Job| {
            seen.lock().unwrap().push(job.key.clone());
            HandlerResult::External
        })
        .on_name("After", counting(Arc::default(), "after"));
    let rt = Runtime::start(options(shards), MemoryStore::new(), handlers).await?;
    rt.deploy(&parent_and_child()).await?;
    let id = rt.start_instance(StartRequest::new("parent")).await?;
    let out = tokio::time::timeout(DEADLINE, rt.wait_settled(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Running);
    assert_eq!(out.called.len(), 1, "{out:?}");
    let tree = rt.outcome_with_children(&id).await?;
    assert_eq!(
        tree.status,
        InstanceStatus::Running,
        "a wait is no incident"
    );
    assert!(tree.incidents.is_empty(), "{tree:?}");
    // The child still moves on when its job is completed from outside.
    let key = keys.lock().unwrap()[0].clone();
    rt.complete_job(&key, Default::default()).await?;
    let out = tokio::time::timeout(DEADLINE, rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    let tree = rt.outcome_with_children(&id).await?;
    assert_eq!(tree.executed.get("Inside"), Some(&1), "{tree:?}");
    assert_eq!(tree.executed.get("After"), Some(&1), "{tree:?}");
    assert_eq!(out.executed.get("Inside"), None, "the parent's own outcome");
    rt.shutdown().await?;
    Ok(())
}

async fn a_child_incident_settles_its_parent(shards: usize) -> anyhow::Result<()> {
    // Nothing is bound to "Inside": the child raises a "no handler" incident.
    let rt = Runtime::start(options(shards), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&parent_and_child()).await?;
    let id = rt.start_instance(StartRequest::new("parent")).await?;
    let out = tokio::time::timeout(DEADLINE, rt.wait_settled(&id)).await??;
    assert_eq!(
        out.status,
        InstanceStatus::Running,
        "the parent's own status"
    );
    let tree = rt.outcome_with_children(&id).await?;
    assert_eq!(tree.status, InstanceStatus::Incident);
    assert_eq!(tree.incidents.len(), 1, "{tree:?}");
    let child = &out.called[0];
    assert!(
        tree.incidents[0].starts_with(&format!("{}: ", child.id.as_str())),
        "{tree:?}"
    );
    assert!(tree.incidents[0].contains("Inside"), "{tree:?}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_waiting_child_settles_its_parent_on_one_shard() -> anyhow::Result<()> {
    a_waiting_child_settles_its_parent(1).await
}

#[tokio::test]
async fn a_waiting_child_settles_its_parent_on_several_shards() -> anyhow::Result<()> {
    a_waiting_child_settles_its_parent(4).await
}

#[tokio::test]
async fn a_child_incident_settles_its_parent_on_one_shard() -> anyhow::Result<()> {
    a_child_incident_settles_its_parent(1).await
}

#[tokio::test]
async fn a_child_incident_settles_its_parent_on_several_shards() -> anyhow::Result<()> {
    a_child_incident_settles_its_parent(4).await
}
