//! Definition key → process graph: the one way to turn a stored definition
//! row back into the compiled graph an instance runs.

use crate::error::{ViewError, ViewResult};
use std::sync::Arc;
use windlass_model::{ProcessGraph, Severity};
use windlass_store_api::{DefinitionRead, DefinitionRow};

/// Compiles the process of a stored definition row.
pub fn graph_of_row(row: &DefinitionRow) -> ViewResult<Arc<ProcessGraph>> {
    let bad = |detail: String| ViewError::BadDefinition {
        key: row.key.clone(),
        detail,
    };
    let outcome = windlass_model::load(&row.source);
    let Some(defs) = outcome.definitions else {
        let errors: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        return Err(bad(errors.join("; ")));
    };
    defs.process(&row.process_id)
        .cloned()
        .ok_or_else(|| bad(format!("its source has no process '{}'", row.process_id)))
}

/// The graph of the definition stored under `key`.
/// [`ViewError::MissingDefinition`] when no such key is stored.
pub async fn load_graph<S: DefinitionRead>(store: &S, key: &str) -> ViewResult<Arc<ProcessGraph>> {
    let row = store
        .definition(key)
        .await?
        .ok_or_else(|| ViewError::MissingDefinition(key.to_string()))?;
    graph_of_row(&row)
}
