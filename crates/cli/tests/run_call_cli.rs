//! End-to-end tests of `windlass run` with call activities: the command
//! ends as soon as nothing in the instance tree can move (a child's incident
//! or wait included) and counts the called processes' tasks in `executed`.
//! Each run has a deadline, so a hang fails the test instead of blocking it.

mod common;
use common::{s, text};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one run may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(60);

/// parent: "Prepare" (a no-op task) → call `child` → "After" → end.
/// child: "Inside" (a service task) → call `grandchild` → end.
/// grandchild: "Deep" (a service task) → "Approve" (a user task) → end.
const TREE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="urn:test">
  <process id="parent" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="prepare"/>
    <task id="prepare" name="Prepare"/>
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="call"/>
    <callActivity id="call" name="Call child" calledElement="child"/>
    <sequenceFlow id="f3" sourceRef="call" targetRef="after"/>
    <task id="after" name="After"/>
    <sequenceFlow id="f4" sourceRef="after" targetRef="e"/>
    <endEvent id="e"/>
  </process>
  <process id="child" isExecutable="false">
    <startEvent id="cs"/>
    <sequenceFlow id="c1" sourceRef="cs" targetRef="inside"/>
    <serviceTask id="inside" name="Inside"/>
    <sequenceFlow id="c2" sourceRef="inside" targetRef="deeper"/>
    <callActivity id="deeper" name="Call grandchild" calledElement="grandchild"/>
    <sequenceFlow id="c3" sourceRef="deeper" targetRef="ce"/>
    <endEvent id="ce"/>
  </process>
  <process id="grandchild" isExecutable="false">
    <startEvent id="gs"/>
    <sequenceFlow id="g1" sourceRef="gs" targetRef="deep"/>
    <serviceTask id="deep" name="Deep"/>
    <sequenceFlow id="g2" sourceRef="deep" targetRef="approve"/>
    <userTask id="approve" name="Approve"/>
    <sequenceFlow id="g3" sourceRef="approve" targetRef="ge"/>
    <endEvent id="ge"/>
  </process>
</definitions>
"#;

/// Writes the tree model into `dir`.
fn tree_file(dir: &Path) -> PathBuf {
    let path = dir.join("tree.bpmn");
    std::fs::write(&path, TREE).expect("write model");
    path
}

/// Runs the binary with `args`; kills it and panics when it has not ended
/// within [`DEADLINE`] (the old `run` waited forever here).
fn windlass_with_deadline(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start windlass");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll windlass") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`windlass {}` hung for {DEADLINE:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_end(&mut stdout).expect("read stdout");
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_end(&mut stderr).expect("read stderr");
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

#[test]
fn an_incident_in_a_called_process_ends_run_with_exit_code_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = tree_file(dir.path());
    // "Inside" has no handler: the child raises an incident.
    let out = windlass_with_deadline(&["run", s(&file), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["status"], "incident", "{v}");
    assert_eq!(v["executed"]["Prepare"], 1, "{v}");
    let incidents = v["incidents"].as_array().cloned().unwrap_or_default();
    assert_eq!(incidents.len(), 1, "{v}");
    let message = incidents[0].as_str().unwrap_or("");
    assert!(message.contains("/call/"), "names the child: {message}");
    assert!(message.contains("Inside"), "names the task: {message}");
}

#[test]
fn an_incident_in_a_called_process_ends_run_on_a_database_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = tree_file(dir.path());
    let db = dir.path().join("w.db");
    let out = windlass_with_deadline(&["run", s(&file), "--db", s(&db)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("status:   incident"), "{t}");
    assert!(t.contains("Inside"), "{t}");
}

#[test]
fn an_incident_two_calls_deep_ends_run_and_counts_every_called_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = tree_file(dir.path());
    // The grandchild's user task has nothing bound in `run`: an incident
    // two call activities below the root.
    let out = windlass_with_deadline(&[
        "run",
        s(&file),
        "--memory",
        "--format",
        "json",
        "--mock",
        r#"Inside={"a":1}"#,
        "--mock",
        r#"Deep={"b":2}"#,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["status"], "incident", "{v}");
    let incidents = v["incidents"].as_array().cloned().unwrap_or_default();
    assert_eq!(incidents.len(), 1, "{v}");
    let message = incidents[0].as_str().unwrap_or("");
    // The grandchild's id: `{id}/{run}/call/{token}/{run}/call/{token}`.
    let (grandchild, _) = message.split_once(':').unwrap_or_default();
    assert_eq!(
        grandchild.matches("/call/").count(),
        2,
        "names the grandchild: {message}"
    );
    assert!(message.contains("Approve"), "names the task: {message}");
    assert_eq!(v["executed"]["Prepare"], 1, "{v}");
    assert_eq!(v["executed"]["Inside"], 1, "{v}");
    assert_eq!(v["executed"]["Deep"], 1, "{v}");
    assert!(v["executed"].get("After").is_none(), "{v}");
}

#[test]
fn a_completed_tree_counts_the_called_tasks_as_test_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = tree_file(dir.path());
    let out = windlass_with_deadline(&[
        "run",
        s(&file),
        "--memory",
        "--format",
        "json",
        "--mock",
        r#"Inside={"a":1}"#,
        "--mock",
        r#"Deep={"b":2}"#,
        "--mock",
        "Approve={}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["status"], "completed", "{v}");
    for task in ["Prepare", "Inside", "Deep", "Approve", "After"] {
        assert_eq!(v["executed"][task], 1, "{task}: {v}");
    }
}

#[test]
fn recover_ends_when_a_called_process_is_in_an_incident() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = tree_file(dir.path());
    let db = dir.path().join("w.db");
    let out = windlass_with_deadline(&["run", s(&file), "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // The parent and its child are unfinished; resuming them settles both.
    let out = windlass_with_deadline(&["recover", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

/// The tree split in two files: the parent alone, the child and the
/// grandchild in another.
fn split_files(dir: &Path) -> (PathBuf, PathBuf) {
    let at = TREE.find(r#"  <process id="child""#).expect("child");
    let parent = format!("{}</definitions>\n", &TREE[..at]);
    let children = format!(
        "{}{}",
        &TREE[..TREE.find("  <process").expect("p")],
        &TREE[at..]
    );
    let p = dir.join("parent.bpmn");
    let c = dir.join("children.bpmn");
    std::fs::write(&p, parent).expect("write parent");
    std::fs::write(&c, children).expect("write children");
    (p, c)
}

#[test]
fn run_deploys_several_files_or_a_folder_and_calls_across_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (parent, children) = split_files(dir.path());
    let mocks = [
        "--mock",
        r#"Inside={"output":{}}"#,
        "--mock",
        r#"Deep={"output":{}}"#,
        "--mock",
        r#"Approve={"output":{}}"#,
    ];
    for files in [vec![s(&parent), s(&children)], vec![s(dir.path())]] {
        let mut args = vec!["run"];
        args.extend(files.iter().copied());
        args.extend(["--process", "parent", "--memory", "--format", "json"]);
        args.extend(mocks);
        let out = windlass_with_deadline(&args);
        assert_eq!(out.status.code(), Some(0), "{files:?}: {}", text(&out));
        let v = json_of(&out);
        assert_eq!(v["executed"]["Deep"], 1, "{v}");
        assert_eq!(v["executed"]["After"], 1, "{v}");
    }
}

#[test]
fn a_callee_not_deployed_is_an_incident_naming_it_and_run_ends_with_exit_code_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (parent, _) = split_files(dir.path());
    let out = windlass_with_deadline(&["run", s(&parent), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["status"], "incident", "{v}");
    let incidents = v["incidents"].to_string();
    assert!(
        incidents.contains("called process 'child'") && incidents.contains("deploy it"),
        "{v}"
    );
}
