//! What `windlass validate` reports and what a deploy through the server
//! refuses: one function, so the two never disagree.
//!
//! The model's diagnostics of a document come first; then, for a document
//! that loads, the engine's own refusal of each process ([`Plan::new`], the
//! one list of what the engine executes) as `WL0039` naming the element and
//! its position: an error in an executable process (deploying it fails), a
//! warning in a non-executable one (skipped when deployed).

use crate::plan::{Plan, PlanError};
use std::sync::Arc;
use windlass_model::{Definitions, Diagnostic, Severity, codes};

/// The model's diagnostics of a BPMN document, then the engine's refusals
/// of its processes when it loads.
pub fn document_diagnostics(bytes: &[u8]) -> Vec<Diagnostic> {
    let outcome = windlass_model::load_bytes(bytes);
    let mut out = outcome.diagnostics;
    if let Some(defs) = &outcome.definitions {
        out.extend(plan_diagnostics(defs));
    }
    out
}

/// What the engine's plan refuses, one diagnostic per process it refuses
/// (`Plan::new` stops at the first element it cannot run).
pub fn plan_diagnostics(defs: &Definitions) -> Vec<Diagnostic> {
    defs.processes()
        .iter()
        .filter_map(|graph| {
            let err = Plan::new(Arc::clone(graph)).err()?;
            let element = match &err {
                PlanError::Unsupported { element, .. } | PlanError::Invalid { element, .. } => {
                    element.clone()
                }
            };
            let position = graph
                .node_by_id(&element)
                .map(|idx| graph.node(idx).position);
            let (severity, consequence) = if graph.is_executable {
                (Severity::Error, "the engine cannot run it")
            } else {
                (
                    Severity::Warning,
                    "it is not executable and is skipped when deployed",
                )
            };
            Some(Diagnostic {
                severity,
                code: codes::NOT_RUNNABLE,
                message: format!("process '{}': {err}; {consequence}", graph.id),
                element_id: Some(element),
                position,
            })
        })
        .collect()
}
