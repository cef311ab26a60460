//! End-to-end: `windlass run` executes built-in `shell` tasks through the
//! real binary (real child processes); a mock still wins over the kind; a
//! failing command ends in an incident naming the exit code.

mod common;
use common::{json, s, text, windlass};
use std::path::{Path, PathBuf};

fn word_count() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/word-count.bpmn")
}

#[test]
fn run_executes_shell_tasks_with_hostile_text_as_one_argument() {
    let out = windlass(&[
        "run",
        s(&word_count()),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"title":"t","text":"\"; rm -rf / $(id)"}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed");
    assert_eq!(v["variables"]["stdout"], "\"; rm -rf / $(id)");
    assert_eq!(v["variables"]["words"], 5);
    assert_eq!(v["executed"]["Echo t"], 1);
}

#[test]
fn a_mock_wins_over_the_built_in_kind() {
    let out = windlass(&[
        "run",
        s(&word_count()),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"title":"t","text":"ignored"}"#,
        "--mock",
        r#"echo={"stdout":"a b c d e"}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["variables"]["words"], 5);
}

#[test]
fn a_failing_command_is_an_incident_naming_the_exit_code() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("fail.bpmn");
    std::fs::write(
        &file,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Break">
    <extensionElements><windlass:task kind="shell" retries="1">
      <windlass:setting name="command" value="sh -c 'echo nope >&amp;2; exit 9'"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = windlass(&["run", s(&file), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "incident");
    assert_eq!(
        v["incidents"][0],
        "job for 'Break' failed after 1 attempt(s): task 'Break': exited with code 9: nope"
    );
}

/// A shell task printing the secret `PW` from its environment.
const PRINTS_SECRET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Print">
    <extensionElements><windlass:task kind="shell">
      <windlass:setting name="command" value="printenv PW"/>
      <windlass:setting name="env.PW" value="secret:PW"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

#[test]
fn run_and_test_read_secrets_from_the_secrets_directory_and_mask_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("secret.bpmn");
    std::fs::write(&file, PRINTS_SECRET).unwrap_or_else(|e| panic!("{e}"));
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(secrets.join("PW"), "pw-S3CRET\n").unwrap_or_else(|e| panic!("{e}"));
    let scenario = dir.path().join("secret.scenario.json");
    std::fs::write(
        &scenario,
        r#"{"process": "secret.bpmn", "expect": {"status": "completed", "executed": {"Print": 1}, "variables": {"stdout": "***\n"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_windlass"))
            .args(args)
            .env("WINDLASS_SECRETS_DIR", &secrets)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = run(&["run", s(&file), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["variables"]["stdout"], "***\n");
    assert!(!text(&out).contains("pw-S3CRET"), "{}", text(&out));
    let out = run(&["test", s(&scenario)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Without the directory the secret is not set: an incident naming it.
    let out = windlass(&["run", s(&file), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let incident = json(&out)["incidents"][0].to_string();
    assert!(incident.contains("secret 'PW' is not set"), "{incident}");
}
