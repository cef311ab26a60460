//! What the parse step hands to the compile step — a [`Builder`] per
//! process with its [`Header`], together a [`Parsed`] process — and the
//! helpers every element parser uses to fill it: [`base_node`],
//! [`unsupported`] and [`outside_extension_elements`].
//!
//! The parse step only fills builders; the caller (`crate::definitions`)
//! hands each one to `crate::compile`, so parsing never calls back into
//! the stage after it.

use super::Ctx;
use super::expr::{self, At};
use super::values;
use crate::codes;
use crate::extensions::ProcessExtensions;
use crate::graph::{ExprSpec, Node, NodeIdx, Scope, ScopeIdx};
use crate::report::Report;
use crate::xml::tree::{Element, Ns};
use std::collections::{HashMap, HashSet};

/// Process-level data that is not part of the builder.
#[derive(Debug)]
pub struct Header {
    /// Process id.
    pub id: String,
    /// Process name.
    pub name: Option<String>,
    /// `isExecutable`.
    pub is_executable: bool,
    /// Process extensions.
    pub extensions: ProcessExtensions,
}

/// One process as the parse step read it, for the compile step.
#[derive(Debug)]
pub struct Parsed<'t> {
    /// Nodes, scopes and unresolved flows.
    pub builder: Builder<'t>,
    /// Id, name, executability and extensions.
    pub header: Header,
}

/// A sequence flow before its ends are resolved.
#[derive(Debug)]
pub struct RawFlow<'t> {
    /// The element.
    pub el: &'t Element<'t>,
    /// Its id: as written, or made from its ends for a flow written
    /// without one ([`super::process`]).
    pub id: std::borrow::Cow<'t, str>,
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
    /// Flows written without an id, counted per `{source}->{target}`.
    pub unnamed_flows: std::collections::HashMap<String, u32>,
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
    /// `<windlass:schedule>` of the process's timer start events.
    pub schedules: Vec<crate::extensions::StartSchedule>,
    /// Compensation throw and end events naming an activity
    /// (`activityRef`): the event's id, the reference and where it is.
    pub compensation_refs: Vec<(&'t str, String, usize)>,
    /// `association` elements: (sourceRef, targetRef, where), for
    /// compensation boundary events and their handlers.
    pub associations: Vec<(&'t str, &'t str, usize)>,
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
        dedup_key: super::extensions::dedup(ctx, el, id),
        documentation: values::documentation(el),
        for_compensation: false,
        lane: None,
        position: ctx.report.position(el.offset),
    }
}

/// Reports a child of `<definitions>`, a process or a sub-process that is
/// not a BPMN element: a Windlass or Zeebe extension element is an error
/// (it belongs inside `<extensionElements>`), anything else a warning (it
/// is ignored). False, reporting nothing, for a BPMN element.
pub fn outside_extension_elements(
    report: &mut Report<'_>,
    child: &Element,
    element_id: Option<&str>,
) -> bool {
    match child.ns {
        Ns::Bpmn => false,
        Ns::Windlass | Ns::Zeebe => {
            report.error(
                codes::INVALID_EXTENSION,
                format!("<{}> must be inside <extensionElements>", child.qname),
                element_id,
                Some(child.offset),
            );
            true
        }
        Ns::None | Ns::Other | Ns::Diagram | Ns::Camunda => {
            report.warning(
                codes::FOREIGN_ELEMENT,
                format!(
                    "<{}> is not a BPMN element and is outside <extensionElements>; it is ignored",
                    child.qname
                ),
                element_id,
                Some(child.offset),
            );
            true
        }
    }
}
