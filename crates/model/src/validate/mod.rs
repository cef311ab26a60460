//! Checks over the whole document (ids) and over each compiled graph
//! (gateways, reachability).

pub mod gateways;
#[allow(
    clippy::disallowed_types,
    reason = "the duplicate-id check looks ids up in a HashMap, never iterates it"
)]
pub mod ids;
pub mod reachability;

use crate::graph::ProcessGraph;
use crate::report::Report;

/// Runs the graph checks on a graph without structural errors.
pub fn graph(report: &mut Report<'_>, graph: &ProcessGraph) {
    gateways::check(report, graph);
    reachability::check(report, graph);
}
