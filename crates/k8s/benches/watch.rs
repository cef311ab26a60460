//! `scripts/bench-watch [OBJECTS] [CHANGES]`: watch events into
//! deduplicated instances, beside a kube-rs `Controller` doing the same
//! no-op reconcile, on the real test API server, each in a process of its
//! own (so their memory is measured apart):
//!
//! - **initial list**: OBJECTS ConfigMaps (default 10,000) exist before
//!   the watch starts; the time until every one has been delivered — for
//!   Windlass: an instance started (message start event, dedup key
//!   `{event.key}`) and finished; for the controller: reconciled;
//! - **memory per watched object**: the process's resident memory after
//!   the list, minus before, divided by OBJECTS;
//! - **change → reconcile**: CHANGES objects (default 200) patched one at
//!   a time; the time from the patch's answer to the instance for that
//!   resource version finishing (Windlass) or the reconcile starting
//!   (controller): p50 and p99.
//!
//! Needs `KUBECONFIG` (the test API server; `scripts/bench-watch` starts
//! one). The API server, etcd and the bench share the machine's cores.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use windlass_k8s::{ClusterOptions, LazyClient, WatchOptions, WatchService};
use windlass_runtime::{Handlers, Runtime, RuntimeOptions};
use windlass_store_memory::MemoryStore;

const LABEL: &str = "bench=watch";

fn process(ns: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:b">
<message id="m" name="changed"/>
<process id="reconcile" isExecutable="true">
  <extensionElements>
    <windlass:kubernetesWatch message="changed" apiVersion="v1" kind="ConfigMap"
        namespace="{ns}" labelSelector="{LABEL}"/>
    <windlass:instanceId template="{{event.name}}@{{event.resourceVersion}}"/>
  </extensionElements>
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{{event.key}}"/></extensionElements>
    <messageEventDefinition messageRef="m"/>
  </startEvent>
  <sequenceFlow id="f" sourceRef="s" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

/// Resident memory of this process in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

/// When each `name@resourceVersion` was reconciled.
type Seen = Arc<Mutex<HashMap<String, Instant>>>;

async fn client() -> kube::Client {
    let kubeconfig = std::env::var_os("KUBECONFIG").map(Into::into);
    ClusterOptions {
        kubeconfig,
        context: None,
    }
    .client()
    .await
    .expect("client")
}

/// Creates the namespace and `n` labelled ConfigMaps in it.
async fn populate(client: &kube::Client, ns: &str, n: usize) {
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("namespace");
    let api = Api::<ConfigMap>::namespaced(client.clone(), ns);
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let cm: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": format!("cm-{i}"), "labels": {"bench": "watch"}},
                    "data": {"v": "0"}
                }))
                .unwrap();
                api.create(&PostParams::default(), &cm)
                    .await
                    .expect("create");
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

/// Waits until `seen` holds `n` entries; the time it took.
async fn until_seen(seen: &Seen, n: usize, started: Instant) -> Duration {
    loop {
        if seen.lock().unwrap().len() >= n {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Patches `m` objects one at a time; per patch, the time from its answer
/// until `seen` has its `name@resourceVersion`.
async fn latencies(client: &kube::Client, ns: &str, seen: &Seen, m: usize) -> Vec<Duration> {
    let api = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let mut out = Vec::with_capacity(m);
    for i in 0..m {
        let name = format!("cm-{i}");
        let patched = api
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"v": "1"}})),
            )
            .await
            .expect("patch");
        let at = Instant::now();
        let key = format!(
            "{name}@{}",
            patched.metadata.resource_version.unwrap_or_default()
        );
        loop {
            if let Some(done) = seen.lock().unwrap().get(&key) {
                out.push(done.saturating_duration_since(at));
                break;
            }
            if at.elapsed() > Duration::from_secs(30) {
                panic!("{key} was never reconciled");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    out.sort();
    out
}

async fn windlass(ns: &str, n: usize, m: usize) -> serde_json::Value {
    let client = client().await;
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let options = RuntimeOptions {
        on_finished: Some(Arc::new(move |instance, _| {
            record
                .lock()
                .unwrap()
                .insert(instance.id.as_str().to_string(), Instant::now());
        })),
        ..RuntimeOptions::default()
    };
    let before = rss();
    let rt = Runtime::start(options, MemoryStore::new(), Handlers::new())
        .await
        .unwrap();
    rt.deploy(&process(ns)).await.unwrap();
    let started = Instant::now();
    let watch = WatchService::run(
        Arc::new(LazyClient::of(client.clone())),
        Arc::new(rt.clone()),
        rt.message_sources(),
        WatchOptions::default(),
    );
    let list = until_seen(&seen, n, started).await;
    let per_object = rss().saturating_sub(before) / n as u64;
    let lat = latencies(&client, ns, &seen, m).await;
    watch.shutdown().await;
    rt.shutdown().await.unwrap();
    summary("windlass", n, list, per_object, &lat)
}

async fn controller(ns: &str, n: usize, m: usize) -> serde_json::Value {
    let client = client().await;
    let seen: Seen = Arc::default();
    let before = rss();
    let started = Instant::now();
    let api = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let ctx = seen.clone();
    let run = tokio::spawn(
        Controller::new(api, watcher::Config::default().labels(LABEL))
            .run(
                |cm: Arc<ConfigMap>, seen: Arc<Seen>| async move {
                    let key = format!(
                        "{}@{}",
                        cm.metadata.name.clone().unwrap_or_default(),
                        cm.metadata.resource_version.clone().unwrap_or_default()
                    );
                    seen.lock().unwrap().insert(key, Instant::now());
                    Ok::<_, kube::Error>(Action::await_change())
                },
                |_, _, _| Action::requeue(Duration::from_secs(1)),
                Arc::new(ctx),
            )
            .for_each(|_| async {}),
    );
    let list = until_seen(&seen, n, started).await;
    let per_object = rss().saturating_sub(before) / n as u64;
    let lat = latencies(&client, ns, &seen, m).await;
    run.abort();
    summary("kube-rs Controller", n, list, per_object, &lat)
}

fn summary(
    what: &str,
    n: usize,
    list: Duration,
    per_object: u64,
    lat: &[Duration],
) -> serde_json::Value {
    json!({
        "what": what,
        "objects": n,
        "list_seconds": list.as_secs_f64(),
        "events_per_second": n as f64 / list.as_secs_f64(),
        "bytes_per_object": per_object,
        "p50_ms": percentile(lat, 0.5).as_secs_f64() * 1000.0,
        "p99_ms": percentile(lat, 0.99).as_secs_f64() * 1000.0,
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if std::env::var_os("KUBECONFIG").is_none() {
        eprintln!("set KUBECONFIG (scripts/bench-watch starts a test API server)");
        return;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    // A phase in a process of its own: `--phase windlass|controller NS N M`.
    if args.first().map(String::as_str) == Some("--phase") {
        let ns = args[2].clone();
        let n: usize = args[3].parse().expect("N");
        let m: usize = args[4].parse().expect("M");
        let line = match args[1].as_str() {
            "windlass" => tokio.block_on(windlass(&ns, n, m)),
            _ => tokio.block_on(controller(&ns, n, m)),
        };
        println!("{line}");
        return;
    }
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let m: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let mut rows = Vec::new();
    for phase in ["controller", "windlass"] {
        // A namespace (and objects) of its own per phase: both start cold.
        let ns = format!(
            "bench-{phase}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        );
        tokio.block_on(async { populate(&client().await, &ns, n).await });
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args(["--phase", phase, &ns, &n.to_string(), &m.to_string()])
            .output()
            .expect("phase");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let row: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON line");
        rows.push(row);
    }
    println!("\n{n} watched ConfigMaps, {m} changes one at a time");
    println!(
        "{:20} {:>10} {:>12} {:>14} {:>9} {:>9}",
        "", "list s", "events/s", "bytes/object", "p50 ms", "p99 ms"
    );
    for r in &rows {
        println!(
            "{:20} {:>10.2} {:>12.0} {:>14} {:>9.2} {:>9.2}",
            r["what"].as_str().unwrap_or(""),
            r["list_seconds"].as_f64().unwrap_or(0.0),
            r["events_per_second"].as_f64().unwrap_or(0.0),
            r["bytes_per_object"].as_u64().unwrap_or(0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
        );
    }
}
