//! End-to-end: the one rule for unbound jobs under `run` and `test`, and
//! strict mocks and scenario files (probe defect 6), through the real binary.

mod common;

use common::{renewal, s, text, windlass};

/// start → abstract `task` "Build" with `windlass:task kind="deploy"` (a
/// kind nothing serves; `shell` and `http` are built in) → end.
const KINDED: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <task id="t" name="Build">
      <extensionElements><windlass:task kind="deploy"/></extensionElements>
    </task>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

#[test]
fn a_kinded_abstract_task_without_handler_is_an_incident_under_run_and_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bpmn = dir.path().join("kinded.bpmn");
    std::fs::write(&bpmn, KINDED).expect("write");
    let out = windlass(&["run", s(&bpmn), "--memory"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("status:   incident"), "{t}");
    assert!(
        t.contains("no handler for task 'Build' (kind 'deploy')"),
        "{t}"
    );
    let sc = dir.path().join("kinded.scenario.json");
    std::fs::write(
        &sc,
        r#"{"process":"kinded.bpmn","expect":{"status":"completed","executed":{"Build":1}}}"#,
    )
    .expect("write");
    let out = windlass(&["test", s(&sc)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("+ incident"), "{t}");
}

#[test]
fn run_refuses_a_mock_that_matches_no_task_naming_it_and_the_file() {
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--memory",
        "--input",
        r#"{"ingress":"blog"}"#,
        "--mock",
        "nosuchtask={}",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("'nosuchtask'") && t.contains("certificate-renewal.bpmn"),
        "{t}"
    );
}

#[test]
fn test_fails_on_unknown_keys_and_unused_mocks_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(renewal(), dir.path().join("certificate-renewal.bpmn")).expect("copy");
    let typo = dir.path().join("typo.scenario.json");
    std::fs::write(
        &typo,
        r#"{"process":"certificate-renewal.bpmn","input":{"ingress":"shop"},"mock":{},"expect":{"status":"waiting"}}"#,
    )
    .expect("write");
    let out = windlass(&["test", s(&typo)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("FAIL")
            && t.contains("unknown field `mock`")
            && t.contains("typo.scenario.json"),
        "{t}"
    );

    let unused = dir.path().join("unused.scenario.json");
    std::fs::write(
        &unused,
        r#"{"process":"certificate-renewal.bpmn","input":{"ingress":"shop"},
            "mocks":{"chekc":{"error":"X"}},"expect":{"status":"waiting"}}"#,
    )
    .expect("write");
    let out = windlass(&["test", s(&unused)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("'chekc'") && t.contains("unused.scenario.json"),
        "{t}"
    );
    let out = windlass(&["test", "--allow-unused-mocks", s(&unused)]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("PASS") && t.contains("warning:") && t.contains("'chekc'"),
        "{t}"
    );
}
