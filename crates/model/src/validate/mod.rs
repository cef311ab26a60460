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
use crate::parse::Ctx;

/// Runs the graph checks on a graph without structural errors.
pub fn graph(ctx: &mut Ctx<'_, '_, '_>, graph: &ProcessGraph) {
    gateways::check(ctx, graph);
    reachability::check(ctx, graph);
}
