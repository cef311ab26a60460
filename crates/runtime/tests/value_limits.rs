//! The value limit on the runtime's entry points: start variables are
//! refused before anything is written; outputs over the limit from an
//! external worker fail the attempt (retries, then an incident) and the
//! worker is told why.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use windlass_runtime::{
    HandlerResult, Handlers, Job, Runtime, RuntimeError, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceStatus, OutboxRead};
use windlass_store_memory::MemoryStore;
use windlass_types::Vars;

fn deep(depth: usize) -> Vars {
    let v = (0..depth).fold(json!(0), |v, _| Value::Array(vec![v]));
    Vars::from_iter([("got".to_string(), v)])
}

#[tokio::test]
async fn start_variables_over_the_limit_are_refused() -> anyhow::Result<()> {
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await?;
    rt.deploy(&one_task("p", "task", "Plain")).await?;
    let mut req = StartRequest::new("p");
    req.vars = deep(65);
    let err = rt.start_instance(req).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ValueLimit(_)), "{err}");
    assert!(
        err.to_string()
            .contains("variable 'got' is nested 65 levels deep"),
        "{err}"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn external_outputs_over_the_limit_fail_the_attempt_and_the_worker_is_told()
-> anyhow::Result<()> {
    let keys = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = keys.clone();
    let handlers = Handlers::new().on_node("t", move |job: &Job| {
        seen.lock().unwrap().push(job.key.clone());
        HandlerResult::External
    });
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers).await?;
    rt.deploy(&one_task("p", "userTask", "Approve")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    rt.wait_settled(&id).await?;
    let first = keys.lock().unwrap()[0].clone();
    let err = rt.complete_job(&first, deep(70)).await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::ValueLimit(_)) && err.to_string().contains("70 levels deep"),
        "{err}"
    );
    // The attempt failed; the next one is a new job, completed normally.
    let out = rt.outcome(&id).await?;
    assert_eq!(out.status, InstanceStatus::Running);
    assert!(!out.variables.contains_key("got"), "{:?}", out.variables);
    assert!(
        rt.complete_job(&first, Vars::new()).await.is_err(),
        "attempt 1 is closed"
    );
    let pending = rt.store().pending_outbox().await?;
    assert_eq!(pending.len(), 1, "the retry is queued");
    rt.shutdown().await?;
    Ok(())
}
