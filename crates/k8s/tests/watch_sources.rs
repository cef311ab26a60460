//! Watch sources end to end against the real API server: a process with a
//! `windlass:kubernetesWatch` source runs in a real runtime with the watch
//! service; the test changes ConfigMaps with kube-rs and checks which
//! instances the changes started (reconcile semantics with a dedup key),
//! a resync, and a deletion seen through the watch's finalizer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::watch::{Harness, config_map, keys, process};
use common::{cluster, namespace};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;
use windlass_store_api::InstanceStatus;

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
