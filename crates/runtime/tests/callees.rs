//! Which process a call activity starts: the latest deployed version of
//! the called process id, from any deployed document (not only the
//! caller's); the caller's own document's version with the `deployment`
//! binding; and a callee that is not deployed is an incident naming it,
//! which a retry resolves once it is. Memory store and an SQLite file.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use windlass_engine::command::IncidentAction;
use windlass_engine::ids::IncidentId;
use windlass_runtime::{HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions};
use windlass_runtime::{RuntimeHandle, StartRequest};
use windlass_store_api::{InstanceStatus, Store};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;

/// The caller: `binding` is the `zeebe:calledElement` attribute text.
fn caller(binding: &str) -> String {
    doc(&format!(
        r#"<process id="caller" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
  <callActivity id="call" name="Call child">
    <extensionElements><zeebe:calledElement processId="child" {binding}/></extensionElements>
  </callActivity>
  <sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
    .replace(
        "<definitions ",
        r#"<definitions xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" "#,
    )
}

/// The child process whose one task is named `task` (ids apart from the
/// caller's).
fn child_process(task: &str) -> String {
    format!(
        r#"<process id="child" isExecutable="true">
  <startEvent id="cs"/>
  <sequenceFlow id="c1" sourceRef="cs" targetRef="ct"/>
  <serviceTask id="ct" name="{task}"/>
  <sequenceFlow id="c2" sourceRef="ct" targetRef="ce"/>
  <endEvent id="ce"/>
</process>"#
    )
}

/// A document holding only the child.
fn child(task: &str) -> String {
    doc(&child_process(task))
}

fn handlers() -> Handlers {
    let done = |_: &Job| HandlerResult::Ready(JobOutcome::done(Default::default()));
    Handlers::new()
        .on_name("Child v1", done)
        .on_name("Child v2", done)
}

/// The caller and child v1 in one document, then child v2 alone.
async fn deploy_both<S: Store>(rt: &RuntimeHandle<S>, binding: &str) {
    let together = caller(binding).replace(
        "</definitions>",
        &format!("{}\n</definitions>", child_process("Child v1")),
    );
    rt.deploy(&together).await.unwrap();
    rt.deploy(&child("Child v2")).await.unwrap();
}

async fn calls<S: Store>(store: S) -> anyhow::Result<()> {
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers()).await?;
    deploy_both(&rt, "").await;
    let latest = rt.start_instance(StartRequest::new("caller")).await?;
    let out = finished(&rt, &latest).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    let child = out.called.first().cloned().unwrap();
    let child_out = finished(&rt, &child).await;
    assert_eq!(
        child_out.executed.get("Child v2"),
        Some(&1),
        "{child_out:?}"
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_call_starts_the_latest_deployed_version_in_memory() -> anyhow::Result<()> {
    calls(MemoryStore::new()).await
}

#[tokio::test]
async fn a_call_starts_the_latest_deployed_version_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    calls(SqliteStore::open(dir.path().join("w.db"))?).await
}

#[tokio::test]
async fn the_deployment_binding_starts_the_callers_own_version() -> anyhow::Result<()> {
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers()).await?;
    deploy_both(&rt, r#"bindingType="deployment""#).await;
    let pinned = rt.start_instance(StartRequest::new("caller")).await?;
    let out = finished(&rt, &pinned).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    let child = finished(&rt, out.called.first().unwrap()).await;
    assert_eq!(child.executed.get("Child v1"), Some(&1), "{child:?}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_callee_not_deployed_is_an_incident_resolved_by_deploying_and_retrying()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let rt = Runtime::start(
        RuntimeOptions::default(),
        SqliteStore::open(dir.path().join("w.db"))?,
        handlers(),
    )
    .await?;
    rt.deploy(&caller("")).await?;
    let id = rt.start_instance(StartRequest::new("caller")).await?;
    let waiting = settled(&rt, &id).await;
    assert_eq!(waiting.status, InstanceStatus::Incident, "{waiting:?}");
    assert!(
        waiting.incidents.iter().any(|i| i.contains("'call'")
            && i.contains("called process 'child'")
            && i.contains("deploy it and retry")),
        "{waiting:?}"
    );
    // Retried before the process is deployed: the incident comes back.
    rt.resolve_incident(&id, IncidentId(0), IncidentAction::Retry)
        .await?;
    let again = settled(&rt, &id).await;
    assert_eq!(again.incidents.len(), 1, "{again:?}");
    rt.deploy(&child("Child v2")).await?;
    rt.resolve_incident(&id, IncidentId(1), IncidentAction::Retry)
        .await?;
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    let child = finished(&rt, out.called.first().unwrap()).await;
    assert_eq!(child.executed.get("Child v2"), Some(&1), "{child:?}");
    rt.shutdown().await?;
    Ok(())
}
