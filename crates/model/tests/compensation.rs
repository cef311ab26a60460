//! Compensation and cancel elements: handlers found through associations,
//! `activityRef`s resolved, transactions read as sub-processes; every
//! misplaced or unconnected element refused with WL0040 naming it; forms
//! of elements Windlass does not run refused with WL0022.
#![allow(clippy::unwrap_used)]

use windlass_model::{EventResult, EventTrigger, NodeKind, Severity};

fn doc(body: &str) -> String {
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><process id="p" isExecutable="true">{body}</process></definitions>"#
    )
}

/// The error diagnostics as (code, element id).
fn errors(body: &str) -> Vec<(String, String)> {
    windlass_model::load(&doc(body))
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code.to_string(), d.element_id.clone().unwrap_or_default()))
        .collect()
}

const BOOK: &str = r#"<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="book"/>
<task id="book"/><sequenceFlow id="f2" sourceRef="book" targetRef="undo"/>
<intermediateThrowEvent id="undo"><compensateEventDefinition activityRef="book"/></intermediateThrowEvent>
<sequenceFlow id="f3" sourceRef="undo" targetRef="e"/><endEvent id="e"/>"#;

#[test]
fn a_handler_is_found_through_its_association_in_either_direction() {
    for assoc in [
        r#"<association id="a" sourceRef="bc" targetRef="unbook"/>"#,
        r#"<association id="a" sourceRef="unbook" targetRef="bc"/>"#,
    ] {
        let xml = doc(&format!(
            r#"{BOOK}<boundaryEvent id="bc" attachedToRef="book"><compensateEventDefinition/></boundaryEvent>
<task id="unbook" isForCompensation="true"/>{assoc}"#
        ));
        let outcome = windlass_model::load(&xml);
        assert!(
            outcome
                .diagnostics
                .iter()
                .all(|d| d.severity != Severity::Error),
            "{:#?}",
            outcome.diagnostics
        );
        let defs = outcome.definitions.unwrap();
        let g = defs.process("p").unwrap();
        let idx = |id: &str| g.nodes.iter().position(|n| n.id == id).unwrap() as u32;
        let bc = &g.nodes[idx("bc") as usize];
        assert!(matches!(
            bc.kind,
            NodeKind::Boundary { trigger: EventTrigger::Compensation { handler: Some(h) }, .. } if h.0 == idx("unbook")
        ));
        let undo = &g.nodes[idx("undo") as usize];
        assert!(matches!(
            undo.kind,
            NodeKind::IntermediateThrow { result: EventResult::Compensation { activity: Some(a) } } if a.0 == idx("book")
        ));
        // The handler is not a start node and is not reported unreachable.
        assert!(
            !g.scope(windlass_model::ScopeIdx::ROOT)
                .start_nodes
                .iter()
                .any(|n| n.0 == idx("unbook"))
        );
        assert!(
            outcome
                .diagnostics
                .iter()
                .all(|d| d.element_id.as_deref() != Some("unbook")),
            "{:#?}",
            outcome.diagnostics
        );
    }
}

#[test]
fn misplaced_or_unconnected_compensation_and_cancel_elements_are_refused_by_name() {
    let cases = [
        (
            // No association.
            format!(r#"{BOOK}<boundaryEvent id="bc" attachedToRef="book"><compensateEventDefinition/></boundaryEvent><task id="unbook" isForCompensation="true"/>"#),
            vec!["bc", "unbook"],
        ),
        (
            // Associated with an ordinary task.
            format!(r#"{BOOK}<boundaryEvent id="bc" attachedToRef="book"><compensateEventDefinition/></boundaryEvent><task id="other"/><association id="a" sourceRef="bc" targetRef="other"/>"#),
            vec!["bc"],
        ),
        (
            // A handler with a sequence flow.
            format!(r#"{BOOK}<boundaryEvent id="bc" attachedToRef="book"><compensateEventDefinition/></boundaryEvent><task id="unbook" isForCompensation="true"/><association id="a" sourceRef="bc" targetRef="unbook"/><sequenceFlow id="bad" sourceRef="unbook" targetRef="e"/>"#),
            vec!["unbook"],
        ),
        (
            // activityRef naming nothing in the scope.
            BOOK.replace(r#"activityRef="book""#, r#"activityRef="nope""#),
            vec!["undo"],
        ),
        (
            // A cancel boundary event on a plain sub-process.
            format!(r#"{BOOK}<subProcess id="sub"/><boundaryEvent id="cb" attachedToRef="sub"><cancelEventDefinition/></boundaryEvent>"#),
            vec!["cb"],
        ),
        (
            // A transaction with a cancel end event and no cancel boundary.
            r#"<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="tx"/><transaction id="tx"><startEvent id="ts"/><sequenceFlow id="t1" sourceRef="ts" targetRef="ce"/><endEvent id="ce"><cancelEventDefinition/></endEvent></transaction>"#.to_string(),
            vec!["ce"],
        ),
        (
            // A compensation start event of a process-level event sub-process.
            format!(r#"{BOOK}<subProcess id="esp" triggeredByEvent="true"><startEvent id="cs"><compensateEventDefinition/></startEvent><sequenceFlow id="c1" sourceRef="cs" targetRef="ce"/><endEvent id="ce"/></subProcess>"#),
            vec!["cs"],
        ),
    ];
    for (body, ids) in cases {
        let got = errors(&body);
        let wanted: Vec<(String, String)> = ids
            .iter()
            .map(|i| ("WL0040".to_string(), i.to_string()))
            .collect();
        assert_eq!(got, wanted, "{body}");
    }
}

#[test]
fn going_on_before_the_compensation_finishes_is_refused_as_unsupported() {
    let body = BOOK.replace(
        r#"<compensateEventDefinition activityRef="book"/>"#,
        r#"<compensateEventDefinition waitForCompletion="false"/>"#,
    );
    let got = errors(&body);
    assert_eq!(got, [("WL0022".to_string(), "undo".to_string())]);
}

#[test]
fn an_event_based_gateway_that_starts_the_process_or_waits_for_all_is_refused() {
    for attrs in [r#"instantiate="true""#, r#"eventGatewayType="Parallel""#] {
        let body = format!(
            r#"<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="g"/><eventBasedGateway id="g" {attrs}/>"#
        );
        assert_eq!(
            errors(&body),
            [("WL0022".to_string(), "g".to_string())],
            "{attrs}"
        );
    }
}
