//! Configuration the model parses but the engine cannot honour yet:
//! refused by name when a plan is built, so nothing configured is silently
//! ignored.
//!
//! Each entry leaves this list when its feature lands; what is left:
//! process-level timer start events whose definition is an expression (a
//! schedule has no instance to evaluate it in). `windlass:instanceId`
//! templates are honoured by the runtime, which renders them strictly from
//! the start variables; timer start events and `windlass:cron` sources by
//! the runtime's schedule service; dedup keys by its dedup owner;
//! `windlass:kubernetesWatch` sources by `windlass-k8s`'s watch service
//! over the runtime's list of deployed sources.

use super::PlanError;
use windlass_model::{EventTrigger, NodeKind, ProcessGraph, ScopeIdx, TimerSpec};

/// Refuses the first configuration of `graph` the engine cannot honour.
pub(super) fn check(graph: &ProcessGraph) -> Result<(), PlanError> {
    let refuse = |element: &str, what: String| PlanError::Unsupported {
        element: element.to_string(),
        what,
    };
    for node in &graph.nodes {
        if node.scope == ScopeIdx::ROOT
            && let NodeKind::StartEvent {
                trigger: EventTrigger::Timer(spec),
                ..
            } = &node.kind
            && let TimerSpec::Expression { part, .. } = spec.as_ref()
        {
            return Err(refuse(
                &node.id,
                format!(
                    "timer start event with an expression as its {} (a schedule has no \
                     instance to evaluate it in; write the value)",
                    part.element()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::plan::{Plan, PlanError};

    fn plan_of(process_ext: &str, task_attrs: &str) -> Result<Plan, PlanError> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <extensionElements>{process_ext}</extensionElements>
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
    <serviceTask id="t1">
      <extensionElements><windlass:task kind="shell" {task_attrs}/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="t1" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
        );
        let loaded = windlass_model::load(&xml);
        let defs = loaded.definitions.unwrap();
        Plan::new(defs.first_executable().unwrap().clone())
    }

    fn refusal(r: Result<Plan, PlanError>) -> (String, String) {
        match r {
            Err(PlanError::Unsupported { element, what }) => (element, what),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn plain_configuration_is_accepted() {
        assert!(plan_of("", "").is_ok());
    }

    #[test]
    fn a_dedup_key_is_honoured_on_its_node() {
        let plan = plan_of("", r#"dedupKey="{event.name}""#).unwrap();
        let key = plan.graph().nodes.iter().find_map(|n| n.dedup_key.as_ref());
        assert_eq!(key.map(|k| k.source()), Some("{event.name}"));
    }

    #[test]
    fn an_instance_id_template_is_accepted() {
        let plan = plan_of(
            r#"<windlass:instanceId template="renew-{event.name}"/>"#,
            "",
        )
        .unwrap();
        let t = plan.graph().extensions.instance_id.as_ref().unwrap();
        assert_eq!(t.source(), "renew-{event.name}");
    }

    #[test]
    fn a_timer_start_event_with_an_expression_is_refused() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s">
      <timerEventDefinition><timeCycle>=cycle</timeCycle></timerEventDefinition>
    </startEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;
        let defs = windlass_model::load(xml).definitions.unwrap();
        let (element, what) = refusal(Plan::new(defs.first_executable().unwrap().clone()));
        assert_eq!(element, "s");
        assert!(what.contains("expression as its timeCycle"), "{what}");
    }

    #[test]
    fn watch_and_cron_sources_are_accepted() {
        assert!(
            plan_of(
                r#"<windlass:cron message="nightly" schedule="0 3 * * *"/>"#,
                "",
            )
            .is_ok()
        );
        assert!(
            plan_of(
                r#"<windlass:kubernetesWatch message="m" apiVersion="v1" kind="ConfigMap"/>"#,
                "",
            )
            .is_ok()
        );
    }
}
