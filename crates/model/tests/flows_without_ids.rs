//! Sequence flows written without an `id` (allowed by the BPMN schema; the
//! test suites of Camunda 7 and Flowable have many) load with an id made
//! from their ends, and the process runs.
#![allow(clippy::unwrap_used)]

use windlass_model::{Severity, load};

const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow sourceRef="start" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow sourceRef="fork" targetRef="join"/>
    <sequenceFlow sourceRef="fork" targetRef="join"/>
    <sequenceFlow id="named" sourceRef="fork" targetRef="work"/>
    <task id="work"/>
    <sequenceFlow sourceRef="work" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow sourceRef="join" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"#;

#[test]
fn flows_without_ids_get_ids_from_their_ends() {
    let out = load(DOC);
    let errors: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let defs = out.definitions.unwrap();
    let p = defs.first_executable().unwrap();
    let ids: Vec<&str> = p.flows.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "start->fork",
            "fork->join",
            "fork->join#2",
            "named",
            "work->join",
            "join->end"
        ]
    );
}

#[test]
fn a_flow_without_an_id_still_needs_its_ends() {
    let doc = DOC.replace(
        r#"<sequenceFlow sourceRef="join" targetRef="end"/>"#,
        r#"<sequenceFlow sourceRef="join"/>"#,
    );
    let errs: Vec<String> = load(&doc)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(
        errs.iter()
            .any(|e| e.contains("sequenceFlow has no targetRef")),
        "{errs:?}"
    );
}
