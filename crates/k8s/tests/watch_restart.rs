//! A watch survives a restart of the API server: its stream breaks, the
//! restarted server no longer has its resource version (410 Gone), it
//! lists again, and changes made right after the server comes back are
//! delivered, none missed and none twice. (A test binary of its own:
//! the restart cuts every client of the shared test API server.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::watch::{Harness, config_map, process};
use common::{cluster, namespace};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::process::Command;

/// Restarts kube-apiserver on its port (`scripts/k8s-test-env`).
fn restart_apiserver() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/k8s-test-env");
    let out = Command::new("bash")
        .arg(script)
        .arg("restart-apiserver")
        .output()
        .expect("run scripts/k8s-test-env");
    assert!(
        out.status.success(),
        "restart-apiserver: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn nothing_is_missed_across_an_api_server_restart() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "restart").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let h = Harness::start(&client, &process(&ns, "", false)).await;
    cms.create(&PostParams::default(), &config_map("a", "demo", "1"))
        .await
        .unwrap();
    h.until("a's first change", |e| e.len() == 1).await;
    let before = h.watch.stats();
    tokio::task::spawn_blocking(restart_apiserver)
        .await
        .unwrap();
    // At once, while the watch is still reconnecting.
    cms.create(&PostParams::default(), &config_map("b", "demo", "1"))
        .await
        .unwrap();
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"value": "2"}})),
    )
    .await
    .unwrap();
    let events = h
        .until("b and a's second change after the restart", |e| {
            e.len() == 3
                && e.iter().any(|x| x["name"] == "b")
                && e.iter()
                    .any(|x| x["name"] == "a" && x["object"]["data"]["value"] == "2")
        })
        .await;
    // a's first change was not delivered a second time.
    let a_ones = events
        .iter()
        .filter(|e| e["name"] == "a" && e["object"]["data"]["value"] == "1")
        .count();
    assert_eq!(a_ones, 1, "{events:#?}");
    let after = h.watch.stats();
    eprintln!("watch stats: {before:?} → {after:?}");
    assert!(
        after.errors > before.errors,
        "the restart broke the watch stream"
    );
    h.stop().await;
}
