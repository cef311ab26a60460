//! End-to-end: a model whose sequence flows have no ids (as Camunda 7 and
//! Flowable write them) validates and runs through the real binary.

mod common;
use common::{json, s, text, windlass};

/// Sequence flows without ids (as in Camunda 7 and Flowable models).
const UNNAMED_FLOWS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow sourceRef="start" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow sourceRef="fork" targetRef="a"/>
    <sequenceFlow sourceRef="fork" targetRef="b"/>
    <task id="a" name="A"/>
    <task id="b" name="B"/>
    <sequenceFlow sourceRef="a" targetRef="join"/>
    <sequenceFlow sourceRef="b" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow sourceRef="join" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"#;

#[test]
fn a_model_whose_flows_have_no_ids_validates_and_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("unnamed.bpmn");
    std::fs::write(&file, UNNAMED_FLOWS).unwrap_or_else(|e| panic!("{e}"));
    let out = windlass(&["validate", s(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = windlass(&["run", s(&file), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed");
    assert_eq!(v["executed"]["A"], 1);
    assert_eq!(v["executed"]["B"], 1);
}
