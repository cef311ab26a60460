//! Values under secret names (`dbPassword`, `apiToken`, …) are masked in
//! everything the API shows of an instance — its detail, its history
//! lines, the answer of an awaited start — while the tasks of the process
//! get the real value (a real server on loopback, SQLite store; the remote
//! task's job is fetched and completed through the API).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fixture;
use serde_json::json;
use windlass_engine::secret_names::MASK;

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="login" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="use"/>
    <serviceTask id="use"><extensionElements><windlass:task kind="remote"/></extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="use" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_masks_values_under_secret_names() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(&dir.path().join("m.db"), Some(PROCESS)).await;
    f.post(
        "/api/v1/instances",
        json!({"processId": "login", "instanceId": "i1",
               "variables": {"user": "ada", "dbPassword": "hunter2", "config": {"apiToken": "t-1"}}}),
    )
    .await;
    f.wait_status("i1", "running").await;

    // The task's job carries the real values.
    let activated = f
        .post(
            "/api/v1/jobs/activate",
            json!({"kinds": ["remote"], "workerId": "w", "waitMillis": 5000}),
        )
        .await;
    let job = &activated["jobs"][0];
    assert_eq!(job["variables"]["dbPassword"], "hunter2", "{activated}");
    let key = job["jobKey"].as_str().unwrap().to_string();

    // What the API shows of the instance does not.
    let (_, detail) = f.get("/api/v1/instances/i1").await;
    assert_eq!(detail["variables"]["user"], "ada");
    assert_eq!(detail["variables"]["dbPassword"], MASK);
    assert_eq!(detail["variables"]["config"]["apiToken"], MASK);
    f.post(
        "/api/v1/jobs/complete",
        json!({"jobKey": key, "variables": {"sessionToken": "s-3", "rows": 2}}),
    )
    .await;
    f.wait_status("i1", "completed").await;
    let (_, detail) = f.get("/api/v1/instances/i1").await;
    assert_eq!(detail["variables"]["sessionToken"], MASK);
    assert_eq!(detail["variables"]["rows"], 2);
    let (_, history) = f.get("/api/v1/instances/i1/history").await;
    let text = history.to_string();
    for value in ["hunter2", "t-1", "s-3"] {
        assert!(!text.contains(value), "{value} in {text}");
    }
    assert!(text.contains("dbPassword") && text.contains(MASK), "{text}");

    // The answer of an awaited start, too (it settles waiting for its job).
    let answer = f
        .post(
            "/api/v1/instances",
            json!({"processId": "login", "instanceId": "i2",
                   "variables": {"dbPassword": "hunter2"}, "wait": "settled"}),
        )
        .await;
    assert_eq!(answer["status"], "running", "{answer}");
    assert_eq!(answer["variables"]["dbPassword"], MASK, "{answer}");
    f.stop().await;
}
