//! The XML reader's checks on parts it does not keep (diagram interchange,
//! foreign elements) and the text it keeps, through `load`.

use windlass_model::{Diagnostic, LoadOutcome, Severity, codes, load};

const HEAD: &str = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:x="urn:other" id="defs">
<process id="p"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"><conditionExpression>
   x &gt; 1 &amp;&amp; y == 'a'  </conditionExpression></sequenceFlow><endEvent id="e"/></process>
"#;

fn doc(tail: &str) -> String {
    format!("{HEAD}{tail}\n</definitions>\n")
}

fn with_code<'a>(out: &'a LoadOutcome, code: &str) -> Vec<&'a Diagnostic> {
    out.diagnostics.iter().filter(|d| d.code == code).collect()
}

#[test]
fn shape_without_bpmn_element_is_a_warning_naming_the_shape() {
    let out = load(&doc(
        r#"<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
<bpmndi:BPMNShape id="ok" bpmnElement="s"><dc:Bounds x="1" y="1" width="1" height="1"/></bpmndi:BPMNShape>
<bpmndi:BPMNShape id="bad"><dc:Bounds x="1" y="1" width="1" height="1"/></bpmndi:BPMNShape>
<bpmndi:BPMNEdge id="edge"/>
</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"#,
    ));
    let found = with_code(&out, codes::DIAGRAM_DEFECT);
    let ids: Vec<_> = found.iter().map(|d| d.element_id.as_deref()).collect();
    assert_eq!(ids, [Some("bad"), Some("edge")], "{found:#?}");
    assert!(found.iter().all(|d| d.severity == Severity::Warning));
    assert!(found[0].message.contains("BPMNShape"));
    assert!(out.definitions.is_some());
}

#[test]
fn repeated_attribute_inside_the_diagram_is_an_xml_error() {
    let out = load(&doc(
        r#"<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
<bpmndi:BPMNShape id="a" bpmnElement="s"><dc:Bounds x="1" x="2"/></bpmndi:BPMNShape>
</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"#,
    ));
    let found = with_code(&out, codes::XML_SYNTAX);
    assert_eq!(found.len(), 1, "{:#?}", out.diagnostics);
    assert!(found[0].message.contains("'x'") && found[0].message.contains("appears twice"));
    assert!(out.definitions.is_none());
}

#[test]
fn repeated_attribute_after_many_is_found() {
    let attrs: String = (0..12).map(|i| format!(" a{i}=\"v\"")).collect();
    let out = load(&doc(&format!("<x:ext{attrs} a3=\"w\"/>")));
    let found = with_code(&out, codes::XML_SYNTAX);
    assert_eq!(found.len(), 1, "{:#?}", out.diagnostics);
    assert!(found[0].message.contains("'a3'"));
    let attrs: String = (0..12).map(|i| format!(" a{i}=\"v\"")).collect();
    let out = load(&doc(&format!("<x:ext{attrs} a11b=\"w\"/>")));
    assert!(with_code(&out, codes::XML_SYNTAX).is_empty());
}

#[test]
fn undeclared_prefix_on_a_foreign_attribute_is_an_xml_error() {
    let out = load(&doc(r#"<x:ext q:attr="1"/>"#));
    let found = with_code(&out, codes::XML_SYNTAX);
    assert_eq!(found.len(), 1, "{:#?}", out.diagnostics);
    assert!(found[0].message.contains("undeclared namespace prefix 'q'"));
}

#[test]
fn condition_text_keeps_entities_and_is_trimmed() {
    let out = load(&doc(""));
    let defs = out.definitions.expect("loads");
    let graph = &defs.processes()[0];
    let cond = graph.flows[0].condition.as_ref().expect("condition");
    assert_eq!(cond.source(), "x > 1 && y == 'a'");
}

#[test]
fn attribute_values_are_unescaped() {
    let xml = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">
<process id="p"><task id="a" name="A &amp; B"/><task id="b" name="C &lt; D"/></process>
</definitions>"#;
    let out = load(xml);
    let defs = out.definitions.expect("loads");
    let names: Vec<_> = defs.processes()[0]
        .nodes
        .iter()
        .map(|n| n.name.as_deref())
        .collect();
    assert_eq!(names, [Some("A & B"), Some("C < D")]);
}

/// Defect 14 of the reliability probe: character references to control
/// characters were read into names and documentation as they are.
#[test]
fn character_references_to_forbidden_characters_are_refused_with_their_position() {
    for reference in [
        "&#x1b;", "&#x7;", "&#xFFFE;", "&#xFFFF;", "&#1;", "&#x1F;", "&#27;",
    ] {
        for (place, tail) in [
            (
                "text",
                format!("<message id=\"m\"><documentation>a{reference}b</documentation></message>"),
            ),
            (
                "attribute",
                format!("<message id=\"m\" name=\"a{reference}b\"/>"),
            ),
            (
                "diagram attribute",
                format!("<bpmndi:BPMNDiagram id=\"dg\" name=\"{reference}\"/>"),
            ),
        ] {
            let xml = doc(&tail);
            let out = load(&xml);
            let found = with_code(&out, codes::FORBIDDEN_CHARACTER);
            assert_eq!(
                found.len(),
                1,
                "{reference} in {place}: {:#?}",
                out.diagnostics
            );
            assert!(out.definitions.is_none());
            let d = found[0];
            assert_eq!(d.severity, Severity::Error);
            assert!(
                d.message.contains("XML 1.0 does not allow"),
                "{}",
                d.message
            );
            // The reference itself in text; its element in an attribute.
            let at = if place == "text" {
                xml.find(reference).expect("reference")
            } else {
                HEAD.len()
            };
            let line = xml[..at].matches('\n').count() + 1;
            let column = at - xml[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
            let position = d.position.expect("position");
            assert_eq!(
                (position.line as usize, position.column as usize),
                (line, column),
                "{reference} in {place}: {d}"
            );
        }
    }
}

#[test]
fn allowed_character_references_still_read() {
    let xml = doc(
        "<message id=\"m\" name=\"a&#x9;b&#10;c&#xD;d&#x20AC;&#xFFFD;\"><documentation>x&#x9;&#x1F600;</documentation></message>",
    );
    let out = load(&xml);
    assert!(!out.has_errors(), "{:#?}", out.diagnostics);
}

#[test]
fn raw_forbidden_characters_are_refused_where_they_are() {
    for raw in ['\u{1b}', '\u{7}', '\u{0}', '\u{b}', '\u{FFFE}', '\u{FFFF}'] {
        for tail in [
            format!("<message id=\"m\"><documentation>ab{raw}</documentation></message>"),
            format!("<message id=\"m\" name=\"ab{raw}\"/>"),
            format!("<!-- ab{raw} -->"),
        ] {
            let xml = doc(&tail);
            let out = load(&xml);
            let found = with_code(&out, codes::FORBIDDEN_CHARACTER);
            assert_eq!(
                found.len(),
                1,
                "{raw:?} in {tail:?}: {:#?}",
                out.diagnostics
            );
            assert!(out.definitions.is_none());
            let at = xml.find(raw).expect("raw character");
            let line_start = xml[..at].rfind('\n').map_or(0, |i| i + 1);
            let position = found[0].position.expect("position");
            assert_eq!(
                (position.line as usize, position.column as usize),
                (
                    xml[..at].matches('\n').count() + 1,
                    xml[line_start..at].chars().count() + 1
                ),
                "{raw:?} in {tail:?}"
            );
        }
    }
}
