//! Multi-instance data items as other engines write them: SpiffWorkflow and
//! Camunda 7 item names, Camunda 7's `camunda:collection` /
//! `camunda:elementVariable`.

use windlass_model::{LoopSpec, MultiInstanceSpec, Severity, load};

/// Loads a one-task process whose `multiInstanceLoopCharacteristics` is
/// `mi` (with `attrs` on it) and returns its spec and the error messages.
fn spec(attrs: &str, mi: &str) -> (Option<MultiInstanceSpec>, Vec<String>) {
    let xml = format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
            xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">
          <process id="p" isExecutable="true">
            <startEvent id="s"/>
            <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
            <serviceTask id="t"><multiInstanceLoopCharacteristics {attrs}>{mi}</multiInstanceLoopCharacteristics></serviceTask>
            <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
            <endEvent id="e"/>
          </process>
        </definitions>"#
    );
    let out = load(&xml);
    let errors = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    let spec = out.definitions.and_then(|d| {
        let p = d.first_executable()?;
        let n = p.node(p.node_by_id("t")?);
        match n.looping.as_deref() {
            Some(LoopSpec::MultiInstance(mi)) => Some(mi.clone()),
            _ => None,
        }
    });
    (spec, errors)
}

#[test]
fn item_names_with_spaces_bind_by_id() {
    let (mi, errors) = spec(
        "",
        r#"<loopDataInputRef>input_data</loopDataInputRef>
           <loopDataOutputRef>output_data</loopDataOutputRef>
           <inputDataItem id="input_item" name="input item"/>
           <outputDataItem id="output_item" name="output item"/>"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let mi = mi.unwrap_or_else(|| panic!("no multi-instance spec"));
    assert_eq!(mi.input_element.as_deref(), Some("input_item"));
    assert_eq!(mi.output_item.as_deref(), Some("output_item"));
    assert_eq!(
        mi.output_element.as_ref().map(|e| e.source()),
        Some("output_item")
    );
    assert_eq!(mi.output_collection.as_deref(), Some("output_data"));
}

#[test]
fn identifier_names_still_win_over_ids() {
    let (mi, errors) = spec(
        "",
        r#"<loopDataInputRef>xs</loopDataInputRef>
           <inputDataItem id="in_1" name="x"/>
           <outputDataItem id="out_1" name="y"/>"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let mi = mi.unwrap_or_else(|| panic!("no multi-instance spec"));
    assert_eq!(mi.input_element.as_deref(), Some("x"));
    assert_eq!(mi.output_item.as_deref(), Some("y"));
}

#[test]
fn dotted_names_fall_back_to_ids() {
    let (mi, errors) = spec(
        "",
        r#"<loopDataInputRef>xs</loopDataInputRef>
           <inputDataItem id="LoopInstanceInput" name="CheckDataTask.TravelOrder"/>"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let mi = mi.unwrap_or_else(|| panic!("no multi-instance spec"));
    assert_eq!(mi.input_element.as_deref(), Some("LoopInstanceInput"));
}

#[test]
fn camunda7_collection_and_element_variable_are_read() {
    for collection in ["${hosts}", "#{hosts}", "hosts"] {
        let (mi, errors) = spec(
            &format!(r#"camunda:collection="{collection}" camunda:elementVariable="host""#),
            "",
        );
        assert!(errors.is_empty(), "{collection}: {errors:?}");
        let mi = mi.unwrap_or_else(|| panic!("no multi-instance spec"));
        assert_eq!(
            mi.input_collection.as_ref().map(|e| e.source()),
            Some("hosts")
        );
        assert_eq!(mi.input_element.as_deref(), Some("host"));
        assert!(mi.output_item.is_none());
    }
}

#[test]
fn camunda7_collection_that_is_not_an_expression_is_refused_by_name() {
    let (_, errors) = spec(r#"camunda:collection="${a b c}""#, "");
    assert!(
        errors.iter().any(|m| m.contains("camunda:collection")),
        "{errors:?}"
    );
}
