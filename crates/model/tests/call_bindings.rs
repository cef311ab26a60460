//! Call activity version bindings: latest by default; Zeebe's
//! `bindingType` and Camunda 7's `calledElementBinding` (with
//! `calledElementVersion`) read; forms Windlass does not run refused by name.
#![allow(clippy::unwrap_used)]

use windlass_model::{CallBinding, NodeKind, Severity};

fn call(attrs: &str, ext: &str) -> Result<CallBinding, Vec<(String, String)>> {
    let xml = format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d">
<process id="p" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="c"/>
<callActivity id="c" calledElement="child" {attrs}>{ext}</callActivity></process></definitions>"#
    );
    let outcome = windlass_model::load(&xml);
    let errors: Vec<(String, String)> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code.to_string(), d.message.clone()))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let defs = outcome.definitions.unwrap();
    let g = defs.process("p").unwrap();
    let node = g.nodes.iter().find(|n| n.id == "c").unwrap();
    match node.kind {
        NodeKind::CallActivity { binding, .. } => Ok(binding),
        _ => panic!("not a call activity"),
    }
}

#[test]
fn bindings_are_read_from_zeebe_and_camunda_attributes() {
    assert_eq!(call("", ""), Ok(CallBinding::Latest));
    let zeebe = |b: &str| {
        format!(
            r#"<extensionElements><zeebe:calledElement processId="child" bindingType="{b}"/></extensionElements>"#
        )
    };
    assert_eq!(call("", &zeebe("latest")), Ok(CallBinding::Latest));
    assert_eq!(call("", &zeebe("deployment")), Ok(CallBinding::Deployment));
    assert_eq!(
        call(r#"camunda:calledElementBinding="deployment""#, ""),
        Ok(CallBinding::Deployment)
    );
    assert_eq!(
        call(
            r#"camunda:calledElementBinding="version" camunda:calledElementVersion="3""#,
            ""
        ),
        Ok(CallBinding::Version(3))
    );
}

#[test]
fn bindings_windlass_does_not_run_are_refused_by_name() {
    let e = call(r#"camunda:calledElementBinding="versionTag""#, "").unwrap_err();
    assert_eq!(e[0].0, "WL0022");
    assert!(e[0].1.contains("versionTag"), "{e:?}");
    let e = call(r#"camunda:calledElementBinding="version""#, "").unwrap_err();
    assert_eq!(e[0].0, "WL0031");
    assert!(e[0].1.contains("calledElementVersion"), "{e:?}");
}
