//! End-to-end: a `shell` job under way when `windlass run` is killed with
//! SIGKILL runs again under `windlass recover` with the same job key
//! (`WINDLASS_JOB_KEY`), and the instance completes. The first run's
//! script records its key and its process group, then waits; the test
//! kills the engine (and that orphaned group: nothing can take a child
//! down with a process killed by SIGKILL without `unsafe` code), then
//! recovers.

mod common;
use common::{json, s, text};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `work` appends its job key to `$KEYS` and its process group (its `sh` leads
/// one of its own) to `$PGID`;
/// the first run then waits, a later one ends at once.
const SCRIPT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work">
    <extensionElements><windlass:task kind="shell">
      <windlass:setting name="shell" value="sh"/>
      <windlass:setting name="command" value="echo &quot;$WINDLASS_JOB_KEY&quot; &gt;&gt; &quot;$KEYS&quot;; echo $$ &gt; &quot;$PGID&quot;; if [ $(wc -l &lt; &quot;$KEYS&quot;) -lt 2 ]; then sleep 60; fi"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

fn windlass_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_windlass"));
    c.env("KEYS", dir.join("keys"))
        .env("PGID", dir.join("pgid"))
        .current_dir(dir);
    c
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_job_killed_with_the_engine_runs_again_under_recover_with_its_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("p.bpmn");
    std::fs::write(&file, SCRIPT).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("w.db");

    let mut run = windlass_in(dir.path())
        .args(["run", s(&file), "--db", s(&db)])
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines(&dir.path().join("pgid")).is_empty() {
        assert!(Instant::now() < deadline, "the job never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = run.wait();
    // The orphaned script: killed by hand, as an operator would.
    let pgid = lines(&dir.path().join("pgid"))[0].trim().to_string();
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{pgid}")])
        .status();

    let out = windlass_in(dir.path())
        .args(["recover", "--db", s(&db), "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let keys = lines(&dir.path().join("keys"));
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], keys[1], "the same job key after the kill");
    // `{instance}/{run}/{node}/{token}/1`: the first attempt, both times.
    assert!(
        keys[0].split('/').count() == 5 && keys[0].ends_with("/1"),
        "{keys:?}"
    );
    let out = windlass_in(dir.path())
        .args(["instances", "list", "--db", s(&db), "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let listed = json(&out).to_string();
    assert!(listed.contains("completed"), "{listed}");
}
