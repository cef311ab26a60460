//! The `definitions` element: root-level elements, processes, and checks
//! that concern the whole document.

use super::{Ctx, RootIndex, process};
use crate::codes;
use crate::graph::ProcessGraph;
use crate::report::Report;
use crate::xml::tree::{Element, Ns};

/// Root-level elements accepted without effect on execution.
const ACCEPTED: &[&str] = &[
    "documentation",
    "extensionElements",
    "import",
    "extension",
    "itemDefinition",
    "dataStore",
    "resource",
    "interface",
    "category",
    "endPoint",
    "partnerEntity",
    "partnerRole",
    "correlationProperty",
    "relationship",
    "collaboration",
    "choreography",
    "globalConversation",
];

/// Root-level event definitions (targets of `eventDefinitionRef`).
fn is_event_definition(local: &str) -> bool {
    local.ends_with("EventDefinition")
}

/// Reads every process of `root`.
pub fn read(root: &Element, report: &mut Report<'_>) -> Vec<ProcessGraph> {
    let mut roots = RootIndex::default();
    for child in &root.children {
        if child.ns != Ns::Bpmn {
            if child.ns != Ns::Diagram && !matches!(child.ns, Ns::Windlass | Ns::Zeebe) {
                report.warning(
                    codes::FOREIGN_ELEMENT,
                    format!(
                        "<{}> is not a BPMN element and is outside <extensionElements>; it is ignored",
                        child.qname
                    ),
                    None,
                    Some(child.offset),
                );
            } else if matches!(child.ns, Ns::Windlass | Ns::Zeebe) {
                report.error(
                    codes::INVALID_EXTENSION,
                    format!("<{}> must be inside <extensionElements>", child.qname),
                    None,
                    Some(child.offset),
                );
            }
            continue;
        }
        let Some(id) = child.id() else {
            if !matches!(
                &*child.local,
                "documentation" | "extensionElements" | "import"
            ) {
                check_known(child, report);
            }
            continue;
        };
        let local = &*child.local;
        match local {
            "message" => {
                roots.messages.insert(id, child);
            }
            "signal" => {
                roots.signals.insert(id, child);
            }
            "error" => {
                roots.errors.insert(id, child);
            }
            "escalation" => {
                roots.escalations.insert(id, child);
            }
            "process" => {
                roots.processes.insert(id, child);
            }
            l if l.starts_with("global") && l.ends_with("Task") => {
                roots.global_tasks.insert(id, child);
            }
            l if is_event_definition(l) => {
                roots.event_definitions.insert(id, child);
            }
            _ => check_known(child, report),
        }
    }
    let mut ctx = Ctx {
        report,
        roots,
        expression_language: root.attr("expressionLanguage"),
        strict: true,
    };
    let mut graphs = Vec::new();
    for el in root.bpmn_children("process") {
        if let Some(g) = process::process(&mut ctx, el) {
            graphs.push(g);
        }
    }
    graphs
}

fn check_known(child: &Element, report: &mut Report<'_>) {
    let local = &*child.local;
    if ACCEPTED.contains(&local) || local == "process" || local.starts_with("global") {
        return;
    }
    if matches!(local, "message" | "signal" | "error" | "escalation") || is_event_definition(local)
    {
        report.error(
            codes::MISSING_ATTRIBUTE,
            format!("<{}> has no id attribute", child.qname),
            None,
            Some(child.offset),
        );
        return;
    }
    report.error(
        codes::UNKNOWN_ELEMENT,
        format!(
            "<{}> is not a BPMN element allowed directly in <definitions>",
            child.qname
        ),
        child.id(),
        Some(child.offset),
    );
}
