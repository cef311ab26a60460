//! `successCodes` of `http` tasks is checked at load time when it has no
//! placeholders; an error names the element and the setting.
#![allow(clippy::unwrap_used)]

fn load(kind: &str, codes: &str) -> windlass_model::LoadOutcome {
    load_setting(kind, "successCodes", codes)
}

fn errors(out: &windlass_model::LoadOutcome) -> Vec<String> {
    out.diagnostics
        .iter()
        .filter(|d| d.severity == windlass_model::Severity::Error)
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn good_patterns_load() {
    for codes in ["2xx", "200,404", "2xx, 3xx", "{codes}"] {
        let out = load("http", codes);
        assert!(errors(&out).is_empty(), "{codes}: {:?}", errors(&out));
        assert!(out.definitions.is_some());
    }
}

#[test]
fn a_bad_pattern_is_a_load_error_naming_element_and_setting() {
    let out = load("http", "2xx,20");
    let errs = errors(&out);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("call"), "{errs:?}");
    assert!(
        errs[0].contains("setting 'successCodes': '20' is neither"),
        "{errs:?}"
    );
    assert!(out.definitions.is_none());
}

#[test]
fn other_kinds_are_not_checked() {
    assert!(errors(&load("custom", "whatever")).is_empty());
}

/// A task of `kind` with the setting `name` = `value`.
fn load_setting(kind: &str, name: &str, value: &str) -> windlass_model::LoadOutcome {
    windlass_model::load(&format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="defs" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <serviceTask id="call"><extensionElements><windlass:task kind="{kind}">
      <windlass:setting name="url" value="http://localhost/"/>
      <windlass:setting name="{name}" value="{value}"/>
    </windlass:task></extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
    ))
}

#[test]
fn an_output_expression_of_an_http_task_is_compiled_at_load() {
    let ok = load_setting("http", "output.id", "response.body.items[0].id");
    assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
    let out = load_setting("http", "output.id", "response.body.(");
    let errs = errors(&out);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("call") && errs[0].contains("setting 'output.id'"),
        "{errs:?}"
    );
    assert!(errors(&load_setting("custom", "output.id", "response.body.(")).is_empty());
}
