//! A stalled watch is detected and replaced: with kube-apiserver frozen
//! (SIGSTOP: its connections stay open, nothing comes through) the watch
//! delivers nothing, the watchdog restarts it, and once the server thaws
//! the next change is delivered. (A test binary of its own: freezing the
//! shared test API server stops every client.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::watch::{Harness, config_map, process};
use common::{cluster, namespace};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use std::process::Command;
use std::time::Duration;
use windlass_k8s::WatchOptions;

/// Sends kube-apiserver `sig` (`scripts/k8s-test-env signal-apiserver`).
fn signal_apiserver(sig: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/k8s-test-env");
    let out = Command::new("bash")
        .args([script, "signal-apiserver", sig])
        .output()
        .expect("run scripts/k8s-test-env");
    assert!(
        out.status.success(),
        "signal-apiserver {sig}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Thaws the API server however the test ends.
struct Thaw;

impl Drop for Thaw {
    fn drop(&mut self) {
        signal_apiserver("CONT");
    }
}

#[tokio::test]
async fn a_frozen_api_server_is_survived_and_the_silent_watch_restarted() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "stall").await;
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let options = WatchOptions {
        stall_after: Duration::from_secs(2),
        max_backoff: Duration::from_secs(2),
    };
    let h = Harness::start_with(&client, &process(&ns, "", false), options).await;
    cms.create(&PostParams::default(), &config_map("a", "demo", "1"))
        .await
        .unwrap();
    h.until("a's change", |e| e.len() == 1).await;
    let before = h.watch.stats();
    {
        let _thaw = Thaw;
        signal_apiserver("STOP");
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let stats = h.watch.stats();
    assert!(
        stats.stalls > before.stalls,
        "the silent watch was restarted: {before:?} → {stats:?}"
    );
    cms.create(&PostParams::default(), &config_map("b", "demo", "1"))
        .await
        .unwrap();
    h.until("b's change after the thaw", |e| {
        e.len() == 2 && e.iter().any(|x| x["name"] == "b")
    })
    .await;
    assert!(
        h.watch.stats().lists > before.lists,
        "a restarted watch lists again"
    );
    h.stop().await;
}
