//! Watch sources end to end against the real API server: a process with a
//! `windlass:kubernetesWatch` source runs in a real runtime with the watch
//! service; the test changes ConfigMaps with kube-rs and checks which
//! instances the changes started (reconcile semantics with a dedup key),
//! a resync, and a deletion seen through the watch's finalizer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cluster, namespace};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass_k8s::{KubernetesJobs, LazyClient, WatchHandle, WatchOptions, WatchService};
use windlass_model::TaskType;
use windlass_runtime::{HandlerResult, Handlers, Job, Runtime, RuntimeHandle, RuntimeOptions};
use windlass_store_api::{InstanceIndex, InstanceQuery, InstanceRow, InstanceStatus};
use windlass_store_memory::MemoryStore;

/// A process started per ConfigMap event, deduplicated per object, that
/// waits at a user task ("hold") when `hold` is true, and removes the
/// watch's finalizer when the event is a deletion.
fn process(ns: &str, extra: &str, hold: bool) -> String {
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
struct Harness {
    rt: RuntimeHandle<MemoryStore>,
    watch: WatchHandle,
    /// Job keys of the held user tasks, by instance id.
    held: Arc<Mutex<Vec<(String, String)>>>,
}

impl Harness {
    async fn start(client: &kube::Client, xml: &str) -> Harness {
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
            WatchOptions::default(),
        );
        Harness { rt, watch, held }
    }

    async fn instances(&self) -> Vec<InstanceRow> {
        self.rt
            .store()
            .query_instances(&InstanceQuery::default())
            .await
            .unwrap()
    }

    /// The `event` variable of every instance, in start order.
    async fn events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for row in self.instances().await {
            let state = self.rt.outcome(&row.instance).await.unwrap();
            out.push(state.variables["event"].clone());
        }
        out
    }

    /// Waits until `done` holds for the events (at most 30 s).
    async fn until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..300 {
            let events = self.events().await;
            if done(&events) {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: {:#?}", self.events().await);
    }

    async fn stop(self) {
        self.watch.shutdown().await;
        self.rt.shutdown().await.unwrap();
    }
}

fn config_map(name: &str, app: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "data": {"value": value}
    }))
    .unwrap()
}

fn keys(events: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = events
        .iter()
        .map(|e| e["key"].as_str().unwrap_or("?").to_string())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn changes_start_one_instance_per_object_and_coalesce_while_it_runs() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "watch").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    // Present before the watch starts: delivered by its first list.
    cms.create(&PostParams::default(), &config_map("a", "demo", "1"))
        .await
        .unwrap();
    let h = Harness::start(&client, &process(&ns, "", true)).await;
    cms.create(&PostParams::default(), &config_map("b", "demo", "1"))
        .await
        .unwrap();
    // Not selected by the label selector.
    cms.create(&PostParams::default(), &config_map("c", "other", "1"))
        .await
        .unwrap();
    let events = h
        .until("one instance each for a and b", |e| e.len() == 2)
        .await;
    assert_eq!(keys(&events), [format!("{ns}/a"), format!("{ns}/b")]);
    let a = events.iter().find(|e| e["name"] == "a").unwrap();
    assert_eq!(a["type"], "applied");
    assert_eq!(a["kind"], "ConfigMap");
    assert_eq!(a["object"]["data"]["value"], "1");
    assert_eq!(a["resync"], false);

    // Two changes of a while its instance runs: coalesced, the latest waits.
    for v in ["2", "3"] {
        cms.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"value": v}})),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        h.instances().await.len(),
        2,
        "nothing new while a's instance runs"
    );
    // a's instance ends: the waiting change (the latest) runs.
    let rows = h.instances().await;
    let mut a_job = None;
    for row in &rows {
        let out = h.rt.outcome(&row.instance).await.unwrap();
        if out.variables["event"]["name"] == "a" {
            a_job = h
                .held
                .lock()
                .unwrap()
                .iter()
                .find(|(id, _)| id == row.instance.id.as_str())
                .map(|(_, k)| k.clone());
        }
    }
    h.rt.complete_job(&a_job.expect("a's held job"), Default::default())
        .await
        .unwrap();
    let events = h
        .until("a third instance, for a's latest change", |e| e.len() == 3)
        .await;
    assert_eq!(events[2]["name"], "a");
    assert_eq!(events[2]["object"]["data"]["value"], "3");
    h.stop().await;
}

#[tokio::test]
async fn a_resync_delivers_every_object_again() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "resync").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    cms.create(&PostParams::default(), &config_map("a", "demo", "1"))
        .await
        .unwrap();
    let h = Harness::start(&client, &process(&ns, r#"resync="PT1S""#, false)).await;
    let events = h
        .until("the first delivery and two resyncs", |e| e.len() >= 3)
        .await;
    assert_eq!(events[0]["resync"], false);
    assert!(
        events[1..]
            .iter()
            .all(|e| e["resync"] == true && e["name"] == "a")
    );
    h.stop().await;
}

#[tokio::test]
async fn a_deletion_is_seen_through_the_finalizer_which_the_process_removes() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "final").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let h = Harness::start(
        &client,
        &process(&ns, r#"finalizer="windlass.test/cleanup""#, false),
    )
    .await;
    cms.create(&PostParams::default(), &config_map("a", "demo", "1"))
        .await
        .unwrap();
    // The watch puts its finalizer on the object.
    let mut finalized = false;
    for _ in 0..100 {
        let cm = cms.get("a").await.unwrap();
        if cm.metadata.finalizers.unwrap_or_default() == ["windlass.test/cleanup"] {
            finalized = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(finalized, "the watch adds its finalizer");
    h.until("the applied event", |e| !e.is_empty()).await;
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let events = h
        .until("the deletion", |e| e.iter().any(|e| e["type"] == "deleted"))
        .await;
    let deleted = events.iter().find(|e| e["type"] == "deleted").unwrap();
    assert_eq!(
        deleted["object"]["data"]["value"], "1",
        "seen while it exists"
    );
    // The process removed the finalizer: the object is gone.
    let mut gone = false;
    for _ in 0..100 {
        if cms.get_opt("a").await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the process released the object");
    // The final removal is not delivered a second time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deletions = h
        .events()
        .await
        .iter()
        .filter(|e| e["type"] == "deleted")
        .count();
    assert_eq!(deletions, 1);
    for row in h.instances().await {
        assert_eq!(row.status, InstanceStatus::Completed);
    }
    h.stop().await;
}
