//! No secret leaves the server: an `http` job sends a secret bearer token
//! to a loopback server that echoes it back in its body, and a `shell` job
//! prints its secret environment variable to stdout and stderr and fails
//! (an incident quoting its output). Afterwards every API answer (instance
//! views, histories, incidents, the dump, metrics), the server's log
//! (debug level) and the database file are searched for the secret values:
//! none holds them.

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::ServerProc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TOKEN: &str = "tok-3f9a1c-never-shown";
const PASSWORD: &str = "pw-77d2e0-never-shown";

fn process(url: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="leaky" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <serviceTask id="call" name="Call the echo">
      <extensionElements>
        <windlass:task kind="http">
          <windlass:setting name="url" value="{url}"/>
          <windlass:setting name="auth" value="bearer"/>
          <windlass:setting name="token" value="secret:DEPLOY_TOKEN"/>
        </windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="call" targetRef="print"/>
    <serviceTask id="print" name="Print the password">
      <extensionElements>
        <windlass:task kind="shell" retries="1">
          <windlass:setting name="shell" value="sh"/>
          <windlass:setting name="command" value="echo out=$PW; echo err=$PW >&amp;2; exit 3"/>
          <windlass:setting name="env.PW" value="secret:db-password"/>
        </windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f3" sourceRef="print" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#
    )
}

/// A loopback HTTP server that answers every request with the request's
/// head (headers included) as a JSON string.
async fn echo_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let body = json!({ "echo": head }).to_string();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/deploy")
}

#[tokio::test]
async fn secrets_appear_nowhere_the_server_gives_out() {
    let url = echo_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start_with_env(
        &db,
        &[],
        &[
            ("WINDLASS_SECRET_DEPLOY_TOKEN", TOKEN),
            ("WINDLASS_SECRET_db-password", PASSWORD),
            ("WINDLASS_LOG", "debug"),
        ],
    );
    let (status, v) = srv.deploy(&process(&url)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = srv
        .post(
            "/api/v1/instances",
            json!({"processId": "leaky", "instanceId": "l-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let view = srv.wait_for("l-1", |v| v["status"] == "incident").await;

    // The jobs did run with the secrets: the echo came back (masked) and
    // the shell's output is quoted in the incident (masked).
    let echoed = view["variables"]["response"]["body"]["echo"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(echoed.contains("Bearer ***"), "{view}");
    let incident = view["incidents"][0]["message"].as_str().unwrap_or("");
    assert!(incident.contains("***"), "{view}");

    let mut seen = vec![view.to_string()];
    for path in [
        "/api/v1/instances/l-1/history",
        "/api/v1/instances",
        "/api/v1/incidents",
        "/api/v1/dump",
    ] {
        let (status, v) = srv.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        seen.push(v.to_string());
    }
    let metrics = srv
        .client()
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    seen.push(metrics);
    let log = srv.log.clone();
    assert!(srv.stop().success());
    let log = std::fs::read_to_string(&log).expect("server log");
    assert!(log.contains("DEBUG"), "the log is at debug level");
    seen.push(log);
    let db_bytes = std::fs::read(&db).expect("db");
    seen.push(String::from_utf8_lossy(&db_bytes).into_owned());
    for wal in ["w.db-wal", "w.db-journal"] {
        if let Ok(b) = std::fs::read(dir.path().join(wal)) {
            seen.push(String::from_utf8_lossy(&b).into_owned());
        }
    }
    for (i, text) in seen.iter().enumerate() {
        for secret in [TOKEN, PASSWORD] {
            assert!(!text.contains(secret), "secret found in source {i}");
        }
    }
}
