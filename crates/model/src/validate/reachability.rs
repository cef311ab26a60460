//! Reachability warnings: nodes no token can reach, and nodes from which no
//! end can be reached. Implicit start and end apply: a scope without start
//! events starts at every node without incoming flows, and a node without
//! outgoing flows ends its token.

use crate::Severity;
use crate::codes;
use crate::graph::{EventResult, EventTrigger, NodeIdx, NodeKind, ProcessGraph};
use crate::report::Report;

/// Where a token goes next in the same scope: flow targets, boundary events,
/// link targets.
fn next_in_scope(graph: &ProcessGraph, n: NodeIdx) -> Vec<NodeIdx> {
    let node = graph.node(n);
    let mut out: Vec<NodeIdx> = node
        .outgoing
        .iter()
        .map(|f| graph.flow(*f).target)
        .collect();
    out.extend(node.boundary_events.iter().copied());
    // A compensation boundary event leads to its handler.
    if let NodeKind::Boundary {
        trigger: EventTrigger::Compensation { handler: Some(h) },
        ..
    } = node.kind
    {
        out.push(h);
    }
    if let NodeKind::IntermediateThrow {
        result: EventResult::Link {
            target: Some(t), ..
        },
    } = node.kind
    {
        out.push(t);
    }
    out
}

/// [`next_in_scope`] plus, for a sub-process, where its content starts.
fn successors(graph: &ProcessGraph, n: NodeIdx) -> Vec<NodeIdx> {
    let node = graph.node(n);
    let mut out = next_in_scope(graph, n);
    if let NodeKind::SubProcess { scope, .. } = node.kind {
        let s = graph.scope(scope);
        out.extend(s.start_nodes.iter().copied());
        out.extend(s.event_subprocesses.iter().copied());
        // Triggered start events (of event sub-processes) start by themselves.
        out.extend(s.children.iter().copied().filter(|c| {
            matches!(graph.node(*c).kind, NodeKind::StartEvent { ref trigger, .. } if !matches!(trigger, EventTrigger::None))
        }));
    }
    out
}

/// Reports unreachable nodes and nodes that cannot reach an end.
pub fn check(report: &mut Report<'_>, graph: &ProcessGraph) {
    let n = graph.nodes.len();
    let mut reached = vec![false; n];
    let root = graph.scope(crate::graph::ScopeIdx::ROOT);
    let mut stack: Vec<NodeIdx> = root.start_nodes.clone();
    stack.extend(root.event_subprocesses.iter().copied());
    stack.extend(root.children.iter().copied().filter(|c| {
        matches!(graph.node(*c).kind, NodeKind::StartEvent { ref trigger, .. } if !matches!(trigger, EventTrigger::None))
    }));
    while let Some(x) = stack.pop() {
        if std::mem::replace(&mut reached[x.0 as usize], true) {
            continue;
        }
        stack.extend(successors(graph, x));
    }
    // Backwards from the ends: nodes without outgoing flows (and not link
    // throws), and sub-processes whose content can end.
    let mut preds: Vec<Vec<NodeIdx>> = vec![Vec::new(); n];
    for i in 0..n {
        let from = NodeIdx(u32::try_from(i).unwrap_or(u32::MAX));
        for s in next_in_scope(graph, from) {
            preds[s.0 as usize].push(from);
        }
    }
    let mut ends = vec![false; n];
    let mut stack: Vec<NodeIdx> = graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| {
            node.outgoing.is_empty()
                && !matches!(
                    node.kind,
                    NodeKind::IntermediateThrow {
                        result: EventResult::Link { .. }
                    }
                )
        })
        .map(|(i, _)| NodeIdx(u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    while let Some(x) = stack.pop() {
        if std::mem::replace(&mut ends[x.0 as usize], true) {
            continue;
        }
        stack.extend(preds[x.0 as usize].iter().copied());
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        if !reached[i] {
            report.push_at(
                Severity::Warning,
                codes::UNREACHABLE,
                "no token can reach this node",
                Some(&node.id),
                node.position,
            );
        } else if !ends[i] {
            report.push_at(
                Severity::Warning,
                codes::NO_PATH_TO_END,
                "no end can be reached from this node (a loop without exit?)",
                Some(&node.id),
                node.position,
            );
        }
    }
}
