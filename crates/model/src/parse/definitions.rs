//! The `definitions` element: the index of root-level elements other
//! elements refer to, and the checks on what may stand at the root.

use super::builder::outside_extension_elements;
use super::{Ctx, RootIndex};
use crate::codes;
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

/// Indexes the root-level elements of `root` (messages, signals, errors,
/// escalations, event definitions, global tasks, processes), reports those
/// that do not belong there, and returns the context for reading its
/// processes with [`process`](super::process::process).
pub fn context<'r, 's, 't>(root: &'t Element<'t>, report: &'r mut Report<'s>) -> Ctx<'r, 's, 't> {
    let mut roots = RootIndex::default();
    for child in &root.children {
        // Diagram interchange belongs at the root.
        if child.ns == Ns::Diagram || outside_extension_elements(report, child, None) {
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
    Ctx {
        report,
        roots,
        expression_language: root.attr("expressionLanguage"),
        strict: true,
    }
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
