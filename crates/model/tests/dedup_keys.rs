//! `windlass:dedup` on any flow node, `dedupKey` on `windlass:task`, and
//! the error for two keys on one node.
#![allow(clippy::unwrap_used)]

fn load(body: &str) -> windlass_model::LoadOutcome {
    windlass_model::load(&format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="defs" targetNamespace="t">
  <process id="p" isExecutable="true">{body}</process>
</definitions>"#
    ))
}

#[test]
fn a_key_sits_on_events_gateways_and_activities() {
    let out = load(
        r#"
    <startEvent id="s"><extensionElements><windlass:dedup key="{ns}/{name}"/></extensionElements></startEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <exclusiveGateway id="g"><extensionElements><windlass:dedup key="{name}"/></extensionElements></exclusiveGateway>
    <sequenceFlow id="f2" sourceRef="g" targetRef="t"/>
    <serviceTask id="t"><extensionElements><windlass:task kind="shell" dedupKey="{name}"/></extensionElements></serviceTask>
    <sequenceFlow id="f3" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>"#,
    );
    let errors: Vec<_> = out.diagnostics.iter().map(|d| d.to_string()).collect();
    let defs = out.definitions.unwrap_or_else(|| panic!("{errors:?}"));
    let g = defs.first_executable().unwrap();
    let key = |id: &str| {
        g.nodes
            .iter()
            .find(|n| n.id == id)
            .and_then(|n| n.dedup_key.as_ref())
            .map(|k| k.source().to_string())
    };
    assert_eq!(key("s").as_deref(), Some("{ns}/{name}"));
    assert_eq!(key("g").as_deref(), Some("{name}"));
    assert_eq!(key("t").as_deref(), Some("{name}"));
    assert_eq!(key("e"), None);
}

#[test]
fn two_keys_on_one_node_or_a_key_without_its_attribute_are_errors() {
    let out = load(
        r#"
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <serviceTask id="t"><extensionElements>
      <windlass:task kind="shell" dedupKey="{a}"/><windlass:dedup key="{b}"/>
    </extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="t" targetRef="u"/>
    <serviceTask id="u"><extensionElements><windlass:dedup/></extensionElements></serviceTask>
    <sequenceFlow id="f3" sourceRef="u" targetRef="e"/>
    <endEvent id="e"/>"#,
    );
    let text: Vec<String> = out.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter()
            .any(|d| d.contains("one dedup key") && d.contains("'t'")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|d| d.contains("key") && d.contains("'u'")),
        "{text:#?}"
    );
}
