//! A `process` (or sub-process) body: flow nodes, sequence flows, lanes,
//! artifacts; collected into a [`Builder`] the compile step resolves.

use super::builder::{Builder, Header, Parsed, RawFlow, outside_extension_elements, unsupported};
use super::expr::{self, At};
use super::{Ctx, activities, extensions, nodes, values};
use crate::codes;
use crate::graph::{ScopeIdx, TaskType};
use crate::xml::tree::Element;

/// Elements that do not affect execution and are accepted as they are.
const ARTIFACTS: &[&str] = &[
    "documentation",
    "extensionElements",
    "textAnnotation",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "ioSpecification",
    "property",
    "auditing",
    "monitoring",
    "correlationSubscription",
    "resourceRole",
    "performer",
    "humanPerformer",
    "potentialOwner",
    "supports",
    "ioBinding",
    "incoming",
    "outgoing",
    "dataInputAssociation",
    "dataOutputAssociation",
    "standardLoopCharacteristics",
    "multiInstanceLoopCharacteristics",
];

/// Elements Windlass never executes.
const UNSUPPORTED: &[&str] = &[
    "adHocSubProcess",
    "callChoreography",
    "choreographyTask",
    "subChoreography",
    "implicitThrowEvent",
];

/// Reads the content of a process or sub-process into `scope`.
pub fn parse_scope<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    container: &'t Element,
    scope: ScopeIdx,
) {
    for child in &container.children {
        if outside_extension_elements(ctx.report, child, container.id()) {
            continue;
        }
        let local = &*child.local;
        match local {
            "startEvent"
            | "endEvent"
            | "intermediateCatchEvent"
            | "intermediateThrowEvent"
            | "boundaryEvent" => nodes::event(ctx, b, child, scope),
            "exclusiveGateway" | "parallelGateway" | "inclusiveGateway" | "eventBasedGateway"
            | "complexGateway" => nodes::gateway(ctx, b, child, scope),
            "task" => activities::task(ctx, b, child, scope, TaskType::Task),
            "serviceTask" => activities::task(ctx, b, child, scope, TaskType::Service),
            "scriptTask" => activities::task(ctx, b, child, scope, TaskType::Script),
            "userTask" => activities::task(ctx, b, child, scope, TaskType::User),
            "sendTask" => activities::task(ctx, b, child, scope, TaskType::Send),
            "receiveTask" => activities::task(ctx, b, child, scope, TaskType::Receive),
            "manualTask" => activities::task(ctx, b, child, scope, TaskType::Manual),
            "businessRuleTask" => activities::task(ctx, b, child, scope, TaskType::BusinessRule),
            "subProcess" | "transaction" => activities::sub_process(ctx, b, child, scope),
            "association" => association(b, child),
            "callActivity" => activities::call_activity(ctx, b, child, scope),
            "sequenceFlow" => flow(ctx, b, child),
            "laneSet" => lanes(b, child),
            l if ARTIFACTS.contains(&l) => {}
            l if UNSUPPORTED.contains(&l) => unsupported(ctx, b, child, l),
            l => {
                ctx.report.error(
                    codes::UNKNOWN_ELEMENT,
                    format!(
                        "<{}> is not a BPMN element allowed in <{}>",
                        l, container.local
                    ),
                    child.id().or(container.id()),
                    Some(child.offset),
                );
            }
        }
    }
}

/// A sequence flow. One without an `id` (the BPMN schema allows it, and
/// Camunda 7 and Flowable models have them) gets one made from its ends,
/// `{sourceRef}->{targetRef}` (`#2`, `#3`, ... for further flows between
/// the same two nodes, in document order): stable as long as the document's
/// flows between those nodes are, used in history and diagnostics.
fn flow<'t>(ctx: &mut Ctx<'_, '_, 't>, b: &mut Builder<'t>, el: &'t Element) {
    let written = el.id().map(str::trim).filter(|s| !s.is_empty());
    let id: std::borrow::Cow<'t, str> = match written {
        Some(id) => id.into(),
        None => generated_flow_id(b, el).into(),
    };
    let id = &*id;
    let mut ok = true;
    for attr in ["sourceRef", "targetRef"] {
        if el.attr(attr).is_none_or(|v| v.trim().is_empty()) {
            ctx.report.error(
                codes::MISSING_ATTRIBUTE,
                format!("sequenceFlow has no {attr}"),
                Some(id),
                Some(el.offset),
            );
            ok = false;
        }
    }
    let condition = el.bpmn_child("conditionExpression").and_then(|c| {
        let at = At {
            id: Some(id),
            offset: c.offset,
            what: "condition",
        };
        expr::compile(ctx, &c.text, c.attr("language"), at)
    });
    if ok {
        let id = match written {
            Some(w) => std::borrow::Cow::Borrowed(w),
            None => std::borrow::Cow::Owned(id.to_string()),
        };
        b.flows.push(RawFlow { el, id, condition });
    }
}

/// The id of a flow written without one: `{source}->{target}`, then `#2`,
/// `#3`, ... for the next flows between the same nodes.
fn generated_flow_id(b: &mut Builder<'_>, el: &Element) -> String {
    let end = |attr| el.attr(attr).map(str::trim).unwrap_or_default();
    let base = format!("{}->{}", end("sourceRef"), end("targetRef"));
    let n = b.unnamed_flows.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 { base } else { format!("{base}#{n}") }
}

/// An association: kept for compensation boundary events, which name their
/// handler through one (any other association is an annotation's).
fn association<'t>(b: &mut Builder<'t>, el: &'t Element) {
    let end = |attr| el.attr(attr).map(str::trim).unwrap_or_default();
    b.associations
        .push((end("sourceRef"), end("targetRef"), el.offset));
}

fn lanes<'t>(b: &mut Builder<'t>, lane_set: &'t Element) {
    for lane in lane_set.bpmn_children("lane") {
        let label = lane.attr("name").or(lane.id()).unwrap_or_default().trim();
        let label: std::sync::Arc<str> = label.into();
        for r in lane.bpmn_children("flowNodeRef") {
            b.lanes.insert(r.text.trim(), label.clone());
        }
        for child in lane.bpmn_children("childLaneSet") {
            lanes(b, child);
        }
    }
}

/// Reads one `process` for the compile step.
pub fn process<'t>(ctx: &mut Ctx<'_, '_, 't>, el: &'t Element) -> Option<Parsed<'t>> {
    let id = values::required_id(ctx, el)?;
    let is_executable = values::bool_attr(ctx, el, "isExecutable", true);
    ctx.strict = is_executable;
    let mut extensions = extensions::process(ctx, el);
    let mut b = Builder::default();
    b.new_scope(None, None);
    parse_scope(ctx, &mut b, el, ScopeIdx::ROOT);
    extensions.schedules = std::mem::take(&mut b.schedules);
    Some(Parsed {
        builder: b,
        header: Header {
            id: id.to_string(),
            name: el.attr("name").map(str::to_string),
            is_executable,
            extensions,
        },
    })
}
