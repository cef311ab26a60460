//! End-to-end tests of `--mock` forms and of a reader that goes away
//! mid-output: a task name may contain `=`, an output variable named
//! `error` is written in the explicit output form and never taken for an
//! error mock, an ambiguous bare object is refused naming that form, and
//! `windlass inspect big.bpmn | head` ends quietly.

mod common;
use common::{json, s, text, windlass};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// start → serviceTask "Set x=1" → end.
fn equals_model(dir: &Path) -> PathBuf {
    let path = dir.join("eq.bpmn");
    std::fs::write(
        &path,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <serviceTask id="t" name="Set x=1"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#,
    )
    .expect("write model");
    path
}

fn run_with_mock(file: &Path, mock: &str) -> std::process::Output {
    windlass(&[
        "run",
        s(file),
        "--memory",
        "--format",
        "json",
        "--mock",
        mock,
    ])
}

#[test]
fn a_mock_key_may_contain_an_equals_sign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = equals_model(dir.path());
    let out = run_with_mock(&file, r#"Set x=1={"x":1,"note":"a=b"}"#);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["executed"]["Set x=1"], 1, "{v}");
    assert_eq!(v["variables"]["x"], 1, "{v}");
    assert_eq!(v["variables"]["note"], "a=b", "{v}");
}

#[test]
fn an_output_variable_named_error_is_not_an_error_mock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = equals_model(dir.path());
    let out = run_with_mock(&file, r#"t={"output":{"error":"none"}}"#);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed", "{v}");
    assert_eq!(v["variables"]["error"], "none", "{v}");
    // A bare object holding `error` among outputs is ambiguous: refused.
    let out = run_with_mock(&file, r#"t={"error":"none","ok":true}"#);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains(r#"{"output": {"error": ...}}"#), "{t}");
    // The explicit error form still throws the BPMN error (uncaught here).
    let out = run_with_mock(&file, r#"t={"error":"BROKEN"}"#);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("BROKEN"), "{}", text(&out));
}

#[test]
fn a_reader_closing_mid_output_ends_inspect_quietly() {
    // Enough tasks that `inspect` prints far more than a pipe buffer.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut body = String::from(r#"<startEvent id="s"/>"#);
    let mut prev = "s".to_string();
    for i in 0..3000 {
        body.push_str(&format!(
            r#"<sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="t{i}"/><task id="t{i}" name="Task number {i} with a long name"/>"#
        ));
        prev = format!("t{i}");
    }
    body.push_str(&format!(
        r#"<sequenceFlow id="fe" sourceRef="{prev}" targetRef="e"/><endEvent id="e"/>"#
    ));
    let xml = format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t"><process id="p" isExecutable="true">{body}</process></definitions>"#
    );
    let file = dir.path().join("big.bpmn");
    std::fs::write(&file, xml).expect("write model");
    let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["inspect", s(&file)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn windlass");
    // Read a little, as `head` does, then go away.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 512];
    stdout.read_exact(&mut first).expect("the first bytes");
    drop(stdout);
    let out = child.wait_with_output().expect("wait for windlass");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "nothing on stderr, got {err}");
}
