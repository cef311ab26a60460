//! Heap bytes held by the compiled process graphs of a document, measured
//! with `dhat` (the caller installs `dhat::Alloc` as global allocator and
//! starts a `dhat::Profiler`).

use std::sync::Arc;
use windlass_model::ProcessGraph;

/// What one load keeps alive.
pub struct GraphHeap {
    /// Length of the XML text in bytes.
    pub xml_bytes: usize,
    /// Heap bytes live for the compiled graphs (the `Arc<ProcessGraph>`s and
    /// everything they own), excluding the kept XML text and diagnostics.
    pub graph_bytes: usize,
    /// Heap blocks live for the compiled graphs.
    pub graph_blocks: usize,
    /// Number of processes, nodes and flows, for the record.
    pub nodes: usize,
    /// Number of sequence flows.
    pub flows: usize,
}

/// Loads `xml` once to warm one-time statics, then again, keeping only the
/// compiled graphs, and returns the heap they hold.
pub fn measure(xml: &str) -> Result<GraphHeap, String> {
    // A first load, dropped at once, so lazily built statics are not
    // counted against the graph.
    drop(load_graphs(xml)?);
    let before = dhat::HeapStats::get();
    let graphs = load_graphs(xml)?;
    let after = dhat::HeapStats::get();
    let heap = GraphHeap {
        xml_bytes: xml.len(),
        graph_bytes: after.curr_bytes.saturating_sub(before.curr_bytes),
        graph_blocks: after.curr_blocks.saturating_sub(before.curr_blocks),
        nodes: graphs.iter().map(|g| g.nodes.len()).sum(),
        flows: graphs.iter().map(|g| g.flows.len()).sum(),
    };
    drop(graphs);
    Ok(heap)
}

/// The graphs of `xml`, with the outcome's diagnostics and XML copy dropped.
fn load_graphs(xml: &str) -> Result<Vec<Arc<ProcessGraph>>, String> {
    let outcome = windlass_model::load(xml);
    let Some(defs) = outcome.definitions else {
        return Err(format!(
            "the document does not load: {:?}",
            outcome.diagnostics
        ));
    };
    let graphs = defs.processes().to_vec();
    drop(defs);
    drop(outcome.diagnostics);
    Ok(graphs)
}
