//! A process graph prepared for execution: validated against what the engine
//! supports and with what the inclusive join needs of reachability (see
//! `plan/reach.rs`) computed once per definition, shared by every instance through
//! an `Arc<Plan>`.

pub mod diagnostics;
mod reach;
mod unhonoured;

use reach::Reach;
use std::sync::Arc;
use thiserror::Error;
use windlass_model::{EventResult, EventTrigger, GatewayKind, LoopSpec, NodeKind, ProcessGraph};

/// Why a graph cannot be run.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum PlanError {
    /// The engine does not implement an element yet.
    #[error("unsupported element '{element}': {what}")]
    Unsupported {
        /// Element id.
        element: String,
        /// What is not supported.
        what: String,
    },
    /// The element is not valid for execution.
    #[error("invalid element '{element}': {reason}")]
    Invalid {
        /// Element id.
        element: String,
        /// Why.
        reason: String,
    },
}

/// A graph ready to run.
#[derive(Debug)]
pub struct Plan {
    graph: Arc<ProcessGraph>,
    /// For each join gateway, the nodes that can reach it.
    reach: Reach,
}

impl Plan {
    /// Validates `graph` and computes, for each inclusive and complex
    /// gateway, the nodes that can reach it (one pass over the graph per
    /// such gateway; nothing for a process without one).
    pub fn new(graph: Arc<ProcessGraph>) -> Result<Plan, PlanError> {
        unhonoured::check(&graph)?;
        for node in &graph.nodes {
            check_node(&graph, node)?;
        }
        let reach = Reach::new(&graph);
        Ok(Plan { graph, reach })
    }

    /// The graph.
    pub fn graph(&self) -> &ProcessGraph {
        &self.graph
    }

    /// The shared graph.
    pub fn graph_arc(&self) -> &Arc<ProcessGraph> {
        &self.graph
    }

    /// Size of the reachability sets computed when the plan was built, in
    /// 64-bit words: one bitset over the nodes per join gateway, none for a
    /// process without one (what keeps planning linear; see `plan/reach.rs`).
    pub fn reach_words(&self) -> usize {
        self.reach.words()
    }

    /// True when a token at `from` can reach `to` in one or more steps
    /// (flows, boundary events, link jumps). A lookup when `to` is an
    /// inclusive or complex gateway (what the joins ask); a walk over the
    /// graph otherwise.
    pub fn can_reach(&self, from: u32, to: u32) -> bool {
        self.reach.can_reach(&self.graph, from, to)
    }
}

fn unsupported(node: &windlass_model::Node, what: &str) -> PlanError {
    PlanError::Unsupported {
        element: node.id.clone(),
        what: what.to_string(),
    }
}

fn trigger_name(t: &EventTrigger) -> &'static str {
    match t {
        EventTrigger::None => "none",
        EventTrigger::Message { .. } => "message",
        EventTrigger::Timer(_) => "timer",
        EventTrigger::Signal { .. } => "signal",
        EventTrigger::Error { .. } => "error",
        EventTrigger::Escalation { .. } => "escalation",
        EventTrigger::Link { .. } => "link",
        EventTrigger::Conditional { .. } => "conditional",
        EventTrigger::Compensation { .. } => "compensation",
        EventTrigger::Cancel => "cancel",
    }
}

fn check_node(graph: &ProcessGraph, node: &windlass_model::Node) -> Result<(), PlanError> {
    let in_event_sub = graph
        .scope(node.scope)
        .owner
        .map(|o| {
            matches!(
                graph.node(o).kind,
                NodeKind::SubProcess {
                    triggered_by_event: true,
                    ..
                }
            )
        })
        .unwrap_or(false);
    match &node.kind {
        NodeKind::StartEvent { trigger, .. } => {
            let ok = match trigger {
                EventTrigger::None => true,
                // A compensation start runs when its completed sub-process
                // is compensated (`decide::compensation`).
                EventTrigger::Error { .. }
                | EventTrigger::Escalation { .. }
                | EventTrigger::Compensation { .. } => in_event_sub,
                // Process-level message/timer/signal start events are started
                // by the runtime's sources with the `Start` command; those
                // of event sub-processes by their listeners (`event_sub`).
                EventTrigger::Message { .. }
                | EventTrigger::Timer(_)
                | EventTrigger::Signal { .. } => node.scope.0 == 0 || in_event_sub,
                _ => false,
            };
            if !ok {
                let what = format!(
                    "{} start event{}",
                    trigger_name(trigger),
                    if in_event_sub {
                        " of an event sub-process"
                    } else {
                        " inside a sub-process"
                    }
                );
                return Err(unsupported(node, &what));
            }
        }
        NodeKind::EndEvent { result } => match result {
            EventResult::None
            | EventResult::Terminate
            | EventResult::Error { .. }
            | EventResult::Message { .. }
            | EventResult::Signal { .. }
            | EventResult::Escalation { .. }
            | EventResult::Compensation { .. }
            | EventResult::Cancel => {}
            EventResult::Link { .. } => {
                return Err(unsupported(node, "link end event"));
            }
        },
        NodeKind::IntermediateCatch { trigger }
            if !matches!(
                trigger,
                EventTrigger::Link { .. }
                    | EventTrigger::Timer(_)
                    | EventTrigger::Message { .. }
                    | EventTrigger::Signal { .. }
            ) =>
        {
            let what = format!("{} intermediate catch event (waits)", trigger_name(trigger));
            return Err(unsupported(node, &what));
        }
        NodeKind::IntermediateThrow { result } => match result {
            EventResult::None
            | EventResult::Message { .. }
            | EventResult::Signal { .. }
            | EventResult::Escalation { .. }
            | EventResult::Compensation { .. } => {}
            EventResult::Link {
                target: Some(_), ..
            } => {}
            EventResult::Link { name, target: None } => {
                return Err(PlanError::Invalid {
                    element: node.id.clone(),
                    reason: format!("link throw event has no catch event named '{name}'"),
                });
            }
            _ => {
                return Err(unsupported(
                    node,
                    "intermediate throw event other than none, link, message, signal or escalation",
                ));
            }
        },
        NodeKind::Boundary {
            trigger,
            cancel_activity,
            ..
        } => {
            if !matches!(
                trigger,
                EventTrigger::Error { .. }
                    | EventTrigger::Timer(_)
                    | EventTrigger::Message { .. }
                    | EventTrigger::Signal { .. }
                    | EventTrigger::Escalation { .. }
                    | EventTrigger::Compensation { .. }
                    | EventTrigger::Cancel
            ) {
                let what = format!("{} boundary event", trigger_name(trigger));
                return Err(unsupported(node, &what));
            }
            // Escalations are thrown inside embedded sub-processes and
            // called processes; a task throws none: such a boundary could
            // never fire.
            if matches!(trigger, EventTrigger::Escalation { .. }) {
                let attached = match &node.kind {
                    NodeKind::Boundary { attached_to, .. } => Some(graph.node(*attached_to)),
                    _ => None,
                };
                if !attached.is_some_and(|a| {
                    matches!(
                        a.kind,
                        NodeKind::SubProcess { .. } | NodeKind::CallActivity { .. }
                    )
                }) {
                    return Err(unsupported(
                        node,
                        "escalation boundary event on anything but a sub-process or a call activity",
                    ));
                }
            }
            if !cancel_activity && matches!(trigger, EventTrigger::Error { .. }) {
                return Err(unsupported(node, "non-interrupting error boundary event"));
            }
        }
        NodeKind::Task {
            message: Some(m), ..
        } => {
            // A receive task with a message waits for it: no job runs, so
            // job settings and job inputs would be ignored.
            if m.instantiate {
                return Err(unsupported(node, "receive task with instantiate=\"true\""));
            }
            if !node.task().is_empty() {
                return Err(unsupported(
                    node,
                    "receive task with a message and job settings (task kind, retries, timeout)",
                ));
            }
            if !node.io().inputs.is_empty() {
                return Err(unsupported(
                    node,
                    "receive task with a message and input mappings",
                ));
            }
        }
        NodeKind::Gateway {
            kind: GatewayKind::EventBased,
            ..
        } => check_event_gateway(graph, node)?,
        NodeKind::SubProcess {
            transaction: true, ..
        } if node.looping.is_some() => {
            return Err(unsupported(
                node,
                "transaction with loop or multi-instance characteristics",
            ));
        }
        NodeKind::SubProcess {
            scope,
            triggered_by_event: true,
            ..
        } => {
            // One start event, triggered by an error, a timer, a message or
            // a signal (error starts are found by a thrown error, the others
            // get listeners in the enclosing scope: `decide::event_sub`).
            let starts: Vec<&EventTrigger> = graph
                .scope(*scope)
                .children
                .iter()
                .filter_map(|c| match &graph.node(*c).kind {
                    NodeKind::StartEvent { trigger, .. } => Some(trigger),
                    _ => None,
                })
                .collect();
            match starts.as_slice() {
                [
                    EventTrigger::Error { .. }
                    | EventTrigger::Escalation { .. }
                    | EventTrigger::Compensation { .. }
                    | EventTrigger::Timer(_)
                    | EventTrigger::Message { .. }
                    | EventTrigger::Signal { .. },
                ] => {}
                [] => {
                    return Err(unsupported(node, "event sub-process without a start event"));
                }
                [one] => {
                    let what =
                        format!("event sub-process with a {} start event", trigger_name(one));
                    return Err(unsupported(node, &what));
                }
                _ => {
                    return Err(unsupported(
                        node,
                        "event sub-process with more than one start event",
                    ));
                }
            }
        }
        _ => {}
    }
    match node.looping.as_deref() {
        Some(LoopSpec::MultiInstance(mi))
            if mi.cardinality.is_none() && mi.input_collection.is_none() =>
        {
            return Err(PlanError::Invalid {
                element: node.id.clone(),
                reason: "multi-instance activity has neither loopCardinality nor loopDataInputRef"
                    .into(),
            });
        }
        Some(LoopSpec::Standard {
            condition: None,
            loop_maximum: None,
            ..
        }) => {
            return Err(PlanError::Invalid {
                element: node.id.clone(),
                reason:
                    "standard loop has neither loopCondition nor loopMaximum and would never end"
                        .into(),
            });
        }
        _ => {}
    }
    Ok(())
}

/// An event-based gateway leads, by unconditioned flows, to at least two
/// timer, message or signal catch events that nothing else leads to.
fn check_event_gateway(graph: &ProcessGraph, node: &windlass_model::Node) -> Result<(), PlanError> {
    let invalid = |reason: String| PlanError::Invalid {
        element: node.id.clone(),
        reason,
    };
    if node.outgoing.len() < 2 {
        return Err(invalid(
            "event-based gateway needs at least two outgoing flows".into(),
        ));
    }
    for &f in &node.outgoing {
        let flow = graph.flow(f);
        if flow.condition.is_some() {
            return Err(invalid(format!(
                "flow '{}' after an event-based gateway has a condition",
                flow.id
            )));
        }
        let target = graph.node(flow.target);
        match &target.kind {
            NodeKind::IntermediateCatch {
                trigger:
                    EventTrigger::Timer(_) | EventTrigger::Message { .. } | EventTrigger::Signal { .. },
            } => {}
            NodeKind::IntermediateCatch { trigger } => {
                return Err(unsupported(
                    node,
                    &format!(
                        "event-based gateway before {} catch event '{}'",
                        trigger_name(trigger),
                        target.id
                    ),
                ));
            }
            NodeKind::Task {
                task_type: windlass_model::TaskType::Receive,
                ..
            } => {
                return Err(unsupported(
                    node,
                    &format!("event-based gateway before receive task '{}'", target.id),
                ));
            }
            _ => {
                return Err(invalid(format!(
                    "flow '{}' after an event-based gateway leads to '{}', which is not an \
                     intermediate catch event",
                    flow.id, target.id
                )));
            }
        }
        if target.incoming.len() != 1 {
            return Err(invalid(format!(
                "catch event '{}' after an event-based gateway has other incoming flows",
                target.id
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn plan_of(xml: &str) -> Result<Plan, PlanError> {
        let defs = windlass_model::load(xml).definitions.unwrap();
        Plan::new(defs.first_executable().unwrap().clone())
    }

    #[test]
    fn reachability_follows_flows_and_stops_at_the_end() {
        let p = plan_of(include_str!("../tests/fixtures/inclusive.bpmn")).unwrap();
        let g = p.graph();
        let idx = |id: &str| g.node_by_id(id).unwrap().0;
        assert!(p.can_reach(idx("B"), idx("join")));
        assert!(p.can_reach(idx("xor"), idx("join")));
        assert!(!p.can_reach(idx("bEnd"), idx("join")));
        assert!(!p.can_reach(idx("after"), idx("join")));
        assert!(
            !p.can_reach(idx("join"), idx("join")),
            "no cycle through the join"
        );
        assert!(
            !p.can_reach(u32::MAX, 0),
            "out-of-range indexes are unreachable, not a panic"
        );
    }

    #[test]
    fn reachability_includes_boundary_events_and_links() {
        let p = plan_of(include_str!("../tests/fixtures/errors.bpmn")).unwrap();
        let g = p.graph();
        let idx = |id: &str| g.node_by_id(id).unwrap().0;
        assert!(
            p.can_reach(idx("sub"), idx("cleanup")),
            "via the boundary event"
        );
        let p = plan_of(include_str!("../tests/fixtures/misc.bpmn")).unwrap();
        let g = p.graph();
        let idx = |id: &str| g.node_by_id(id).unwrap().0;
        assert!(p.can_reach(idx("calc"), idx("slow")), "via the link");
    }

    /// The old all-pairs answer: a walk from `from`, one or more steps.
    fn walk(g: &ProcessGraph, from: usize, to: usize) -> bool {
        let successors = |n: usize| {
            let node = &g.nodes[n];
            let mut out: Vec<usize> = node
                .outgoing
                .iter()
                .map(|f| g.flow(*f).target.0 as usize)
                .collect();
            out.extend(node.boundary_events.iter().map(|b| b.0 as usize));
            if let NodeKind::IntermediateThrow {
                result:
                    EventResult::Link {
                        target: Some(t), ..
                    },
            } = &node.kind
            {
                out.push(t.0 as usize);
            }
            out
        };
        let mut seen = vec![false; g.nodes.len()];
        let mut stack = successors(from);
        while let Some(m) = stack.pop() {
            if !seen[m] {
                seen[m] = true;
                stack.extend(successors(m));
            }
        }
        seen[to]
    }

    #[test]
    fn reachability_agrees_with_a_walk_for_every_pair_of_every_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut joins = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let xml = std::fs::read_to_string(&path).unwrap();
            let Some(defs) = windlass_model::load(&xml).definitions else {
                continue;
            };
            for graph in defs.processes() {
                let Ok(p) = Plan::new(graph.clone()) else {
                    continue;
                };
                let n = graph.nodes.len();
                joins += (0..n).filter(|&i| reach_is_join(graph, i)).count();
                for from in 0..n {
                    for to in 0..n {
                        assert_eq!(
                            p.can_reach(from as u32, to as u32),
                            walk(graph, from, to),
                            "{}: {} -> {}",
                            path.display(),
                            graph.nodes[from].id,
                            graph.nodes[to].id
                        );
                    }
                }
            }
        }
        assert!(joins >= 2, "the fixtures have inclusive and complex joins");
    }

    fn reach_is_join(g: &ProcessGraph, n: usize) -> bool {
        matches!(
            g.nodes[n].kind,
            NodeKind::Gateway {
                kind: GatewayKind::Inclusive | GatewayKind::Complex,
                ..
            }
        )
    }

    #[test]
    fn waiting_events_are_refused_by_element_id() {
        let err = plan_of(include_str!("../tests/fixtures/unsupported.bpmn")).unwrap_err();
        assert_eq!(
            err,
            PlanError::Unsupported {
                element: "waitCondition".into(),
                what: "conditional intermediate catch event (waits)".into()
            }
        );
    }
}
