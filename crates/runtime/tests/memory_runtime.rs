//! The runtime on the in-memory store: the whole life of instances.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceStatus, OutboxRead};
use windlass_store_memory::MemoryStore;

#[tokio::test]
async fn start_task_end_completes_with_the_handlers_output() -> anyhow::Result<()> {
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("Work", counting(calls.clone(), "worked"));
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers).await?;
    let dep = rt.deploy(&simple("p")).await?;
    let key = dep.default_key.clone().unwrap();
    assert!(key.starts_with("p:"));
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = rt.wait_finished(&id).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.executed.get("Work"), Some(&1));
    assert_eq!(out.variables.get("worked"), Some(&serde_json::json!(1)));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        rt.store().pending_outbox().await?.is_empty(),
        "job row completed"
    );
    rt.shutdown().await?;
    assert!(rt.is_stopped());
    Ok(())
}

#[tokio::test]
async fn unbound_service_task_raises_a_no_handler_incident() -> anyhow::Result<()> {
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await?;
    rt.deploy(&simple("p")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = rt.wait_settled(&id).await?;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert_eq!(out.incidents.len(), 1);
    assert!(
        out.incidents[0].contains("no handler for serviceTask 'Work'"),
        "{:?}",
        out.incidents
    );
    assert!(out.executed.is_empty());
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn unbound_abstract_task_completes_as_a_no_op() -> anyhow::Result<()> {
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await?;
    rt.deploy(&one_task("p", "task", "Plain")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = rt.wait_finished(&id).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.executed.get("Plain"), Some(&1));
    let history = windlass_store_api::HistoryRead::history(rt.store(), &id).await?;
    let no_op = history.iter().any(|h| {
        matches!(
            windlass_engine::codec::decode_event(&h.payload),
            Ok(windlass_engine::Event::JobCompleted {
                by: windlass_engine::event::CompletedBy::NoOp,
                ..
            })
        )
    });
    assert!(no_op, "the history records the no-op completion");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn external_job_waits_then_completes_by_key_exactly_once() -> anyhow::Result<()> {
    let keys = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = keys.clone();
    let handlers = Handlers::new().on_node("t", move |job: &Job| {
        seen.lock().unwrap().push(job.key.clone());
        HandlerResult::External
    });
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers).await?;
    rt.deploy(&one_task("p", "userTask", "Approve")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = rt.wait_settled(&id).await?;
    assert_eq!(out.status, InstanceStatus::Running);
    let key = keys.lock().unwrap()[0].clone();
    assert!(key.starts_with(&format!("{}/{}/", id.id, id.run)), "{key}");
    rt.complete_job(&key, Default::default()).await?;
    let err = rt.complete_job(&key, Default::default()).await.unwrap_err();
    assert!(
        err.to_string().contains("no pending job") || err.to_string().contains("no instance"),
        "{err}"
    );
    let out = rt.wait_finished(&id).await?;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.executed.get("Approve"), Some(&1));
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn call_activity_runs_a_child_and_continues() -> anyhow::Result<()> {
    let handlers = Handlers::new()
        .on_name("Inside", |_: &Job| {
            let mut v = windlass_types::Vars::new();
            v.insert("from_child".into(), true.into());
            HandlerResult::Ready(JobOutcome::done(v))
        })
        .on_name("After", |_: &Job| {
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        });
    for shards in [1, 3] {
        let opts = RuntimeOptions {
            shards,
            ..Default::default()
        };
        let rt = Runtime::start(opts, MemoryStore::new(), handlers.clone()).await?;
        rt.deploy(&parent_and_child()).await?;
        let id = rt.start_instance(StartRequest::new("parent")).await?;
        let out = rt.wait_finished(&id).await?;
        assert_eq!(out.status, InstanceStatus::Completed, "shards={shards}");
        assert_eq!(out.executed.get("After"), Some(&1));
        assert_eq!(
            out.variables.get("from_child"),
            Some(&serde_json::json!(true))
        );
        let child = windlass_store_api::InstanceRef::new(format!("{}/1/call/", id.id) + "1", "1");
        let kids = windlass_store_api::InstanceIndex::query_instances(
            rt.store(),
            &windlass_store_api::InstanceQuery {
                parent: Some(id.clone()),
                ..Default::default()
            },
        )
        .await?;
        assert_eq!(kids.len(), 1, "one child");
        assert_eq!(kids[0].status, InstanceStatus::Completed);
        let _ = child;
        assert!(rt.store().pending_outbox().await?.is_empty());
        rt.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_panicking_shard_is_reported_as_task_panicked() -> anyhow::Result<()> {
    // A synchronous handler runs on the shard task: its panic ends the shard.
    let handlers = Handlers::new().on_name("Work", |_: &Job| -> HandlerResult {
        panic!("handler bug");
    });
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers).await?;
    rt.deploy(&simple("p")).await?;
    let id = rt.start_detached(StartRequest::new("p")).await?;
    let _ = rt.wait_finished(&id).await;
    let err = rt.shutdown().await.unwrap_err();
    assert!(
        matches!(&err, windlass_runtime::RuntimeError::TaskPanicked(m) if m.contains("panic")),
        "{err}"
    );
    Ok(())
}
