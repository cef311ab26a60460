//! What the tests of several servers on one PostgreSQL database share: a
//! process whose job and timer must each happen once, starting through a
//! node, counting job completions, and restarting the test server.

use super::ServerProc;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// A shell job, then a half-second timer: both must happen once per
/// instance whichever node runs it.
pub const PIPELINE_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="pipeline" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="build"/>
    <serviceTask id="build" name="Build">
      <extensionElements>
        <windlass:task kind="shell">
          <windlass:setting name="command" value="printf built"/>
        </windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="build" targetRef="settle"/>
    <intermediateCatchEvent id="settle" name="Settle">
      <timerEventDefinition><timeDuration>PT0.5S</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="settle" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"#;

/// A fresh schema on the test server, as a URL (`None`: skipped).
pub fn database(tag: &str) -> Option<String> {
    windlass_pg_testing::schema_url_blocking(tag)
}

/// Starts one `process` instance with id `id` through `node`: its id if
/// accepted.
pub async fn start(node: &ServerProc, process: &str, id: &str) -> Option<String> {
    let rb = node
        .req(reqwest::Method::POST, "/api/v1/instances")
        .json(&json!({"processId": process, "instanceId": id}))
        .timeout(Duration::from_secs(10));
    match rb.send().await {
        Ok(r) if r.status() == StatusCode::CREATED => Some(id.to_string()),
        _ => None,
    }
}

/// How many times a job of instance `id` was completed.
pub async fn completions(node: &ServerProc, id: &str) -> usize {
    let (status, v) = node
        .get(&format!("/api/v1/instances/{id}/history?limit=10000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            let text = e["text"].as_str().unwrap_or_default();
            text.starts_with("job of token") && text.contains(" completed ")
        })
        .count()
}

/// Restarts the test server (`scripts/pg-test-env restart`): every
/// connection to it is cut.
pub async fn restart_postgres() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-env");
    let restarted = tokio::task::spawn_blocking(move || {
        std::process::Command::new(script)
            .arg("restart")
            .output()
            .expect("run pg-test-env")
    })
    .await
    .expect("join");
    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
}
