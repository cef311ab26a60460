//! The engine's rule for jobs nothing is bound to, seen through a whole
//! runtime on the in-memory store.
#![allow(clippy::unwrap_used)]

mod common;

use common::doc;
use windlass_runtime::{Handlers, Runtime, RuntimeOptions, StartRequest};
use windlass_store_api::InstanceStatus;
use windlass_store_memory::MemoryStore;

/// start → abstract `task` "Build" with `windlass:task kind="shell"` → end.
fn kinded_abstract_task() -> String {
    doc(
        r#"<process id="p" isExecutable="true" xmlns:windlass="urn:windlass:bpmn:1">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <task id="t" name="Build">
    <extensionElements><windlass:task kind="shell"/></extensionElements>
  </task>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>"#,
    )
}

#[tokio::test]
async fn kinded_abstract_task_without_handler_is_an_incident() -> anyhow::Result<()> {
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await?;
    rt.deploy(&kinded_abstract_task()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = rt.wait_settled(&id).await?;
    assert_eq!(out.status, InstanceStatus::Incident, "{out:?}");
    assert_eq!(out.incidents.len(), 1, "{out:?}");
    assert!(
        out.incidents[0].ends_with("no handler for task 'Build' (kind 'shell')"),
        "{out:?}"
    );
    assert!(out.executed.is_empty());
    rt.shutdown().await?;
    Ok(())
}
