//! `windlass instances history`: the story of an instance, rendered by the
//! engine's history renderer.

use crate::output::Format;
use windlass_engine::Event;
use windlass_model::ProcessGraph;
use windlass_store_api::InstanceRow;

/// Prints the history of `row`.
pub fn print(
    row: &InstanceRow,
    events: &[Event],
    graph: &ProcessGraph,
    format: Format,
) -> anyhow::Result<()> {
    let _ = (row, events, graph, format);
    anyhow::bail!(
        "`windlass instances history` needs the engine's history renderer, which is not available yet"
    )
}
