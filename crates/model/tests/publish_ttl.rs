//! `<windlass:publish ttl>` on message throw and end events: a fixed
//! ISO-8601 duration read as milliseconds; anything else is an error naming
//! the element.
#![allow(clippy::unwrap_used)]

use windlass_model::{EventResult, NodeKind, Severity, load};

fn doc(throw_ext: &str, end_ext: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <message id="m" name="paid"/>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="send"/>
    <intermediateThrowEvent id="send">
      <extensionElements>{throw_ext}</extensionElements>
      <messageEventDefinition messageRef="m"/>
    </intermediateThrowEvent>
    <sequenceFlow id="f2" sourceRef="send" targetRef="e"/>
    <endEvent id="e"><extensionElements>{end_ext}</extensionElements></endEvent>
  </process>
</definitions>"#
    )
}

fn errors(xml: &str) -> Vec<String> {
    load(xml)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} {:?}: {}", d.code, d.element_id, d.message))
        .collect()
}

/// The time-to-live of the message thrown at `send`.
fn ttl(xml: &str) -> Option<u64> {
    let defs = load(xml).definitions.expect("loads");
    let p = defs.first_executable().expect("executable");
    let idx = p.node_by_id("send").expect("send");
    match &p.node(idx).kind {
        NodeKind::IntermediateThrow {
            result: EventResult::Message { ttl_millis, .. },
        } => *ttl_millis,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_fixed_duration_is_read_as_milliseconds() {
    assert_eq!(
        ttl(&doc(r#"<windlass:publish ttl="PT10M"/>"#, "")),
        Some(600_000)
    );
    assert_eq!(
        ttl(&doc(r#"<windlass:publish ttl="P1W1DT1H1.5S"/>"#, "")),
        Some((8 * 24 + 1) * 3_600_000 + 1_500)
    );
    assert_eq!(ttl(&doc("", "")), None, "without it: until consumed");
}

#[test]
fn a_bad_ttl_is_an_error_naming_the_element() {
    for (bad, says) in [
        ("ten minutes", "not an ISO-8601 duration"),
        ("P1M", "years or months"),
        ("PT99999999999999999999S", "PT99999999999999999999S"),
    ] {
        let ext = format!(r#"<windlass:publish ttl="{bad}"/>"#);
        let errs = errors(&doc(&ext, ""));
        assert_eq!(errs.len(), 1, "{bad}: {errs:?}");
        assert!(
            errs[0].contains("Some(\"send\")") && errs[0].contains(says),
            "{bad}: {errs:?}"
        );
    }
    let errs = errors(&doc(r#"<windlass:publish/>"#, ""));
    assert!(errs[0].contains("ttl"), "{errs:?}");
}

#[test]
fn a_ttl_on_an_event_that_throws_no_message_is_an_error() {
    let errs = errors(&doc("", r#"<windlass:publish ttl="PT1M"/>"#));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("Some(\"e\")") && errs[0].contains("message throw or end event"),
        "{errs:?}"
    );
}
