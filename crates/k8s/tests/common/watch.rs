//! The watch tests' harness: a process started by ConfigMap changes, and a
//! runtime with the Kubernetes kinds and the watch service.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass_k8s::{KubernetesJobs, LazyClient, WatchHandle, WatchOptions, WatchService};
use windlass_model::TaskType;
use windlass_runtime::{HandlerResult, Handlers, Job, Runtime, RuntimeHandle, RuntimeOptions};
use windlass_store_api::{InstanceIndex, InstanceQuery, InstanceRow};
use windlass_store_memory::MemoryStore;

/// A process started per ConfigMap event, deduplicated per object, that
/// waits at a user task ("hold") when `hold` is true, and removes the
/// watch's finalizer when the event is a deletion.
pub fn process(ns: &str, extra: &str, hold: bool) -> String {
    let work = if hold {
        r#"<userTask id="hold" name="Hold"/>"#
    } else {
        r#"<task id="hold" name="Hold"/>"#
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<message id="m" name="config-changed"/>
<process id="reconcile" isExecutable="true">
  <extensionElements>
    <windlass:kubernetesWatch message="config-changed" apiVersion="v1" kind="ConfigMap"
        namespace="{ns}" labelSelector="app=demo" {extra}/>
  </extensionElements>
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{{event.key}}"/></extensionElements>
    <messageEventDefinition messageRef="m"/>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="gw"/>
  <exclusiveGateway id="gw" default="f-apply"/>
  <sequenceFlow id="f-apply" sourceRef="gw" targetRef="hold"/>
  <sequenceFlow id="f-delete" sourceRef="gw" targetRef="release">
    <conditionExpression>event.type == "deleted"</conditionExpression>
  </sequenceFlow>
  {work}
  <sequenceFlow id="f2" sourceRef="hold" targetRef="e"/>
  <serviceTask id="release" name="Release {{event.key}}">
    <extensionElements><windlass:task kind="kubernetes.finalizer">
      <windlass:setting name="apiVersion" value="v1"/>
      <windlass:setting name="kind" value="ConfigMap"/>
      <windlass:setting name="namespace" value="{{event.namespace}}"/>
      <windlass:setting name="name" value="{{event.name}}"/>
      <windlass:setting name="finalizer" value="windlass.test/cleanup"/>
      <windlass:setting name="action" value="remove"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f3" sourceRef="release" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

/// A runtime with the Kubernetes kinds and the watch service.
pub struct Harness {
    pub rt: RuntimeHandle<MemoryStore>,
    pub watch: WatchHandle,
    /// Job keys of the held user tasks, by instance id.
    pub held: Arc<Mutex<Vec<(String, String)>>>,
}

impl Harness {
    pub async fn start(client: &kube::Client, xml: &str) -> Harness {
        Harness::start_with(client, xml, WatchOptions::default()).await
    }

    /// With watch `options`.
    pub async fn start_with(client: &kube::Client, xml: &str, options: WatchOptions) -> Harness {
        let held = Arc::new(Mutex::new(Vec::new()));
        let record = held.clone();
        let handlers = KubernetesJobs::new(LazyClient::of(client.clone()))
            .bind(Handlers::new())
            .on_task_type(TaskType::User, move |job: &Job| {
                record
                    .lock()
                    .unwrap()
                    .push((job.instance.id.as_str().to_string(), job.key.clone()));
                HandlerResult::External
            });
        let rt = Runtime::start(RuntimeOptions::default(), MemoryStore::new(), handlers)
            .await
            .unwrap();
        rt.deploy(xml).await.unwrap();
        let watch = WatchService::run(
            Arc::new(LazyClient::of(client.clone())),
            Arc::new(rt.clone()),
            rt.message_sources(),
            options,
        );
        Harness { rt, watch, held }
    }

    pub async fn instances(&self) -> Vec<InstanceRow> {
        self.rt
            .store()
            .query_instances(&InstanceQuery::default())
            .await
            .unwrap()
    }

    /// The `event` variable of every instance, in start order.
    pub async fn events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for row in self.instances().await {
            let state = self.rt.outcome(&row.instance).await.unwrap();
            out.push(state.variables["event"].clone());
        }
        out
    }

    /// Waits until `done` holds for the events (at most 30 s).
    pub async fn until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..300 {
            let events = self.events().await;
            if done(&events) {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: {:#?}", self.events().await);
    }

    pub async fn stop(self) {
        self.watch.shutdown().await;
        self.rt.shutdown().await.unwrap();
    }
}

pub fn config_map(name: &str, app: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "data": {"value": value}
    }))
    .unwrap()
}

pub fn keys(events: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = events
        .iter()
        .map(|e| e["key"].as_str().unwrap_or("?").to_string())
        .collect();
    k.sort();
    k
}
