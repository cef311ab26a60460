//! Compensation and cancel, resolved after boundary events are attached:
//! each compensation boundary event finds its handler through its
//! association, each `activityRef` of a compensation throw or end event its
//! activity; then the placement rules (reported as
//! [`codes::INVALID_COMPENSATION`]): a handler has no sequence flows and
//! belongs to a boundary event, cancel events live in and on transactions,
//! a compensation start event opens an event sub-process of a sub-process.

use crate::Severity;
use crate::codes;
use crate::graph::{EventResult, EventTrigger, NodeIdx, NodeKind, ProcessGraph, ScopeIdx};
use crate::parse::builder::Builder;
use crate::report::Report;

fn idx(i: usize) -> NodeIdx {
    NodeIdx(u32::try_from(i).unwrap_or(u32::MAX))
}

/// Reports a misplaced or unconnected compensation or cancel element.
fn problem(report: &mut Report<'_>, graph: &ProcessGraph, node: NodeIdx, message: String) {
    let n = graph.node(node);
    report.push_at(
        Severity::Error,
        codes::INVALID_COMPENSATION,
        message,
        Some(&n.id),
        n.position,
    );
}

/// True for the activities compensation can name and run.
fn is_activity(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Task { .. }
            | NodeKind::CallActivity { .. }
            | NodeKind::SubProcess {
                triggered_by_event: false,
                ..
            }
    )
}

/// The owner node of graph scope `scope`, when it is a sub-process.
fn owner_kind(graph: &ProcessGraph, scope: ScopeIdx) -> Option<&NodeKind> {
    graph.scope(scope).owner.map(|o| &graph.node(o).kind)
}

/// The scope whose activities a compensation thrown in `scope` compensates:
/// the scope itself, or for an event sub-process the scope holding it.
pub fn compensated_scope(graph: &ProcessGraph, scope: ScopeIdx) -> ScopeIdx {
    match owner_kind(graph, scope) {
        Some(NodeKind::SubProcess {
            triggered_by_event: true,
            ..
        }) => graph.scope(scope).parent.unwrap_or(scope),
        _ => scope,
    }
}

/// Resolves handlers and `activityRef`s, then checks the placement rules.
pub fn resolve(report: &mut Report<'_>, b: &Builder<'_>, graph: &mut ProcessGraph) {
    let mut handled = vec![false; graph.nodes.len()];
    for i in 0..graph.nodes.len() {
        let boundary = idx(i);
        if !matches!(
            graph.node(boundary).kind,
            NodeKind::Boundary {
                trigger: EventTrigger::Compensation { .. },
                ..
            }
        ) {
            continue;
        }
        let id = graph.node(boundary).id.clone();
        let other = b.associations.iter().find_map(|(s, t, _)| {
            let other = if *s == id {
                *t
            } else if *t == id {
                *s
            } else {
                return None;
            };
            b.node_ids.get(other).copied()
        });
        let Some(handler) = other.filter(|h| graph.node(*h).for_compensation) else {
            problem(
                report,
                graph,
                boundary,
                "compensation boundary event is associated with no compensation handler \
                 (an activity with isForCompensation=\"true\")"
                    .into(),
            );
            continue;
        };
        if graph.node(handler).scope != graph.node(boundary).scope {
            let h = graph.node(handler).id.clone();
            problem(
                report,
                graph,
                boundary,
                format!("compensation handler '{h}' is in another (sub-)process"),
            );
            continue;
        }
        if !graph.node(boundary).outgoing.is_empty() {
            problem(
                report,
                graph,
                boundary,
                "a compensation boundary event has no outgoing sequence flows (its handler is \
                 associated with it)"
                    .into(),
            );
        }
        handled[handler.0 as usize] = true;
        if let NodeKind::Boundary {
            trigger: EventTrigger::Compensation { handler: h },
            ..
        } = &mut graph.nodes[i].kind
        {
            *h = Some(handler);
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        if !node.for_compensation {
            continue;
        }
        let why = if !node.incoming.is_empty() || !node.outgoing.is_empty() {
            "a compensation handler (isForCompensation=\"true\") has no sequence flows"
        } else if !handled[i] {
            "a compensation handler (isForCompensation=\"true\") is associated with no \
             compensation boundary event: it would never run"
        } else {
            continue;
        };
        problem(report, graph, idx(i), why.into());
    }
    resolve_activity_refs(report, b, graph);
    check_cancel(report, graph);
    check_compensation_starts(report, graph);
}

/// Each `activityRef` names an activity of the scope the throw compensates.
fn resolve_activity_refs(report: &mut Report<'_>, b: &Builder<'_>, graph: &mut ProcessGraph) {
    for (event_id, activity, _) in &b.compensation_refs {
        let Some(&event) = b.node_ids.get(event_id) else {
            continue;
        };
        let target = compensated_scope(graph, graph.node(event).scope);
        let found = b
            .node_ids
            .get(activity.as_str())
            .copied()
            .filter(|a| graph.node(*a).scope == target && is_activity(&graph.node(*a).kind));
        let Some(found) = found else {
            problem(
                report,
                graph,
                event,
                format!(
                    "activityRef '{activity}' names no activity of the (sub-)process this event \
                     compensates"
                ),
            );
            continue;
        };
        if let NodeKind::IntermediateThrow {
            result: EventResult::Compensation { activity: a },
        }
        | NodeKind::EndEvent {
            result: EventResult::Compensation { activity: a },
        } = &mut graph.nodes[event.0 as usize].kind
        {
            *a = Some(found);
        }
    }
}

/// Cancel end events sit directly in a transaction that has a cancel
/// boundary event; cancel boundary events sit on transactions.
fn check_cancel(report: &mut Report<'_>, graph: &ProcessGraph) {
    for (i, node) in graph.nodes.iter().enumerate() {
        match &node.kind {
            NodeKind::EndEvent {
                result: EventResult::Cancel,
            } => {
                let owner = graph.scope(node.scope).owner;
                let transaction = owner.filter(|o| {
                    matches!(
                        graph.node(*o).kind,
                        NodeKind::SubProcess {
                            transaction: true,
                            ..
                        }
                    )
                });
                let Some(t) = transaction else {
                    problem(
                        report,
                        graph,
                        idx(i),
                        "a cancel end event must be directly inside a transaction".into(),
                    );
                    continue;
                };
                let has_boundary = graph.node(t).boundary_events.iter().any(|b| {
                    matches!(
                        graph.node(*b).kind,
                        NodeKind::Boundary {
                            trigger: EventTrigger::Cancel,
                            ..
                        }
                    )
                });
                if !has_boundary {
                    let tid = graph.node(t).id.clone();
                    problem(
                        report,
                        graph,
                        idx(i),
                        format!(
                            "transaction '{tid}' has no cancel boundary event for this cancel end \
                             event to leave by"
                        ),
                    );
                }
            }
            NodeKind::Boundary {
                trigger: EventTrigger::Cancel,
                attached_to,
                ..
            } if attached_to.0 != u32::MAX
                && !matches!(
                    graph.node(*attached_to).kind,
                    NodeKind::SubProcess {
                        transaction: true,
                        ..
                    }
                ) =>
            {
                problem(
                    report,
                    graph,
                    idx(i),
                    "a cancel boundary event must be attached to a transaction".into(),
                );
            }
            _ => {}
        }
    }
}

/// A compensation start event opens an event sub-process inside a
/// sub-process: only a completed sub-process is compensated, so one
/// anywhere else would never run.
fn check_compensation_starts(report: &mut Report<'_>, graph: &ProcessGraph) {
    for (i, node) in graph.nodes.iter().enumerate() {
        let NodeKind::StartEvent {
            trigger: EventTrigger::Compensation { .. },
            ..
        } = node.kind
        else {
            continue;
        };
        let esp = graph.scope(node.scope).owner.filter(|o| {
            matches!(
                graph.node(*o).kind,
                NodeKind::SubProcess {
                    triggered_by_event: true,
                    ..
                }
            )
        });
        let in_sub_process = esp
            .map(|e| graph.node(e).scope)
            .is_some_and(|s| s != ScopeIdx::ROOT);
        if !in_sub_process {
            problem(
                report,
                graph,
                idx(i),
                "a compensation start event must start an event sub-process inside a \
                 sub-process (only a completed sub-process is compensated)"
                    .into(),
            );
        }
    }
}
