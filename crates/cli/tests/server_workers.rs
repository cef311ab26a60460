//! End-to-end tests of remote workers against the real `windlass server`:
//! fetch-and-lock by kind (`POST /api/v1/jobs/activate`) with long
//! polling, leases extended by heartbeats, a lease that runs out failing
//! the attempt (the next attempt is handed out, the late answer refused),
//! a cancelled job told on the next heartbeat, bad activations refused,
//! and jobs handed out again after a restart under the same key.

mod server_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server_common::ServerProc;
use std::time::{Duration, Instant};

const BUILD_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="build" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="compile"/>
    <serviceTask id="compile" name="Build {name}">
      <extensionElements>
        <windlass:task kind="build" retries="3" backoff="PT1S">
          <windlass:setting name="target" value="release-{name}"/>
        </windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="compile" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#;

async fn start(srv: &ServerProc, id: &str) {
    let (status, v) = srv
        .post(
            "/api/v1/instances",
            json!({"processId": "build", "instanceId": id, "variables": {"name": id}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

async fn activate(srv: &ServerProc, body: Value) -> Vec<Value> {
    let (status, v) = srv.post("/api/v1/jobs/activate", body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["jobs"].as_array().cloned().unwrap_or_default()
}

fn key(job: &Value) -> String {
    job["jobKey"].as_str().expect("jobKey").to_string()
}

#[tokio::test]
async fn workers_fetch_lock_answer_and_lose_expired_leases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(&db, &[]);
    let (status, v) = srv.deploy(BUILD_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // Fetch and lock: the job with its variables, settings and name.
    start(&srv, "api").await;
    srv.wait_for("api", |v| v["status"] == "running").await;
    let jobs = activate(
        &srv,
        json!({"kinds": ["build"], "workerId": "w1", "waitMillis": 3000}),
    )
    .await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job["kind"], "build");
    assert_eq!(job["name"], "Build api");
    assert_eq!(job["instanceId"], "api");
    assert_eq!(job["variables"]["name"], "api");
    assert_eq!(job["settings"]["target"], "release-api");
    assert_eq!(
        (job["attempt"].as_u64(), job["maxAttempts"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(job["lockMillis"], 60_000);
    // The board's levels are in /metrics.
    let metrics = srv
        .client()
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"windlass_worker_jobs{state="leased"} 1"#,
        r#"windlass_worker_jobs{state="queued"} 0"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in:\n{metrics}"
        );
    }
    // Locked: nobody else gets it; other kinds have nothing.
    assert!(
        activate(&srv, json!({"kinds": ["build"], "workerId": "w2"}))
            .await
            .is_empty()
    );
    assert!(
        activate(&srv, json!({"kinds": ["deploy"], "workerId": "w2"}))
            .await
            .is_empty()
    );
    let (status, _) = srv
        .post(
            "/api/v1/jobs/heartbeat",
            json!({"jobKey": key(job), "lockMillis": 120000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = srv
        .post(
            "/api/v1/jobs/complete",
            json!({"jobKey": key(job), "variables": {"artifact": "api.tar"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let done = srv.wait_for("api", |v| v["status"] == "completed").await;
    assert_eq!(done["variables"]["artifact"], "api.tar");

    // Long polling: a waiting activation answers as soon as a job comes.
    let poll = tokio::spawn({
        let req = srv
            .req(reqwest::Method::POST, "/api/v1/jobs/activate")
            .json(&json!({"kinds": ["deploy", "build"], "workerId": "w1", "waitMillis": 20000}));
        async move {
            let asked = Instant::now();
            let v: Value = req.send().await.expect("send").json().await.expect("json");
            (v, asked.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    start(&srv, "web").await;
    let (v, waited) = poll.await.expect("poll");
    assert_eq!(v["jobs"][0]["instanceId"], "web", "{v}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    let first = key(&v["jobs"][0]);
    // The lease of this one runs out: the attempt fails, and the next
    // attempt is handed out; the late answer of the first is refused.
    let (status, _) = srv
        .post(
            "/api/v1/jobs/heartbeat",
            json!({"jobKey": first, "lockMillis": 200}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let jobs = activate(
        &srv,
        json!({"kinds": ["build"], "workerId": "w2", "waitMillis": 15000, "lockMillis": 60000}),
    )
    .await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["attempt"], 2, "{jobs:?}");
    let (status, v) = srv
        .post("/api/v1/jobs/complete", json!({"jobKey": first}))
        .await;
    assert!(status.is_client_error(), "{status} {v}");
    let (_, history) = srv.get("/api/v1/instances/web/history").await;
    let failed = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| {
            e["eventType"] == "JobFailed"
                && e["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("lease of worker 'w1' ran out")
        });
    assert!(failed, "{history}");
    let (status, _) = srv
        .post("/api/v1/jobs/complete", json!({"jobKey": key(&jobs[0])}))
        .await;
    assert_eq!(status, StatusCode::OK);
    srv.wait_for("web", |v| v["status"] == "completed").await;

    // A job the engine cancels: the worker learns it at its next heartbeat.
    start(&srv, "db").await;
    let jobs = activate(
        &srv,
        json!({"kinds": ["build"], "workerId": "w1", "waitMillis": 3000}),
    )
    .await;
    let (status, _) = srv
        .post(
            "/api/v1/instances/db/terminate",
            json!({"reason": "not now"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = srv
        .post("/api/v1/jobs/heartbeat", json!({"jobKey": key(&jobs[0])}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["code"], "job_not_open");

    // Bad activations.
    for body in [
        json!({"kinds": [], "workerId": "w"}),
        json!({"kinds": ["build"], "workerId": " "}),
        json!({"kinds": ["build"], "workerId": "w", "maxJobs": 0}),
        json!({"kinds": ["build"], "workerId": "w", "lockMillis": 0}),
        json!({"kinds": ["build"], "workerId": "w", "waitMillis": 600000}),
    ] {
        let (status, v) = srv.post("/api/v1/jobs/activate", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} {v}");
        assert_eq!(v["code"], "invalid_activation");
    }
    // A wrong type is the extractor's error, naming the field.
    let (status, v) = srv
        .post("/api/v1/jobs/activate", json!({"kinds": "build"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains("kinds"), "{v}");

    // After a restart a job still open is handed out again, same key.
    start(&srv, "cli").await;
    let jobs = activate(
        &srv,
        json!({"kinds": ["build"], "workerId": "w1", "waitMillis": 3000}),
    )
    .await;
    let before = key(&jobs[0]);
    assert!(srv.stop().success());
    let srv = ServerProc::start(&db, &[]);
    let jobs = activate(
        &srv,
        json!({"kinds": ["build"], "workerId": "w1", "waitMillis": 5000}),
    )
    .await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(key(&jobs[0]), before);
    let (status, _) = srv
        .post("/api/v1/jobs/complete", json!({"jobKey": before}))
        .await;
    assert_eq!(status, StatusCode::OK);
    srv.wait_for("cli", |v| v["status"] == "completed").await;
    assert!(srv.stop().success());
}
