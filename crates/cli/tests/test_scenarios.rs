//! End-to-end tests of `windlass test`: the project's examples, the shared
//! corpus (when present), failures with diffs, unsupported and invalid
//! definitions, and unreadable scenario files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn windlass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .output()
        .expect("run windlass")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const PROCESS: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <serviceTask id="a" name="Work on {thing}"/>
    <sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

#[test]
fn every_example_scenario_passes() {
    let out = windlass(&["test", s(&examples())]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("0 failed"), "{t}");
    assert!(
        t.contains("PASS") && t.contains("database-provisioning.init-fails"),
        "{t}"
    );
    assert!(t.contains("cluster-upgrade.three-nodes"), "{t}");
}

#[test]
fn the_shared_corpus_scenarios_pass_when_the_corpus_is_present() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/adhesive");
    if !corpus.is_dir() {
        println!("skipped: {} does not exist", corpus.display());
        return;
    }
    let out = windlass(&["test", "--format", "json", s(&corpus)]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(report["passed"].as_u64().unwrap_or(0) >= 29, "{report:#}");
    assert!(out.status.success());
}

#[test]
fn a_mismatch_fails_with_a_readable_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p.bpmn"), PROCESS).expect("write");
    std::fs::write(
        dir.path().join("wrong.scenario.yaml"),
        "name: wrong expectation\nprocess: p.bpmn\ninput: {thing: x}\nmocks:\n  a: {output: {}}\n\
         expect:\n  status: failed\n  executed:\n    Work on y: 2\n",
    )
    .expect("write");
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAIL") && t.contains("wrong expectation"), "{t}");
    assert!(t.contains("- failed") && t.contains("+ completed"), "{t}");
    assert!(
        t.contains("- \"Work on y\": 2") && t.contains("+ \"Work on x\": 1"),
        "{t}"
    );
    assert!(t.contains("0 passed, 1 failed"), "{t}");
}

#[test]
fn unsupported_elements_are_reported_by_name_and_do_not_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = PROCESS.replace(
        r#"<endEvent id="e"/>"#,
        r#"<endEvent id="e"/><adHocSubProcess id="tx1"/>"#,
    );
    std::fs::write(dir.path().join("p.bpmn"), xml).expect("write");
    std::fs::write(
        dir.path().join("u.scenario.json"),
        r#"{"process":"p.bpmn","expect":{"status":"completed","executed":{}}}"#,
    )
    .expect("write");
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("unsupported: tx1"), "{t}");
    assert!(t.contains("0 passed, 0 failed, 1 unsupported"), "{t}");
}

#[test]
fn an_invalid_definition_is_right_only_where_failed_is_expected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = PROCESS.replace(
        r#"<sequenceFlow id="f2" sourceRef="a" targetRef="e"/>"#,
        r#"<sequenceFlow id="f2" sourceRef="a" targetRef="nowhere"/>"#,
    );
    std::fs::write(dir.path().join("bad.bpmn"), xml).expect("write");
    std::fs::write(
        dir.path().join("a.scenario.json"),
        r#"{"process":"bad.bpmn","expect":{"status":"failed"}}"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b.scenario.json"),
        r#"{"process":"bad.bpmn","expect":{"status":"completed"}}"#,
    )
    .expect("write");
    let out = windlass(&["test", s(dir.path())]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("PASS") && t.contains("a.scenario.json"), "{t}");
    assert!(
        t.contains("expected completed, but the definition was rejected"),
        "{t}"
    );
    assert!(t.contains("nowhere"), "{t}");
}

#[test]
fn unreadable_scenarios_fail_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("broken.scenario.json");
    std::fs::write(
        &p,
        r#"{"process": "p.bpmn", "expect": {"status": "finished"}}"#,
    )
    .expect("write");
    let out = windlass(&["test", s(&p)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("broken.scenario.json") && t.contains("finished"),
        "{t}"
    );
    let empty = tempfile::tempdir().expect("tempdir");
    let out = windlass(&["test", s(empty.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no scenario files"), "{}", text(&out));
}
