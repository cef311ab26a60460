//! A `process` (or sub-process) body: flow nodes, sequence flows, lanes,
//! artifacts; collected into a [`Builder`] the compile step resolves.

use super::expr::{self, At};
use super::{Ctx, activities, extensions, nodes, values};
use crate::codes;
use crate::graph::{ExprSpec, Node, NodeIdx, ProcessGraph, Scope, ScopeIdx, TaskType};
use crate::xml::tree::{Element, Ns};
use std::collections::{HashMap, HashSet};

/// A sequence flow before its ends are resolved.
#[derive(Debug)]
pub struct RawFlow<'t> {
    /// The element.
    pub el: &'t Element<'t>,
    /// Its id.
    pub id: &'t str,
    /// The compiled condition.
    pub condition: Option<ExprSpec>,
}

/// Everything read from one process, before resolution.
#[derive(Debug, Default)]
pub struct Builder<'t> {
    /// Flow nodes in document order.
    pub nodes: Vec<Node>,
    /// Scopes; 0 is the process.
    pub scopes: Vec<Scope>,
    /// Sequence flows.
    pub flows: Vec<RawFlow<'t>>,
    /// Node index by id.
    pub node_ids: HashMap<&'t str, NodeIdx>,
    /// Ids of elements left out (unsupported in a non-executable process).
    pub skipped: HashSet<&'t str>,
    /// Boundary events and their elements (for `attachedToRef`).
    pub boundaries: Vec<(NodeIdx, &'t Element<'t>)>,
    /// Elements with a `default` attribute.
    pub defaults: Vec<(NodeIdx, &'t Element<'t>)>,
    /// Lane label by flow node id.
    pub lanes: HashMap<&'t str, std::sync::Arc<str>>,
}

impl<'t> Builder<'t> {
    /// Adds a node to its scope.
    pub fn push(&mut self, id: &'t str, node: Node) -> NodeIdx {
        let idx = NodeIdx(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        if let Some(scope) = self.scopes.get_mut(node.scope.0 as usize) {
            scope.children.push(idx);
        }
        self.nodes.push(node);
        self.node_ids.insert(id, idx);
        idx
    }

    /// Adds an empty scope.
    pub fn new_scope(&mut self, owner: Option<NodeIdx>, parent: Option<ScopeIdx>) -> ScopeIdx {
        let idx = ScopeIdx(u32::try_from(self.scopes.len()).unwrap_or(u32::MAX));
        self.scopes.push(Scope {
            owner,
            parent,
            children: Vec::new(),
            start_nodes: Vec::new(),
            implicit_start: false,
            event_subprocesses: Vec::new(),
        });
        idx
    }
}

/// Elements that do not affect execution and are accepted as they are.
const ARTIFACTS: &[&str] = &[
    "documentation",
    "extensionElements",
    "textAnnotation",
    "association",
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
    "transaction",
    "adHocSubProcess",
    "callChoreography",
    "choreographyTask",
    "subChoreography",
    "implicitThrowEvent",
];

/// Reports an unsupported element: an error in an executable process, a
/// warning elsewhere (the element is then left out).
pub fn unsupported<'t>(
    ctx: &mut Ctx<'_, '_, '_>,
    b: &mut Builder<'t>,
    el: &'t Element,
    what: &str,
) {
    let message = format!("{what} is not supported by Windlass");
    if ctx.strict {
        ctx.report.error(
            codes::UNSUPPORTED_ELEMENT,
            message,
            el.id(),
            Some(el.offset),
        );
    } else {
        ctx.report.warning(
            codes::UNSUPPORTED_ELEMENT,
            format!("{message} (ignored: the process is not executable)"),
            el.id(),
            Some(el.offset),
        );
    }
    if let Some(id) = el.id() {
        b.skipped.insert(id);
    }
}

/// A node with the common fields filled in.
pub fn base_node(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: &str,
    kind: crate::graph::NodeKind,
    scope: ScopeIdx,
) -> Node {
    let name = el.attr("name").map(str::to_string);
    let name_template = name.as_deref().and_then(|n| {
        expr::template(
            ctx,
            n,
            At {
                id: Some(id),
                offset: el.offset,
                what: "name",
            },
        )
    });
    Node {
        id: id.to_string(),
        name,
        name_template,
        kind,
        scope,
        incoming: Box::default(),
        outgoing: Box::default(),
        boundary_events: Box::default(),
        looping: None,
        io_mapping: None,
        task_extensions: None,
        documentation: values::documentation(el),
        lane: None,
        position: ctx.report.position(el.offset),
    }
}

/// Reads the content of a process or sub-process into `scope`.
pub fn parse_scope<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    container: &'t Element,
    scope: ScopeIdx,
) {
    for child in &container.children {
        match child.ns {
            Ns::Bpmn => {}
            Ns::Windlass | Ns::Zeebe => {
                ctx.report.error(
                    codes::INVALID_EXTENSION,
                    format!("<{}> must be inside <extensionElements>", child.qname),
                    container.id(),
                    Some(child.offset),
                );
                continue;
            }
            Ns::None | Ns::Other | Ns::Diagram => {
                ctx.report.warning(
                    codes::FOREIGN_ELEMENT,
                    format!(
                        "<{}> is not a BPMN element and is outside <extensionElements>; it is ignored",
                        child.qname
                    ),
                    container.id(),
                    Some(child.offset),
                );
                continue;
            }
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
            "subProcess" => activities::sub_process(ctx, b, child, scope),
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

fn flow<'t>(ctx: &mut Ctx<'_, '_, 't>, b: &mut Builder<'t>, el: &'t Element) {
    let Some(id) = values::required_id(ctx, el) else {
        return;
    };
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
        b.flows.push(RawFlow { el, id, condition });
    }
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

/// Reads and compiles one `process`.
pub fn process<'t>(ctx: &mut Ctx<'_, '_, 't>, el: &'t Element) -> Option<ProcessGraph> {
    let errors_before = crate::compile::error_count(ctx);
    let id = values::required_id(ctx, el)?;
    let is_executable = values::bool_attr(ctx, el, "isExecutable", true);
    ctx.strict = is_executable;
    let extensions = extensions::process(ctx, el);
    let mut b = Builder::default();
    b.new_scope(None, None);
    parse_scope(ctx, &mut b, el, ScopeIdx::ROOT);
    let graph = crate::compile::compile(
        ctx,
        b,
        crate::compile::Header {
            id: id.to_string(),
            name: el.attr("name").map(str::to_string),
            is_executable,
            extensions,
        },
        errors_before,
    );
    Some(graph)
}
