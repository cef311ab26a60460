//! Gateway checks: ambiguous exclusive splits, pass-through gateways,
//! conditions that are ignored, event-based gateway targets.

use crate::Severity;
use crate::codes;
use crate::graph::{EventTrigger, GatewayKind, NodeKind, ProcessGraph, TaskType};
use crate::report::Report;

/// Runs the gateway checks on `graph`.
pub fn check(report: &mut Report<'_>, graph: &ProcessGraph) {
    for node in &graph.nodes {
        let NodeKind::Gateway { kind, default, .. } = node.kind else {
            continue;
        };
        let out = || node.outgoing.iter().map(|f| graph.flow(*f));
        if node.incoming.len() == 1 && node.outgoing.len() == 1 {
            report.push_at(
                Severity::Warning,
                codes::PASS_THROUGH_GATEWAY,
                "gateway has a single incoming and a single outgoing flow; it has no effect",
                Some(&node.id),
                node.position,
            );
        }
        match kind {
            GatewayKind::Exclusive => {
                let unconditioned: Vec<&str> = out()
                    .filter(|f| f.condition.is_none() && !f.is_default)
                    .map(|f| f.id.as_str())
                    .collect();
                if node.outgoing.len() > 1
                    && (unconditioned.len() > 1 || (default.is_some() && !unconditioned.is_empty()))
                {
                    report.push_at(
                        Severity::Warning,
                        codes::AMBIGUOUS_GATEWAY,
                        format!(
                            "exclusive gateway has several outgoing flows without a condition ({}{}); \
                             only the first one in document order can be taken",
                            unconditioned.join(", "),
                            if default.is_some() { ", plus the default" } else { "" }
                        ),
                        Some(&node.id),
                        node.position,
                    );
                }
            }
            GatewayKind::Parallel | GatewayKind::EventBased => {
                for f in out().filter(|f| f.condition.is_some()) {
                    report.push_at(
                        Severity::Warning,
                        codes::CONDITION_IGNORED,
                        format!("condition on flow '{}' is ignored: a {kind:?} gateway does not evaluate conditions", f.id),
                        Some(&f.id),
                        f.position,
                    );
                }
                if kind == GatewayKind::EventBased {
                    for f in out() {
                        let t = graph.node(f.target);
                        let ok = matches!(
                            t.kind,
                            NodeKind::IntermediateCatch {
                                trigger: EventTrigger::Message { .. }
                                    | EventTrigger::Timer(_)
                                    | EventTrigger::Signal { .. }
                                    | EventTrigger::Conditional { .. }
                            } | NodeKind::Task {
                                task_type: TaskType::Receive,
                                ..
                            }
                        );
                        if !ok {
                            report.push_at(
                                Severity::Error,
                                codes::INVALID_EVENT_GATEWAY_TARGET,
                                format!(
                                    "event-based gateway '{}' leads to '{}', which is not an intermediate catch event or receive task",
                                    node.id, t.id
                                ),
                                Some(&t.id),
                                t.position,
                            );
                        }
                    }
                }
            }
            GatewayKind::Inclusive | GatewayKind::Complex => {}
        }
    }
}
