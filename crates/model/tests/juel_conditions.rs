//! Conditions written as JUEL (`${...}` / `#{...}`, as Camunda 7, Flowable
//! and Activiti models write them) load in the default language and mean
//! what JUEL means; what is outside the subset is refused by name (WL0016).
#![allow(clippy::unwrap_used)]

use serde_json::json;
use windlass_model::{Severity, load};

fn doc(condition: &str, language: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"{language}>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
    <exclusiveGateway id="g" default="other"/>
    <sequenceFlow id="big" sourceRef="g" targetRef="e"><conditionExpression>{condition}</conditionExpression></sequenceFlow>
    <sequenceFlow id="other" sourceRef="g" targetRef="e"/>
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
        .map(|d| d.to_string())
        .collect()
}

/// The condition of flow `big`, evaluated over `vars`.
fn holds(condition: &str, vars: serde_json::Value) -> bool {
    let defs = load(&doc(condition, "")).definitions.unwrap();
    let p = defs.first_executable().unwrap();
    let f = p.flows.iter().find(|f| f.id == "big").unwrap();
    let c = f.condition.as_ref().unwrap();
    c.compiled.evaluate_bool(vars.as_object().unwrap()).unwrap()
}

#[test]
fn juel_conditions_load_and_mean_what_juel_means() {
    let v = json!({"amount": 150, "approved": false, "list": [], "status": "open"});
    assert!(holds("${amount &gt; 100}", v.clone()));
    assert!(holds("#{amount gt 100 and not approved}", v.clone()));
    assert!(holds(
        "${empty list &amp;&amp; status eq 'open'}",
        v.clone()
    ));
    assert!(!holds("${approved}", v.clone()));
    assert!(!holds("${amount le 100 || approved}", v));
}

#[test]
fn what_is_outside_the_subset_is_refused_by_name() {
    for (condition, says) in [
        ("${order.getTotal() &gt; 10}", "method call `getTotal(...)`"),
        ("${approved ? a : b}", "conditional operator"),
        ("#{myBean.ok(execution)}", "method call `ok(...)`"),
    ] {
        let errs = errors(&doc(condition, ""));
        assert_eq!(errs.len(), 1, "{condition}: {errs:?}");
        assert!(
            errs[0].contains("WL0016")
                && errs[0].contains("'big'")
                && errs[0].contains(says)
                && errs[0].contains("outside the JUEL subset"),
            "{condition}: {errs:?}"
        );
    }
}

#[test]
fn in_an_explicit_language_the_delimiters_are_not_juel() {
    let cel = r#" expressionLanguage="https://github.com/google/cel-spec""#;
    let errs = errors(&doc("${amount &gt; 100}", cel));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("does not compile"), "{errs:?}");
}
