//! The `expression` of a `script` job task is compiled when the model
//! loads, in its `language`; a placeholder, an expression that does not
//! compile or an unknown language is an error naming the task and the
//! setting.
#![allow(clippy::unwrap_used)]

fn load(settings: &[(&str, &str)]) -> Vec<String> {
    let settings: String = settings
        .iter()
        .map(|(k, v)| format!(r#"<windlass:setting name="{k}" value="{v}"/>"#))
        .collect();
    let out = windlass_model::load(&format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="defs" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
    <serviceTask id="calc"><extensionElements><windlass:task kind="script">{settings}</windlass:task></extensionElements></serviceTask>
    <sequenceFlow id="f2" sourceRef="calc" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
    ));
    out.diagnostics
        .iter()
        .filter(|d| d.severity == windlass_model::Severity::Error)
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn good_expressions_load() {
    assert!(load(&[("expression", "{{&quot;a&quot;: n + 1}}")]).is_empty());
    assert!(load(&[("expression", "n + 1"), ("language", "python")]).is_empty());
}

#[test]
fn bad_expressions_are_load_errors_naming_task_and_setting() {
    for (settings, says) in [
        (vec![("expression", "n +")], "setting 'expression'"),
        (vec![("expression", "{n} + 1")], "not placeholders"),
        (
            vec![("expression", "n"), ("language", "feel")],
            "setting 'language': 'feel'",
        ),
    ] {
        let errs = load(&settings);
        assert_eq!(errs.len(), 1, "{settings:?}: {errs:?}");
        assert!(
            errs[0].contains("calc") && errs[0].contains(says),
            "{settings:?}: {errs:?}"
        );
    }
}
