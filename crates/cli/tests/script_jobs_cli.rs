//! End-to-end: a `script` job task through the real binary: `windlass run`
//! sets the variables of its map, `windlass test` agrees, and an expression
//! failing on the variables ends in an incident naming it.

mod common;
use common::{json, s, text, windlass};

const SCRIPT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Price">
    <extensionElements><windlass:task kind="script">
      <windlass:setting name="expression" value="{{&quot;total&quot;: price * qty, &quot;big&quot;: price * qty &gt; 10}}"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

#[test]
fn run_and_test_evaluate_a_script_task() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("script.bpmn");
    std::fs::write(&file, SCRIPT).unwrap_or_else(|e| panic!("{e}"));
    let out = windlass(&[
        "run",
        s(&file),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"price": 3, "qty": 4}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["variables"]["total"], 12);
    assert_eq!(v["variables"]["big"], true);
    assert_eq!(v["executed"]["Price"], 1);

    let scenario = dir.path().join("script.scenario.json");
    std::fs::write(
        &scenario,
        r#"{"process": "script.bpmn", "input": {"price": 2, "qty": 2},
            "expect": {"status": "completed", "executed": {"Price": 1}, "variables": {"total": 4, "big": false}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = windlass(&["test", s(&scenario)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // `qty` missing: no retry, an incident naming the expression.
    let out = windlass(&[
        "run",
        s(&file),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"price": 3}"#,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let incident = json(&out)["incidents"][0].to_string();
    assert!(
        incident.contains("task 'Price'") && incident.contains("price * qty"),
        "{incident}"
    );
}
