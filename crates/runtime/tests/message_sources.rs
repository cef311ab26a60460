//! The deployed sources that services outside the runtime honour
//! (`windlass:kubernetesWatch`): listed for each process's latest version,
//! replaced by a new deployment, and loaded from the store at start.

#![allow(clippy::unwrap_used)]

use windlass_model::MessageSource;
use windlass_runtime::{Handlers, Runtime, RuntimeOptions};
use windlass_store_memory::MemoryStore;

fn doc(process: &str, ext: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="{process}" isExecutable="true">
    <extensionElements>{ext}</extensionElements>
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
    )
}

const WATCH: &str = r#"<windlass:kubernetesWatch message="cm" apiVersion="v1" kind="ConfigMap"/>
<windlass:cron message="tick" schedule="0 3 * * *"/>"#;

#[tokio::test]
async fn sources_follow_the_latest_versions_and_survive_a_restart() {
    let store = MemoryStore::new();
    let rt = Runtime::start(RuntimeOptions::default(), store.clone(), Handlers::new())
        .await
        .unwrap();
    let mut rx = rt.message_sources();
    assert!(rx.borrow_and_update().is_empty());
    rt.deploy(&doc("watched", WATCH)).await.unwrap();
    rt.deploy(&doc("plain", "")).await.unwrap();
    assert!(rx.has_changed().unwrap());
    let list = rx.borrow_and_update().clone();
    // Only the watch: cron sources are the runtime's own.
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].process_id, "watched");
    assert!(
        matches!(&list[0].source, MessageSource::KubernetesWatch { kind, .. } if kind == "ConfigMap")
    );
    rt.shutdown().await.unwrap();

    // Loaded from the store at start.
    let rt = Runtime::start(RuntimeOptions::default(), store.clone(), Handlers::new())
        .await
        .unwrap();
    let mut rx = rt.message_sources();
    assert_eq!(rx.borrow_and_update().clone(), list);
    // A new version without the watch drops it.
    rt.deploy(&doc("watched", "")).await.unwrap();
    assert!(rx.borrow_and_update().is_empty());
    rt.shutdown().await.unwrap();
}
