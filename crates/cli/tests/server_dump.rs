//! End-to-end: the state dump answers "why is nothing happening?" — from
//! a running server (`windlass dump --server`, and SIGUSR1 into its log)
//! and from the database file afterwards (`windlass dump --db`).

mod server_common;

use serde_json::{Value, json};
use server_common::{ORDER_BPMN, ServerProc};
use std::process::Command;
use std::time::Duration;

const WAIT_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d3" targetNamespace="t">
  <process id="sleepy" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="nap"/>
    <intermediateCatchEvent id="nap" name="Nap an hour">
      <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="nap" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#;

fn windlass(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .env_remove("WINDLASS_SERVER")
        .output()
        .expect("run windlass")
}

#[tokio::test]
async fn the_dump_tells_what_every_instance_waits_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(&db, &[]);
    srv.deploy(ORDER_BPMN).await;
    srv.deploy(WAIT_BPMN).await;
    srv.post(
        "/api/v1/instances",
        json!({"processId": "order", "instanceId": "o-1", "variables": {"order": "A"}}),
    )
    .await;
    srv.post(
        "/api/v1/instances",
        json!({"processId": "sleepy", "instanceId": "s-1"}),
    )
    .await;
    srv.post(
        "/api/v1/messages",
        json!({"name": "paid", "correlationKey": "nobody"}),
    )
    .await;
    srv.wait_for("o-1", |v| {
        !v["openJobs"].as_array().is_none_or(Vec::is_empty)
    })
    .await;
    srv.wait_for("s-1", |v| {
        !v["subscriptions"].as_array().is_none_or(Vec::is_empty)
    })
    .await;

    let token_file = dir.path().join("w.db.token");
    let server_args = [
        "--server",
        &srv.url,
        "--token-file",
        token_file.to_str().expect("utf-8"),
    ];
    let mut args = vec!["dump", "--format", "json"];
    args.extend(server_args);
    let out = windlass(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = dump["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, ["o-1", "s-1"], "{dump}");
    let job = &dump["instances"][0]["openJobs"][0];
    assert!(
        job["jobKey"]
            .as_str()
            .is_some_and(|k| k.starts_with("o-1/")),
        "{job}"
    );
    assert!(job["createdAt"].as_str().is_some(), "{job}");
    let timer = &dump["instances"][1]["subscriptions"][0];
    assert_eq!(
        (timer["kind"].as_str(), timer["node"].as_str()),
        (Some("timer"), Some("nap")),
        "{timer}"
    );
    assert!(timer["dueAt"].as_str().is_some());
    assert_eq!(dump["messages"][0]["correlationKey"], "nobody");
    assert_eq!(dump["runtime"]["intakeQueues"], json!([0]));
    assert_eq!(dump["runtime"]["messagesBuffered"], 1);
    assert_eq!(dump["runtime"]["timersArmed"], 1);

    let mut args = vec!["dump"];
    args.extend(server_args);
    let text = String::from_utf8_lossy(&windlass(&args).stdout).into_owned();
    for want in [
        "2 unfinished instance(s)",
        "instance o-1 (run",
        "token 0 at review: waits for job, attempt 1",
        "job o-1/",
        "open since",
        "timer at nap: timer due",
        "(in 3", // an hour ahead: 3599.x s, or 3600.0 s within the same millisecond
        "1 buffered message(s)",
        "paid key nobody",
        "runtime: intake queues [0], timers armed 1",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }

    // SIGUSR1: the same dump in the server's log; the server goes on.
    let status = Command::new("kill")
        .args(["-USR1", &srv.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut logged = String::new();
    for _ in 0..200 {
        logged = srv.stderr();
        if logged.contains("1 dedup key(s)") || logged.contains("0 dedup key(s)") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        logged.contains("windlass state dump at") && logged.contains("timer at nap"),
        "{logged}"
    );
    assert_eq!(srv.get("/readyz").await.0, reqwest::StatusCode::OK);
    assert!(srv.stop().success());

    // Offline, from the file: the same instances, no runtime levels.
    let out = windlass(&[
        "dump",
        "--db",
        db.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(offline["instances"].as_array().map(Vec::len), Some(2));
    assert_eq!(offline["runtime"], Value::Null);
    assert_eq!(offline["messages"][0]["correlationKey"], "nobody");
}
