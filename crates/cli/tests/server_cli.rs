//! End-to-end: the CLI client verbs against a running `windlass server`
//! (both real binaries): every verb does what it says, `--format json`
//! output parses, and the server's refusals become clear errors.

mod server_common;

use serde_json::Value;
use server_common::{ORDER_BPMN, ServerProc};
use std::process::{Command, Output};

struct Cli<'a> {
    srv: &'a ServerProc,
    token_file: std::path::PathBuf,
}

impl Cli<'_> {
    /// Runs `windlass args…` against the server (through the environment).
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_windlass"))
            .args(args)
            .env("WINDLASS_SERVER", &self.srv.url)
            .env("WINDLASS_TOKEN_FILE", &self.token_file)
            .env_remove("WINDLASS_TOKEN")
            .output()
            .expect("run windlass")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(0), "windlass {args:?}: {text}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("windlass {args:?}: not JSON ({e}): {out}"))
    }
}

const BROKEN_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2" targetNamespace="t">
  <process id="broken" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <serviceTask id="work" name="Unbound work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <endEvent id="e"/>
  </process>
  <process id="tick" isExecutable="true">
    <startEvent id="every">
      <timerEventDefinition><timeCycle>R/PT1H</timeCycle></timerEventDefinition>
    </startEvent>
    <sequenceFlow id="t1" sourceRef="every" targetRef="te"/>
    <endEvent id="te"/>
  </process>
</definitions>
"#;

#[tokio::test]
async fn every_client_verb_against_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(&db, &[]);
    let token_file = dir.path().join("w.db.token");
    let cli = Cli {
        srv: &srv,
        token_file,
    };
    let order = dir.path().join("order.bpmn");
    std::fs::write(&order, ORDER_BPMN).expect("write");
    let broken = dir.path().join("broken.bpmn");
    std::fs::write(&broken, BROKEN_BPMN).expect("write");
    let bad = dir.path().join("bad.bpmn");
    std::fs::write(
        &bad,
        ORDER_BPMN.replace(r#"targetRef="end""#, r#"targetRef="nowhere""#),
    )
    .expect("write");

    // deploy: good files deploy, a bad one is refused with its diagnostics.
    let out = cli.ok(&[
        "deploy",
        order.to_str().expect("utf-8"),
        broken.to_str().expect("utf-8"),
    ]);
    assert!(out.contains("deployed order version 1"), "{out}");
    assert!(out.contains("deployed tick version 1"), "{out}");
    let refused = cli.run(&["deploy", bad.to_str().expect("utf-8")]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("bad.bpmn:") && err.contains("error[WL") && err.contains("nowhere"),
        "{err}"
    );

    // start, show (job key), complete-job, signal, message, list, history.
    let started = cli.json(&[
        "start",
        "order",
        "--id",
        "c-1",
        "--input",
        r#"{"order":"Z"}"#,
        "--format",
        "json",
    ]);
    assert_eq!(started["id"], "c-1");
    let view = srv
        .wait_for("c-1", |v| {
            !v["openJobs"].as_array().is_none_or(Vec::is_empty)
        })
        .await;
    let text = cli.ok(&["instances", "show", "c-1"]);
    let key = view["openJobs"][0]["jobKey"]
        .as_str()
        .expect("key")
        .to_string();
    assert!(text.contains(&format!("job key {key}")), "{text}");
    let shown = cli.json(&["instances", "show", "c-1", "--format", "json"]);
    assert_eq!(shown["openJobs"][0]["jobKey"], key.as_str());
    cli.ok(&["complete-job", &key, "--output", r#"{"ok":true}"#]);
    srv.wait_for("c-1", |v| v["tokens"][0]["node"] == "go")
        .await;
    let out = cli.ok(&["signal", "go", "--instance", "c-1"]);
    assert!(out.contains("signal go sent to instance c-1"), "{out}");
    srv.wait_for("c-1", |v| v["tokens"][0]["node"] == "paid")
        .await;
    let published = cli.json(&["message", "paid", "--key", "Z", "--format", "json"]);
    assert_eq!(published["outcome"], "correlated", "{published}");
    srv.wait_for("c-1", |v| v["status"] == "completed").await;
    let list = cli.json(&[
        "instances",
        "list",
        "--process",
        "order",
        "--format",
        "json",
    ]);
    assert_eq!(list[0]["id"], "c-1");
    assert_eq!(list[0]["status"], "completed");
    let text = cli.ok(&["instances", "list", "--limit", "1"]);
    assert!(
        text.contains("c-1") && text.contains("1 instance(s)"),
        "{text}"
    );
    let history = cli.json(&["instances", "history", "c-1", "--format", "json"]);
    let events = history["events"].as_array().expect("events");
    assert!(events.len() > 8, "{history}");
    assert_eq!(
        events.last().map(|e| e["eventType"].clone()),
        Some(Value::from("InstanceCompleted"))
    );
    let text = cli.ok(&["instances", "history", "c-1"]);
    assert!(text.contains("completed"), "{text}");

    // reset: back to where the first job waited; the "go" signal the run
    // got later is reapplied, so after the job the new run waits for
    // "paid" again.
    let at = events
        .iter()
        .find(|e| e["eventType"] == "JobCreated")
        .and_then(|e| e["seq"].as_u64())
        .expect("JobCreated");
    let refused = cli.run(&["reset", "c-1", "--to-event", "1"]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("reset_refused") && err.contains("inside one decision"),
        "{err}"
    );
    let out = cli.ok(&[
        "reset",
        "c-1",
        "--to-event",
        &at.to_string(),
        "--reason",
        "redo",
    ]);
    assert!(out.contains(&format!("to event {at}: new run")), "{out}");
    let reset = cli.json(&[
        "reset",
        "c-1",
        "--to-event",
        &at.to_string(),
        "--run",
        started["run"].as_str().expect("run"),
        "--no-reapply-signals",
        "--format",
        "json",
    ]);
    assert_eq!(reset["fromRun"], started["run"]);
    assert_eq!(reset["toEvent"], at);
    let new_run = reset["run"].as_str().expect("run").to_string();
    let view = srv
        .wait_for("c-1", |v| {
            v["run"] == new_run.as_str() && !v["openJobs"].as_array().is_none_or(Vec::is_empty)
        })
        .await;
    let key = view["openJobs"][0]["jobKey"].as_str().expect("key");
    assert!(key.contains(&new_run), "{key}");
    cli.ok(&["complete-job", key]);
    // Without reapplied signals the new run waits at "go" again.
    srv.wait_for("c-1", |v| v["tokens"][0]["node"] == "go")
        .await;
    let history = cli.json(&["instances", "history", "c-1", "--format", "json"]);
    let types: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    assert!(types.contains(&"RunReset"), "{types:?}");

    // suspend, resume, cancel, terminate.
    cli.ok(&["start", "order", "--id", "c-2"]);
    let out = cli.ok(&["suspend", "c-2", "--reason", "night"]);
    assert!(out.contains("suspended instance c-2"), "{out}");
    srv.wait_for("c-2", |v| v["suspended"] == "night").await;
    cli.ok(&["resume", "c-2"]);
    srv.wait_for("c-2", |v| v["suspended"].is_null()).await;
    cli.ok(&["cancel", "c-2", "--reason", "not needed"]);
    srv.wait_for("c-2", |v| v["status"] == "cancelled").await;
    let again = cli.run(&["terminate", "c-2"]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("instance_finished") && err.contains("cancelled"),
        "{err}"
    );
    cli.ok(&["start", "order", "--id", "c-3"]);
    cli.ok(&["terminate", "c-3", "--reason", "stop"]);
    srv.wait_for("c-3", |v| v["status"] == "terminated").await;

    // An incident: start --wait reports it (exit 3), retry, skip.
    let waited = cli.run(&["start", "broken", "--id", "b-1", "--wait"]);
    assert_eq!(
        waited.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&waited.stdout)
    );
    assert!(String::from_utf8_lossy(&waited.stdout).contains("incident"));
    let v = srv.wait_for("b-1", |v| v["status"] == "incident").await;
    let n = v["incidents"][0]["incident"]
        .as_u64()
        .expect("incident")
        .to_string();
    cli.ok(&["retry", "b-1", &n]);
    let v = srv
        .wait_for("b-1", |v| {
            v["incidents"][0]["incident"]
                .as_u64()
                .is_some_and(|i| i.to_string() != n)
        })
        .await;
    let n2 = v["incidents"][0]["incident"]
        .as_u64()
        .expect("incident")
        .to_string();
    cli.ok(&["skip", "b-1", &n2, "--output", r#"{"fixed":1}"#]);
    let done = srv.wait_for("b-1", |v| v["status"] == "completed").await;
    assert_eq!(done["variables"]["fixed"], 1);

    // fail-job: a non-retryable failure is an incident at once.
    cli.ok(&["start", "order", "--id", "c-4"]);
    let v = srv
        .wait_for("c-4", |v| {
            !v["openJobs"].as_array().is_none_or(Vec::is_empty)
        })
        .await;
    let key = v["openJobs"][0]["jobKey"]
        .as_str()
        .expect("key")
        .to_string();
    cli.ok(&[
        "fail-job",
        &key,
        "--message",
        "reviewer said no",
        "--no-retry",
    ]);
    let v = srv.wait_for("c-4", |v| v["status"] == "incident").await;
    assert!(
        v["incidents"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("reviewer said no"),
        "{v}"
    );

    // schedules and dedup.
    let schedules = cli.json(&["schedules", "--format", "json"]);
    assert_eq!(schedules[0]["id"], "tick/every");
    cli.ok(&["schedules", "pause", "tick/every"]);
    assert_eq!(
        cli.json(&["schedules", "list", "--format", "json"])[0]["paused"],
        true
    );
    cli.ok(&["schedules", "resume", "tick/every"]);
    cli.ok(&["schedules", "trigger", "tick/every"]);
    let text = cli.ok(&["schedules"]);
    assert!(
        text.contains("tick/every") && text.contains("1 schedule(s)"),
        "{text}"
    );
    assert_eq!(
        cli.json(&["dedup", "--format", "json"]),
        Value::Array(Vec::new())
    );
    let unknown = cli.run(&["schedules", "pause", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("schedule_not_found"));

    // Without a server, the client verbs say what they need; with a wrong
    // token, the server's refusal is the error.
    let none = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["start", "order"])
        .env_remove("WINDLASS_SERVER")
        .output()
        .expect("run");
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--server"));
    let wrong = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["instances", "list", "--server", &srv.url, "--token", "nope"])
        .env_remove("WINDLASS_TOKEN_FILE")
        .output()
        .expect("run");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("401 unauthorized"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(srv.stop().success());
}
