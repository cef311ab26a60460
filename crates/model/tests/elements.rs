//! The all-elements fixture loads and compiles into the expected graph.

use windlass_model::{
    EventResult, EventTrigger, GatewayKind, LoopSpec, MessageSource, NodeKind, TimerCycle,
    TimerSpec, load,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn all_elements_load_and_compile() {
    let out = load(&fixture("all-elements.bpmn"));
    let errors: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == windlass_model::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let defs = out.definitions.expect("loads");
    assert_eq!(defs.id(), Some("defs"));
    assert_eq!(defs.processes().len(), 2);
    assert!(defs.xml().contains("All elements"));
    let p = defs.first_executable().expect("executable");
    assert_eq!(p.id, "renew");
    assert!(defs.process("helper").is_some());
    let n = |id: &str| p.node(p.node_by_id(id).unwrap_or_else(|| panic!("node {id}")));

    // Process extensions.
    assert_eq!(
        p.extensions.instance_id.as_ref().map(|t| t.source()),
        Some("renew-{event.name}")
    );
    assert!(
        matches!(&p.extensions.sources[0], MessageSource::KubernetesWatch { kind, events, .. } if kind == "Ingress" && events.len() == 2)
    );
    assert!(
        matches!(&p.extensions.sources[1], MessageSource::Cron { schedule, .. } if schedule == "0 3 * * *")
    );

    // Task extensions, template name, lane, documentation, io.
    let check = n("check");
    assert!(check.name_template.is_some());
    assert_eq!(check.lane.as_deref(), Some("Ops"));
    assert_eq!(
        check.documentation.as_deref(),
        Some("Checks the certificate.")
    );
    assert_eq!(check.task().kind.as_deref(), Some("shell"));
    assert_eq!(check.task().retries, Some(3));
    assert_eq!(check.task().timeout_millis, Some(300_000));
    assert_eq!(check.task().backoff_millis, Some(10_000));
    assert_eq!(
        check.task().settings.get("command").map(|t| t.source()),
        Some("echo {x}")
    );
    assert!(check.dedup_key.is_some());
    assert_eq!(check.io().inputs[0].target, "name");
    assert_eq!(check.io().outputs[0].target, "valid");
    assert_eq!(check.boundary_events.len(), 2);

    // Zeebe.
    let issue = n("issue");
    assert_eq!(issue.task().kind.as_deref(), Some("issue-cert"));
    assert_eq!(issue.task().retries, Some(5));
    assert_eq!(
        issue.task().settings.get("issuer").map(|t| t.source()),
        Some("letsencrypt")
    );
    assert_eq!(issue.io().inputs[0].target, "domain");
    assert!(matches!(
        issue.looping.as_deref(),
        Some(LoopSpec::Standard {
            test_before: true,
            loop_maximum: Some(5),
            ..
        })
    ));

    // Multi-instance.
    assert!(
        matches!(n("notify").looping.as_deref(), Some(LoopSpec::MultiInstance(mi)) if mi.sequential && mi.cardinality.is_some() && mi.completion_condition.is_some())
    );
    assert!(
        matches!(n("rules").looping.as_deref(), Some(LoopSpec::MultiInstance(mi)) if mi.input_collection.is_some() && mi.input_element.as_deref() == Some("host"))
    );

    // Script compiled, with result variable.
    assert!(
        matches!(&n("script").kind, NodeKind::Task { script: Some(s), .. } if s.compiled.is_some() && s.result_variable.as_deref() == Some("three"))
    );

    // Boundary attachment.
    let timeout_idx = p.node_by_id("check_timeout").expect("boundary");
    assert!(
        matches!(&p.node(timeout_idx).kind, NodeKind::Boundary { attached_to, cancel_activity: false, trigger: EventTrigger::Timer(t) } if p.node(*attached_to).id == "check" && matches!(**t, TimerSpec::Duration { .. }))
    );
    assert!(
        matches!(&n("check_error").kind, NodeKind::Boundary { trigger: EventTrigger::Error { code: Some(c) }, .. } if c == "FAIL")
    );

    // Gateways and default flow.
    let gw = n("valid_gw");
    assert!(
        matches!(gw.kind, NodeKind::Gateway { kind: GatewayKind::Exclusive, default: Some(f), .. } if p.flow(f).id == "to_issue" && p.flow(f).is_default)
    );
    assert!(matches!(
        n("cplx").kind,
        NodeKind::Gateway {
            kind: GatewayKind::Complex,
            activation_condition: Some(_),
            ..
        }
    ));
    let cond = p
        .flows
        .iter()
        .find(|f| f.id == "ok")
        .and_then(|f| f.condition.as_ref())
        .expect("condition");
    assert_eq!(cond.source(), "valid == true");

    // Events.
    assert!(
        matches!(&n("msg_start").kind, NodeKind::StartEvent { trigger: EventTrigger::Message { name, correlation_key: Some(_) }, .. } if name == "ingress-event")
    );
    assert!(matches!(
        &n("timer_start").kind,
        NodeKind::StartEvent {
            trigger: EventTrigger::Timer(t),
            ..
        } if matches!(
            **t,
            TimerSpec::Cycle {
                cycle: TimerCycle::Repeat {
                    repetitions: Some(3),
                    ..
                },
                ..
            }
        )
    ));
    assert!(matches!(
        &n("end_term").kind,
        NodeKind::EndEvent {
            result: EventResult::Terminate
        }
    ));
    assert!(
        matches!(&n("escalate").kind, NodeKind::IntermediateThrow { result: EventResult::Escalation { code: Some(c) } } if c == "LATE")
    );
    let landing = p.node_by_id("landing").expect("landing");
    assert!(
        matches!(n("jump").kind, NodeKind::IntermediateThrow { result: EventResult::Link { target: Some(t), .. } } if t == landing)
    );

    // Scopes: root starts at the none start event only; sub-process uses implicit start.
    let root = p.scope(windlass_model::ScopeIdx::ROOT);
    assert!(!root.implicit_start);
    assert_eq!(
        root.start_nodes,
        vec![p.node_by_id("start").expect("start")]
    );
    let NodeKind::SubProcess { scope, .. } = n("sub").kind else {
        panic!("sub-process")
    };
    let sub = p.scope(scope);
    assert!(sub.implicit_start);
    assert_eq!(sub.start_nodes, vec![p.node_by_id("sub_a").expect("sub_a")]);
    assert_eq!(
        sub.event_subprocesses,
        vec![p.node_by_id("evsub").expect("evsub")]
    );

    // Positions are 1-based lines of the start tag.
    assert!(check.position.line > 20 && check.position.column == 5);
}

#[test]
fn helper_process_uses_implicit_start() {
    let defs = load(&fixture("all-elements.bpmn"))
        .definitions
        .expect("loads");
    let h = defs.process("helper").expect("helper");
    assert!(h.scope(windlass_model::ScopeIdx::ROOT).implicit_start);
    assert_eq!(h.scope(windlass_model::ScopeIdx::ROOT).start_nodes.len(), 1);
}

/// `into_result`: the definitions of a document that loads; otherwise one
/// error holding every diagnostic, displayed as the errors joined by "; ".
#[test]
fn into_result_gives_the_definitions_or_one_error_with_every_diagnostic() {
    let head = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">"#;
    let ok = format!(
        r#"{head}<process id="p" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/></process></definitions>"#
    );
    let defs = windlass_model::load(&ok).into_result().expect("loads");
    assert_eq!(defs.processes().len(), 1);

    let bad = format!(
        r#"{head}<process id="p" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/><sequenceFlow id="g" sourceRef="s" targetRef="gone"/><adHocSubProcess id="tx"/><task id="lonely"/></process></definitions>"#
    );
    let outcome = windlass_model::load(&bad);
    let expected_errors: Vec<_> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == windlass_model::Severity::Error)
        .cloned()
        .collect();
    assert!(expected_errors.len() >= 3, "{expected_errors:#?}");
    let err = outcome.into_result().expect_err("does not load");
    assert_eq!(err.errors, expected_errors);
    assert!(
        err.warnings
            .iter()
            .all(|d| d.severity == windlass_model::Severity::Warning)
    );
    let shown: Vec<String> = expected_errors.iter().map(ToString::to_string).collect();
    assert_eq!(err.to_string(), shown.join("; "));
    assert!(err.to_string().contains("error[WL0008]"), "{err}");
    let unsupported = err.unsupported().expect("the ad-hoc sub-process");
    assert_eq!(
        (unsupported.code, unsupported.element_id.as_deref()),
        (windlass_model::codes::UNSUPPORTED_ELEMENT, Some("tx"))
    );
    let as_error: Box<dyn std::error::Error> = Box::new(err);
    assert!(as_error.to_string().starts_with("1:"));
}
