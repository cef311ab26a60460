//! What an instance waits on, seen through the API on a real server
//! (loopback, SQLite store): `GET /api/v1/messages` lists messages buffered
//! under a key nobody waits with (filtered by name and key), and
//! `GET /api/v1/dedup?instance=` the dedup keys one instance holds or waits
//! for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fixture;
use serde_json::json;

const PROCESSES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <message id="go" name="go">
    <extensionElements><windlass:correlation key="order"/></extensionElements>
  </message>
  <process id="wait" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="catch"/>
    <intermediateCatchEvent id="catch"><messageEventDefinition messageRef="go"/></intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="catch" targetRef="e"/>
    <endEvent id="e"/>
  </process>
  <process id="deploy" isExecutable="true">
    <startEvent id="ds"/>
    <sequenceFlow id="d1" sourceRef="ds" targetRef="work"/>
    <serviceTask id="work">
      <extensionElements>
        <windlass:task kind="remote"/>
        <windlass:dedup key="{target}"/>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="d2" sourceRef="work" targetRef="de"/>
    <endEvent id="de"/>
  </process>
</definitions>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_messages_and_dedup_keys_are_listed_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(&dir.path().join("w.db"), Some(PROCESSES)).await;

    // A wait for `go` with key A-17; `go` published with B-99 is buffered.
    f.post(
        "/api/v1/instances",
        json!({"processId": "wait", "instanceId": "w1", "variables": {"order": "A-17"}, "wait": "settled"}),
    )
    .await;
    f.post(
        "/api/v1/messages",
        json!({"name": "go", "correlationKey": "B-99", "messageId": "m1"}),
    )
    .await;
    f.post(
        "/api/v1/messages",
        json!({"name": "other", "correlationKey": "B-99", "messageId": "m2"}),
    )
    .await;
    let (status, all) = f.get("/api/v1/messages").await;
    assert_eq!(status, 200, "{all}");
    let ids: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, [json!("m1"), json!("m2")]);
    assert_eq!(all[0]["correlationKey"], "B-99");
    let (_, named) = f.get("/api/v1/messages?name=go").await;
    assert_eq!(named.as_array().unwrap().len(), 1);
    assert_eq!(named[0]["id"], "m1");
    let (_, keyed) = f.get("/api/v1/messages?correlationKey=A-17").await;
    assert_eq!(keyed, json!([]));
    let (status, _) = f.get("/api/v1/messages?nam=go").await;
    assert_eq!(status, 400, "an unknown filter is refused");
    // Published with the awaited key: taken, no longer buffered.
    f.post(
        "/api/v1/messages",
        json!({"name": "go", "correlationKey": "A-17", "messageId": "m3"}),
    )
    .await;
    f.wait_status("w1", "completed").await;
    let (_, named) = f.get("/api/v1/messages?name=go").await;
    assert_eq!(named.as_array().unwrap().len(), 1, "{named}");

    // Two deploys to `prod`: the first holds the key, the second waits; a
    // deploy to `dev` holds its own.
    for (id, target) in [("d1", "prod"), ("d2", "prod"), ("d3", "dev")] {
        f.post(
            "/api/v1/instances",
            json!({"processId": "deploy", "instanceId": id, "variables": {"target": target}, "wait": "settled"}),
        )
        .await;
    }
    let (_, all) = f.get("/api/v1/dedup").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let (_, of_d2) = f.get("/api/v1/dedup?instance=d2").await;
    let rows = of_d2.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{of_d2}");
    assert!(
        rows[0]["key"].as_str().unwrap().ends_with("prod"),
        "{of_d2}"
    );
    assert!(rows[0]["holder"].as_str().unwrap().starts_with("d1/"));
    assert!(rows[0]["waiting"].as_str().unwrap().starts_with("d2/"));
    let (_, of_d1) = f.get("/api/v1/dedup?instance=d1").await;
    assert_eq!(of_d1, of_d2, "the holder sees the same key");
    let (_, of_d3) = f.get("/api/v1/dedup?instance=d3").await;
    assert!(of_d3[0]["key"].as_str().unwrap().ends_with("dev"));
    let (_, none) = f.get("/api/v1/dedup?instance=d").await;
    assert_eq!(none, json!([]), "an id prefix is not a match");
    f.stop().await;
}
