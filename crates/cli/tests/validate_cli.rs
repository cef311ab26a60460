//! End-to-end tests of `windlass validate` and `windlass inspect` on the real binary.

use std::process::Command;

fn windlass(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .output()
        .expect("run windlass");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(rel: &str) -> String {
    format!(
        "{}/../model/tests/fixtures/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn valid_file_exits_zero() {
    let example = format!(
        "{}/../../examples/certificate-renewal.bpmn",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, _) = windlass(&["validate", &example]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("error["), "{out}");
}

#[test]
fn a_file_that_loads_but_the_engine_refuses_is_not_valid() {
    // all-elements.bpmn parses every element; the engine honours its
    // `windlass:kubernetesWatch` source and `windlass:instanceId` template,
    // but not its event-based gateway before a receive task.
    let (code, out, _) = windlass(&["validate", &fixture("all-elements.bpmn")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("(element 'evgw')"), "{out}");
    assert!(!out.contains("kubernetesWatch"), "{out}");
    assert!(!out.contains("windlass:instanceId"), "{out}");
    // A timer start event whose cycle is an expression loads, but no
    // schedule can evaluate it: `run` refuses it, so `validate` does
    // (naming the element and what is refused).
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("timer.bpmn");
    std::fs::write(
        &file,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="tick">
      <timerEventDefinition><timeCycle>=cycle</timeCycle></timerEventDefinition>
    </startEvent>
    <sequenceFlow id="f1" sourceRef="tick" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#,
    )
    .expect("write");
    let (code, out, _) = windlass(&["validate", file.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error[WL0039]"), "{out}");
    assert!(out.contains("expression as its timeCycle"), "{out}");
    assert!(out.contains("(element 'tick')"), "{out}");
}

#[test]
fn errors_are_reported_with_file_line_column_code_and_element() {
    let file = fixture("codes/WL0008-flow-to-missing-node.bpmn");
    let (code, out, _) = windlass(&["validate", &file]);
    assert_eq!(code, 1);
    let line = out
        .lines()
        .find(|l| l.contains("error[WL0008]"))
        .expect("WL0008 line");
    assert!(
        line.starts_with(&format!("{file}:5:5: error[WL0008]: ")),
        "{line}"
    );
    assert!(line.ends_with("(element 'f1')"), "{line}");
}

#[test]
fn warnings_alone_exit_zero() {
    let (code, out, _) = windlass(&[
        "validate",
        &fixture("codes/WL0013-ambiguous-exclusive.bpmn"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning[WL0013]"), "{out}");
}

#[test]
fn usage_errors_exit_two() {
    let (code, _, err) = windlass(&["validate"]);
    assert_eq!(code, 2);
    assert!(err.contains("no file"), "{err}");
    let (code, _, err) = windlass(&["validate", "/nonexistent/x.bpmn"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.bpmn"), "{err}");
}

#[test]
fn json_format_lists_diagnostics() {
    let (code, out, _) = windlass(&[
        "validate",
        "--format",
        "json",
        &fixture("codes/WL0006-duplicate-id.bpmn"),
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v[0]["valid"], false);
    let diags = v[0]["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "WL0006" && d["severity"] == "error"),
        "{out}"
    );
}

#[test]
fn inspect_shows_nodes_flows_conditions_and_extensions() {
    let (code, out, err) = windlass(&["inspect", &fixture("all-elements.bpmn")]);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "process 'renew'",
        "instance id: renew-{event.name}",
        "source: kubernetes watch networking.k8s.io/v1 Ingress",
        "check [Service task]",
        "(template)",
        "kind: shell",
        "setting command = echo {x}",
        "dedup key: {event.namespace}/{event.name}",
        "ok: valid_gw → fork if `valid == true`",
        "to_issue: valid_gw → issue (default)",
        "boundary event on 'check', timer duration P1Y2M3DT4H5M6.5S, non-interrupting",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let (code, out, _) = windlass(&["inspect", "--format", "json", &fixture("all-elements.bpmn")]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v[0]["processes"][0]["id"], "renew");
}

/// `validate A B C`: the diagnostics of every file that could be read
/// (stdout), then every unreadable one (stderr), exit code the worst.
#[test]
fn every_readable_file_is_reported_then_the_unreadable_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.bpmn");
    std::fs::write(&garbage, "this is not xml").expect("write");
    let missing = dir.path().join("missing.bpmn");
    let folder = dir.path().to_str().expect("utf-8");
    let bad = fixture("codes/WL0008-flow-to-missing-node.bpmn");
    let (code, out, err) = windlass(&[
        "validate",
        garbage.to_str().expect("utf-8"),
        folder,
        &bad,
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "unreadable files win: {out}{err}");
    assert!(
        out.contains("garbage.bpmn") && out.contains("error["),
        "the first file's diagnostics: {out}"
    );
    assert!(
        out.contains("error[WL0008]"),
        "the file after the folder: {out}"
    );
    let unreadable: Vec<&str> = err.lines().filter(|l| l.contains("cannot read")).collect();
    assert_eq!(unreadable.len(), 2, "{err}");
    assert!(
        unreadable[0].contains(folder) && unreadable[1].contains("missing.bpmn"),
        "{err}"
    );

    // Readable files only: the worst is an error (1); JSON names the unreadable.
    let (code, _, _) = windlass(&["validate", garbage.to_str().expect("utf-8"), &bad]);
    assert_eq!(code, 1);
    let (code, out, _) = windlass(&[
        "validate",
        &bad,
        missing.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v[0]["valid"], false);
    assert!(
        v[1]["error"].as_str().unwrap_or("").contains("cannot read"),
        "{v}"
    );
}

/// `inspect A B`: every readable file is shown even when another cannot be
/// read; the unreadable ones are named on stderr and the exit code is 2.
#[test]
fn inspect_shows_every_readable_file_then_names_the_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().to_str().expect("utf-8");
    let good = fixture("all-elements.bpmn");
    let (code, out, err) = windlass(&["inspect", folder, &good]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("all-elements.bpmn") && out.contains("nodes:"),
        "{out}"
    );
    assert!(err.contains("cannot read") && err.contains(folder), "{err}");
}

#[test]
fn a_callee_in_another_file_given_is_not_reported_missing() {
    let examples = format!("{}/../../examples", env!("CARGO_MANIFEST_DIR"));
    let caller = format!("{examples}/host-patching.bpmn");
    let callee = format!("{examples}/patch-host.bpmn");
    let (code, out, err) = windlass(&["validate", &caller]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("WL0027") && out.contains("patch_host"),
        "{out}"
    );
    let (code, out, err) = windlass(&["validate", &caller, &callee]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("WL0027"), "{out}");
}
