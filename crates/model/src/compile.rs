//! Resolution of what the parse step collected: flow ends, defaults,
//! boundary attachment, start nodes (with the implicit-start rule), event
//! sub-processes and link throw → catch; then the graph-level checks.

use crate::codes;
use crate::graph::{
    EventResult, EventTrigger, Flow, FlowIdx, NodeIdx, NodeKind, ProcessGraph, ScopeIdx,
};
use crate::parse::builder::{Builder, Parsed};
use crate::report::Report;
use std::collections::HashMap;

/// Builds the graph of one parsed process and runs the graph checks.
/// `errors_before`: the error count before the process was read; the graph
/// checks run only when reading and resolving added no error.
pub fn compile(report: &mut Report<'_>, parsed: Parsed<'_>, errors_before: usize) -> ProcessGraph {
    let Parsed {
        builder: mut b,
        header,
    } = parsed;
    for node in &mut b.nodes {
        node.lane = b.lanes.get(node.id.as_str()).cloned();
    }
    let flows = resolve_flows(report, &mut b);
    let mut graph = ProcessGraph {
        id: header.id,
        name: header.name,
        is_executable: header.is_executable,
        nodes: std::mem::take(&mut b.nodes),
        flows,
        scopes: std::mem::take(&mut b.scopes),
        extensions: header.extensions,
    };
    resolve_defaults(report, &b, &mut graph);
    resolve_boundaries(report, &b, &mut graph);
    crate::compensation::resolve(report, &b, &mut graph);
    resolve_scopes(&mut graph);
    resolve_links(report, &mut graph);
    // The graph lives as long as the definition: no spare capacity.
    graph.nodes.shrink_to_fit();
    graph.scopes.shrink_to_fit();
    if report.error_count() == errors_before {
        crate::validate::graph(report, &graph);
    }
    graph
}

fn resolve_flows(report: &mut Report<'_>, b: &mut Builder<'_>) -> Vec<Flow> {
    let mut flows = Vec::with_capacity(b.flows.len());
    // Collected per node here, boxed into the nodes at the end.
    let mut incoming: Vec<Vec<FlowIdx>> = vec![Vec::new(); b.nodes.len()];
    let mut outgoing: Vec<Vec<FlowIdx>> = vec![Vec::new(); b.nodes.len()];
    for raw in std::mem::take(&mut b.flows) {
        let mut ends = [None, None];
        let mut skip = false;
        for (slot, attr) in ["sourceRef", "targetRef"].iter().enumerate() {
            let r = raw.el.attr(attr).unwrap_or_default().trim();
            match b.node_ids.get(r) {
                Some(&idx) => ends[slot] = Some(idx),
                None if b.skipped.contains(r) => skip = true,
                None => {
                    report.error(
                        codes::UNKNOWN_FLOW_REF,
                        format!("sequence flow {attr} '{r}' names no flow node of this process"),
                        Some(&raw.id),
                        Some(raw.el.offset),
                    );
                    skip = true;
                }
            }
        }
        let [Some(source), Some(target)] = ends else {
            continue;
        };
        if skip {
            continue;
        }
        let (s, t) = (&b.nodes[source.0 as usize], &b.nodes[target.0 as usize]);
        if s.scope != t.scope {
            report.error(
                codes::CROSS_SCOPE_FLOW,
                format!(
                    "sequence flow connects '{}' and '{}', which are in different (sub-)processes",
                    s.id, t.id
                ),
                Some(&raw.id),
                Some(raw.el.offset),
            );
            continue;
        }
        let bad_target = match t.kind {
            NodeKind::StartEvent { .. } => Some("into start event"),
            NodeKind::Boundary { .. } => Some("into boundary event"),
            _ => None,
        };
        let bad_source = matches!(s.kind, NodeKind::EndEvent { .. }).then_some("out of end event");
        if let Some(why) = bad_target.or(bad_source) {
            let who = if bad_target.is_some() { &t.id } else { &s.id };
            report.error(
                codes::INVALID_FLOW_ENDPOINT,
                format!("sequence flow goes {why} '{who}'"),
                Some(&raw.id),
                Some(raw.el.offset),
            );
            continue;
        }
        let idx = FlowIdx(u32::try_from(flows.len()).unwrap_or(u32::MAX));
        outgoing[source.0 as usize].push(idx);
        incoming[target.0 as usize].push(idx);
        flows.push(Flow {
            id: raw.id.into_owned(),
            name: raw.el.attr("name").map(Box::from),
            source,
            target,
            condition: raw.condition,
            is_default: false,
            position: report.position(raw.el.offset),
        });
    }
    for ((node, inc), out) in b.nodes.iter_mut().zip(incoming).zip(outgoing) {
        node.incoming = inc.into_boxed_slice();
        node.outgoing = out.into_boxed_slice();
    }
    flows
}

fn resolve_defaults(report: &mut Report<'_>, b: &Builder<'_>, graph: &mut ProcessGraph) {
    let by_id: HashMap<String, usize> = graph
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.clone(), i))
        .collect();
    for (node_idx, el) in &b.defaults {
        let d = el.attr("default").unwrap_or_default().trim();
        let node = &graph.nodes[node_idx.0 as usize];
        match by_id.get(d) {
            Some(&fi) if graph.flows[fi].source == *node_idx => {
                graph.flows[fi].is_default = true;
                let flow_idx = FlowIdx(u32::try_from(fi).unwrap_or(u32::MAX));
                if let NodeKind::Gateway { default, .. } =
                    &mut graph.nodes[node_idx.0 as usize].kind
                {
                    *default = Some(flow_idx);
                }
            }
            found => {
                let why = if found.is_some() {
                    "is not an outgoing flow of it"
                } else {
                    "names no sequence flow"
                };
                report.error(
                    codes::DEFAULT_NOT_OUTGOING,
                    format!("default flow '{d}' of '{}' {why}", node.id),
                    Some(&node.id),
                    Some(el.offset),
                );
            }
        }
    }
}

fn resolve_boundaries(report: &mut Report<'_>, b: &Builder<'_>, graph: &mut ProcessGraph) {
    for (bidx, el) in &b.boundaries {
        let bid = graph.nodes[bidx.0 as usize].id.clone();
        let Some(r) = el
            .attr("attachedToRef")
            .map(str::trim)
            .filter(|r| !r.is_empty())
        else {
            report.error(
                codes::MISSING_ATTRIBUTE,
                "boundaryEvent has no attachedToRef",
                Some(&bid),
                Some(el.offset),
            );
            continue;
        };
        let Some(&target) = b.node_ids.get(r) else {
            if !b.skipped.contains(r) {
                report.error(
                    codes::INVALID_BOUNDARY,
                    format!("attachedToRef '{r}' names no activity of this process"),
                    Some(&bid),
                    Some(el.offset),
                );
            }
            continue;
        };
        let t = &graph.nodes[target.0 as usize];
        let carries = matches!(
            t.kind,
            NodeKind::Task { .. }
                | NodeKind::CallActivity { .. }
                | NodeKind::SubProcess {
                    triggered_by_event: false,
                    ..
                }
        );
        if !carries || t.scope != graph.nodes[bidx.0 as usize].scope {
            let why = if carries {
                "is in another (sub-)process"
            } else {
                "is not an activity that can carry boundary events"
            };
            report.error(
                codes::INVALID_BOUNDARY,
                format!("boundary event is attached to '{r}', which {why}"),
                Some(&bid),
                Some(el.offset),
            );
            continue;
        }
        let attached = &mut graph.nodes[target.0 as usize].boundary_events;
        let mut list = std::mem::take(attached).into_vec();
        list.push(*bidx);
        *attached = list.into_boxed_slice();
        if let NodeKind::Boundary { attached_to, .. } = &mut graph.nodes[bidx.0 as usize].kind {
            *attached_to = target;
        }
    }
}

fn idx(i: usize) -> NodeIdx {
    NodeIdx(u32::try_from(i).unwrap_or(u32::MAX))
}

/// Start nodes (with the implicit-start rule) and event sub-processes.
fn resolve_scopes(graph: &mut ProcessGraph) {
    for (i, node) in graph.nodes.iter().enumerate() {
        if let NodeKind::SubProcess {
            triggered_by_event: true,
            ..
        } = node.kind
            && let Some(scope) = graph.scopes.get_mut(node.scope.0 as usize)
        {
            scope.event_subprocesses.push(idx(i));
        }
    }
    for scope in &mut graph.scopes {
        let nodes = &graph.nodes;
        let has_start = scope
            .children
            .iter()
            .any(|c| matches!(nodes[c.0 as usize].kind, NodeKind::StartEvent { .. }));
        if has_start {
            scope.start_nodes = scope
                .children
                .iter()
                .copied()
                .filter(|c| {
                    matches!(
                        nodes[c.0 as usize].kind,
                        NodeKind::StartEvent {
                            trigger: EventTrigger::None,
                            ..
                        }
                    )
                })
                .collect();
            scope.implicit_start = false;
        } else {
            scope.start_nodes = scope
                .children
                .iter()
                .copied()
                .filter(|c| {
                    let n = &nodes[c.0 as usize];
                    n.incoming.is_empty()
                        && !n.for_compensation
                        && !matches!(
                            n.kind,
                            NodeKind::Boundary { .. }
                                | NodeKind::SubProcess {
                                    triggered_by_event: true,
                                    ..
                                }
                                | NodeKind::IntermediateCatch {
                                    trigger: EventTrigger::Link { .. }
                                }
                        )
                })
                .collect();
            scope.implicit_start = true;
        }
    }
}

/// Each link throw jumps to the one catch event of the same name in its scope.
fn resolve_links(report: &mut Report<'_>, graph: &mut ProcessGraph) {
    let mut catches: HashMap<(ScopeIdx, &str), Vec<usize>> = HashMap::new();
    for (i, n) in graph.nodes.iter().enumerate() {
        if let NodeKind::IntermediateCatch {
            trigger: EventTrigger::Link { name },
        } = &n.kind
        {
            catches.entry((n.scope, name.as_str())).or_default().push(i);
        }
    }
    let mut targets = Vec::new();
    for (i, n) in graph.nodes.iter().enumerate() {
        if let NodeKind::IntermediateThrow {
            result: EventResult::Link { name, .. },
        } = &n.kind
        {
            match catches.get(&(n.scope, name.as_str())).map(Vec::as_slice) {
                Some([one]) => targets.push((i, idx(*one))),
                Some(many) => report.push_at(
                    crate::Severity::Error,
                    codes::UNMATCHED_LINK,
                    format!("link '{name}' has {} catch events in this scope; it needs exactly one", many.len()),
                    Some(&n.id),
                    n.position,
                ),
                None => report.push_at(
                    crate::Severity::Error,
                    codes::UNMATCHED_LINK,
                    format!("link throw event '{name}' has no link catch event of that name in its scope"),
                    Some(&n.id),
                    n.position,
                ),
            }
        }
    }
    for (i, target) in targets {
        if let NodeKind::IntermediateThrow {
            result: EventResult::Link { target: t, .. },
        } = &mut graph.nodes[i].kind
        {
            *t = Some(target);
        }
    }
}
