//! `GET /api/v1/definitions/{processId}/statistics` on a real server
//! (loopback, SQLite store): per-node counts over every run of a version
//! (active tokens, incidents, tokens that left each node), exact for
//! completed, waiting and failed runs, and the same after a restart on the
//! same database (the tallies are stored, nothing is replayed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::collections::BTreeMap;

mod common;
use common::{Fixture, fixture};

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow id="fa" sourceRef="fork" targetRef="a"/>
    <sequenceFlow id="fb" sourceRef="fork" targetRef="b"/>
    <serviceTask id="a" name="Build">
      <extensionElements><windlass:task kind="remote" retries="0"/></extensionElements>
    </serviceTask>
    <serviceTask id="b" name="Test">
      <extensionElements><windlass:task kind="remote"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="ja" sourceRef="a" targetRef="join"/>
    <sequenceFlow id="jb" sourceRef="b" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow id="f2" sourceRef="join" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

/// Node id → (active, incidents, completed).
async fn counts(f: &Fixture) -> (Value, BTreeMap<String, (u64, u64, u64)>) {
    let (status, stats) = f.get("/api/v1/definitions/p/statistics").await;
    assert_eq!(status, 200, "{stats}");
    let nodes = stats["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let c = |k: &str| n[k].as_u64().unwrap();
            (
                n["node"].as_str().unwrap().to_string(),
                (c("active"), c("incidents"), c("completed")),
            )
        })
        .collect();
    (stats, nodes)
}

fn expected() -> BTreeMap<String, (u64, u64, u64)> {
    [
        ("s", (0, 0, 3)),
        ("fork", (0, 0, 3)),
        ("a", (1, 1, 1)),
        ("b", (2, 0, 1)),
        ("join", (0, 0, 2)),
        ("e", (0, 0, 1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_every_node_of_every_run_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let f = fixture(&db, Some(PROCESS)).await;
    for id in ["done", "failed", "waiting"] {
        f.post(
            "/api/v1/instances",
            json!({"processId": "p", "instanceId": id, "wait": "settled"}),
        )
        .await;
    }
    // `done` completes both branches; `failed` fails `a` for good (an
    // incident) while `b` stays open; `waiting` waits at both.
    for node in ["a", "b"] {
        let job = f.job("done", node).await;
        f.post("/api/v1/jobs/complete", json!({"jobKey": job}))
            .await;
    }
    let job = f.job("failed", "a").await;
    f.post(
        "/api/v1/jobs/fail",
        json!({"jobKey": job, "message": "compiler crashed", "retryable": false}),
    )
    .await;
    f.wait_status("done", "completed").await;
    f.wait_status("failed", "incident").await;

    let (stats, nodes) = counts(&f).await;
    assert_eq!(nodes, expected(), "{stats}");
    assert_eq!(stats["instances"], 3);
    assert_eq!(stats["replayed"], 0, "every run has its stored tally");
    assert_eq!(
        stats["byStatus"],
        json!({"completed": 1, "incident": 1, "running": 1})
    );
    let a = stats["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "a")
        .unwrap();
    assert_eq!(a["name"], "Build");

    // A version that does not exist, a process that does not: 404.
    let (status, body) = f.get("/api/v1/definitions/p/statistics?version=9").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = f.get("/api/v1/definitions/nope/statistics").await;
    assert_eq!(status, 404);

    // Restarted on the same database: the same counts, from the stored
    // tallies.
    f.stop().await;
    let f = fixture(&db, None).await;
    let (stats, nodes) = counts(&f).await;
    assert_eq!(nodes, expected(), "{stats}");
    assert_eq!(stats["replayed"], 0);
    f.stop().await;
}
