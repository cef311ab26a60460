//! End-to-end tests of the real `windlass server` binary around its
//! lifecycle: `--processes DIR` deploys the folder at start and again when
//! a file changes or appears (a file with errors is reported and skipped),
//! `--grpc-listen` opens the gRPC worker port too, and a second SIGTERM
//! during the drain exits at once with 130.

mod server_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server_common::{ORDER_BPMN, ServerProc};
use std::time::{Duration, Instant};

/// Polls `GET path` until `done(body)` holds (at most 20 s).
async fn poll(srv: &ServerProc, path: &str, done: impl Fn(StatusCode, &Value) -> bool) -> Value {
    for _ in 0..400 {
        let (status, v) = srv.get(path).await;
        if done(status, &v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{path} never matched: {:?}\n{}",
        srv.get(path).await,
        srv.stderr()
    )
}

fn latest_version(v: &Value) -> u64 {
    v["latest"]["version"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn the_processes_folder_is_deployed_at_start_and_again_on_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let procs = dir.path().join("procs");
    std::fs::create_dir_all(procs.join("nested")).expect("mkdir");
    let order = procs.join("order.bpmn");
    std::fs::write(&order, ORDER_BPMN).expect("write");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(
        &db,
        &[
            "--processes",
            procs.to_str().expect("utf-8"),
            "--poll-ms",
            "100",
            "--grpc-listen",
            "127.0.0.1:0",
        ],
    );
    // The gRPC worker service listens too (driven by crates/server/tests/grpc.rs).
    // Read until the whole line is there (stderr may be caught mid-line).
    let grpc_line = |log: &str| -> Option<std::net::SocketAddr> {
        log.lines()
            .find_map(|l| l.strip_prefix("gRPC workers: http://"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|a| a.parse().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while grpc_line(&srv.stderr()).is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = srv.stderr();
    let grpc = grpc_line(&log).unwrap_or_else(|| panic!("no gRPC line in:\n{log}"));
    std::net::TcpStream::connect(grpc).expect("the gRPC port accepts");
    // Deployed before the server answers.
    let (status, v) = srv.get("/api/v1/definitions/order").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(latest_version(&v), 1);

    // A changed file is a new version; new instances use it.
    std::fs::write(
        &order,
        ORDER_BPMN.replace(r#"name="Review order""#, r#"name="Review the order""#),
    )
    .expect("write");
    poll(&srv, "/api/v1/definitions/order", |_, v| {
        latest_version(v) == 2
    })
    .await;

    // A new file in a sub-folder is deployed too.
    let tick = ORDER_BPMN.replace(r#"process id="order""#, r#"process id="tick""#);
    std::fs::write(procs.join("nested/tick.bpmn20.xml"), tick).expect("write");
    poll(&srv, "/api/v1/definitions/tick", |s, _| s == StatusCode::OK).await;

    // A file with errors is reported with its diagnostics and skipped;
    // the server keeps serving and nothing else changes.
    std::fs::write(
        procs.join("broken.bpmn"),
        ORDER_BPMN
            .replace(r#"process id="order""#, r#"process id="broken""#)
            .replace(r#"targetRef="end""#, r#"targetRef="nowhere""#),
    )
    .expect("write");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !srv.stderr().contains("broken.bpmn") {
        assert!(Instant::now() < deadline, "{}", srv.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = srv.stderr();
    assert!(log.contains("nowhere"), "{log}");
    let (status, _) = srv.get("/api/v1/definitions/broken").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, v) = srv.get("/api/v1/definitions/order").await;
    assert_eq!(latest_version(&v), 2);
    // Touching a file without changing it deploys nothing new.
    std::fs::write(
        &order,
        ORDER_BPMN.replace(r#"name="Review order""#, r#"name="Review the order""#),
    )
    .expect("write");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, v) = srv.get("/api/v1/definitions/order").await;
    assert_eq!(latest_version(&v), 2);
    assert!(srv.stop().success());
}

/// A shell task that sleeps: a request waiting for it keeps the drain busy.
const SLEEPY_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="sleepy" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="nap"/>
    <serviceTask id="nap" name="Nap">
      <extensionElements>
        <windlass:task kind="shell">
          <windlass:setting name="command" value="sleep 30"/>
        </windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="nap" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#;

#[tokio::test]
async fn a_second_signal_during_the_drain_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(&db, &[]);
    let (status, v) = srv.deploy(SLEEPY_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // A start that waits for the instance to settle: in flight for 30 s.
    let waiting = srv
        .req(reqwest::Method::POST, "/api/v1/instances")
        .json(&json!({"processId": "sleepy", "instanceId": "nap-1", "wait": "settled"}))
        .send();
    let waiting = tokio::spawn(waiting);
    srv.wait_for("nap-1", |v| v["status"] == "running").await;

    srv.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !srv.stderr().contains("shutting down") {
        assert!(Instant::now() < deadline, "{}", srv.stderr());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Still draining (the grace is 5 s): the second signal ends it now.
    let sent = Instant::now();
    srv.signal("TERM");
    let status = srv.wait_exit(Duration::from_secs(4));
    assert_eq!(status.code(), Some(130));
    assert!(sent.elapsed() < Duration::from_secs(4));
    let _ = waiting.await;
}
