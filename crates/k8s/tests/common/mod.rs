//! What the Kubernetes tests share: the real test API server
//! (`scripts/k8s-test-env`; skipped without it unless required), fresh
//! namespaces, and a runtime that runs one task of a Kubernetes kind.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod watch;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use windlass_k8s::{ClusterOptions, KubernetesJobs, LazyClient, test_env};
use windlass_runtime::{Handlers, InstanceOutcome, Runtime, RuntimeOptions, StartRequest};
use windlass_store_memory::MemoryStore;

/// The test API server's kubeconfig and an admin client, or `None` (the
/// test is skipped) when no server is available and none is required.
pub async fn cluster() -> Option<(PathBuf, kube::Client)> {
    let kubeconfig = test_env::kubeconfig_from_env().expect("test environment")?;
    let options = ClusterOptions {
        kubeconfig: Some(kubeconfig.clone()),
        context: None,
    };
    let client = options
        .client()
        .await
        .expect("a client for the test API server");
    Some((kubeconfig, client))
}

/// A new namespace named after `prefix`.
pub async fn namespace(client: &kube::Client, prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let name = format!(
        "{prefix}-{}-{}",
        millis % 100_000_000,
        N.fetch_add(1, Ordering::SeqCst)
    );
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    name
}

/// `text` as an XML attribute value.
pub fn attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "&#10;")
}

/// A process of one service task of `kind` with `settings` (one attempt:
/// a failure is an incident at once).
pub fn one_task(kind: &str, settings: &[(&str, &str)]) -> String {
    tasks_in_a_row(&[(kind, settings)])
}

/// A process `p` of service tasks in a row, each of a kind with settings
/// and one attempt; the first is `k` ("Kube"), the next `k2` ("Kube 2"), ….
pub fn tasks_in_a_row(tasks: &[(&str, &[(&str, &str)])]) -> String {
    let mut body = String::from("  <startEvent id=\"s\"/>\n");
    let mut previous = "s".to_string();
    for (i, (kind, settings)) in tasks.iter().enumerate() {
        let (id, name) = match i {
            0 => ("k".to_string(), "Kube".to_string()),
            n => (format!("k{}", n + 1), format!("Kube {}", n + 1)),
        };
        let settings: String = settings
            .iter()
            .map(|(k, v)| format!(r#"<windlass:setting name="{k}" value="{}"/>"#, attr(v)))
            .collect();
        body.push_str(&format!(
            r#"  <sequenceFlow id="to-{id}" sourceRef="{previous}" targetRef="{id}"/>
  <serviceTask id="{id}" name="{name}">
    <extensionElements><windlass:task kind="{kind}" retries="1">{settings}</windlass:task></extensionElements>
  </serviceTask>
"#
        ));
        previous = id;
    }
    body.push_str(&format!(
        "  <sequenceFlow id=\"to-e\" sourceRef=\"{previous}\" targetRef=\"e\"/>\n  <endEvent id=\"e\"/>\n"
    ));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
{body}</process>
</definitions>"#
    )
}

/// Runs `xml` (process `p`) once with `vars`, its Kubernetes tasks talking
/// through `client`; waits until it settles.
pub async fn run_process(client: LazyClient, xml: &str, vars: Value) -> InstanceOutcome {
    let handlers = KubernetesJobs::new(client).bind(Handlers::new());
    let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers)
        .await
        .unwrap();
    rt.deploy(xml).await.unwrap();
    let mut req = StartRequest::new("p");
    req.vars = vars.as_object().cloned().unwrap_or_default();
    let id = rt.start_instance(req).await.unwrap();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), rt.wait_settled(&id))
        .await
        .expect("the instance settles within 2 minutes")
        .unwrap();
    rt.shutdown().await.unwrap();
    out
}

/// Runs one task of `kind` with `settings` and `vars` through `client`.
pub async fn run_task(
    client: &kube::Client,
    kind: &str,
    settings: &[(&str, &str)],
    vars: Value,
) -> InstanceOutcome {
    run_process(
        LazyClient::of(client.clone()),
        &one_task(kind, settings),
        vars,
    )
    .await
}
