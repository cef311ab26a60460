//! `windlass:kubernetesWatch` sources: every attribute read, the resync
//! period and the finalizer checked, errors naming the element.
#![allow(clippy::unwrap_used)]

use windlass_model::{MessageSource, Severity, load};

fn doc(watch: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <extensionElements>{watch}</extensionElements>
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
    )
}

fn errors(xml: &str) -> Vec<String> {
    load(xml)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn every_attribute_is_read() {
    let xml = doc(
        r#"<windlass:kubernetesWatch message="ingress" apiVersion="networking.k8s.io/v1"
             kind="Ingress" namespace="web" labelSelector="app=shop" fieldSelector="metadata.name=x"
             events="added,deleted" resync="PT1H" finalizer="example.com/cleanup"/>"#,
    );
    let loaded = load(&xml);
    let defs = loaded.definitions.unwrap();
    let graph = defs.processes()[0].clone();
    let MessageSource::KubernetesWatch {
        message,
        namespace,
        events,
        resync_millis,
        finalizer,
        ..
    } = &graph.extensions.sources[0]
    else {
        panic!("a watch source");
    };
    assert_eq!(message, "ingress");
    assert_eq!(namespace.as_deref(), Some("web"));
    assert_eq!(events, &["added", "deleted"]);
    assert_eq!(resync_millis, &Some(3_600_000));
    assert_eq!(finalizer.as_deref(), Some("example.com/cleanup"));
}

#[test]
fn a_bad_resync_or_finalizer_is_an_error_naming_it() {
    let base = r#"message="m" apiVersion="v1" kind="ConfigMap""#;
    let errs = errors(&doc(&format!(
        r#"<windlass:kubernetesWatch {base} resync="P1M"/>"#
    )));
    assert!(
        errs.iter()
            .any(|e| e.contains("resync") && e.contains("years or months")),
        "{errs:?}"
    );
    let errs = errors(&doc(&format!(
        r#"<windlass:kubernetesWatch {base} resync="PT0S"/>"#
    )));
    assert!(
        errs.iter().any(|e| e.contains("longer than zero")),
        "{errs:?}"
    );
    let errs = errors(&doc(&format!(
        r#"<windlass:kubernetesWatch {base} finalizer="cleanup"/>"#
    )));
    assert!(
        errs.iter()
            .any(|e| e.contains("finalizer") && e.contains("domain prefix")),
        "{errs:?}"
    );
}
