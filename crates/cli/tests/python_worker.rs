//! The Python worker example (`examples/workers/python`) against the real
//! `windlass server`: it fetches the `python` jobs of
//! `examples/release-build.bpmn`, matches them to its decorated functions
//! by task name, and answers: completions with variables, a BPMN error
//! caught by the model's boundary event, and a failed attempt the engine
//! retries. Needs `python3` (standard library only).

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::ServerProc;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_python_worker_builds_and_publishes_releases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(&db, &[]);
    let xml = std::fs::read_to_string(root.join("examples/release-build.bpmn")).expect("example");
    let (status, v) = srv.deploy(&xml).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for (id, vars) in [
        ("api", json!({"name": "api", "version": "1.4.0"})),
        ("web", json!({"name": "web", "version": "latest"})),
        (
            "cli",
            json!({"name": "cli", "version": "2.0.1", "flaky": true}),
        ),
    ] {
        let (status, v) = srv
            .post(
                "/api/v1/instances",
                json!({"processId": "release-build", "instanceId": id, "variables": vars}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }

    // Six jobs: api builds and publishes, web's build throws, cli's build
    // fails once, is retried, and publishes.
    let mut token_file = db.as_os_str().to_owned();
    token_file.push(".token");
    let mut worker = Command::new("python3")
        .arg(root.join("examples/workers/python/release_worker.py"))
        .args(["--server", &srv.url, "--jobs", "6", "--wait-ms", "2000"])
        .arg("--token-file")
        .arg(&token_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = worker.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = worker.kill();
            let _ = worker.wait();
            panic!(
                "the worker did not handle six jobs in 60 s:\n{}",
                srv.stderr()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = worker.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{log}");
    for line in [
        "Build api (",
        "Publish api (",
        "Build web (",
        "): bpmn-error",
        "Build cli (",
        "): failed",
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }

    let api = srv.wait_for("api", |v| v["status"] == "completed").await;
    assert_eq!(api["variables"]["artifact"], "api-1.4.0.tar.gz");
    assert_eq!(api["variables"]["url"], "registry.example.com/api:1.4.0");
    let web = srv.wait_for("web", |v| v["status"] == "completed").await;
    assert!(web["variables"].get("url").is_none(), "{web}");
    let (_, history) = srv.get("/api/v1/instances/web/history").await;
    let reached: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["eventType"] == "FlowTaken" || e["eventType"] == "ErrorCaught")
        .filter_map(|e| e["node"].as_str())
        .collect();
    assert!(
        reached.contains(&"rejected") && reached.contains(&"not-published"),
        "{history}"
    );
    let cli = srv.wait_for("cli", |v| v["status"] == "completed").await;
    assert_eq!(cli["variables"]["attempts"], 2, "{cli}");
    assert!(srv.stop().success());
}
