//! Large processes (issue 16, defect 7b): building the plan of a long chain
//! is linear. It used to build an all-pairs reachability table, O(n²) in
//! time and memory (50 s and 540 MB for 40,000 tasks).

#[path = "../../model/benches/support/chain.rs"]
mod chain;

use std::sync::Arc;
use std::time::Instant;
use windlass_engine::Plan;

/// The plan is timed against loading the same document, which is linear:
/// with the all-pairs table, planning 10,000 tasks took several times as
/// long as loading them; now it is a small fraction of it.
#[test]
fn planning_a_long_chain_costs_less_than_loading_it() {
    let xml = chain::chain(10_000, false);
    let started = Instant::now();
    let defs = windlass_model::load(&xml).definitions.expect("loads");
    let load = started.elapsed();
    let graph = Arc::clone(defs.first_executable().expect("executable"));
    let started = Instant::now();
    let plan = Plan::new(graph).expect("plans");
    let planning = started.elapsed();
    assert!(
        planning < load,
        "planning took {planning:?}, loading {load:?}"
    );
    let g = plan.graph();
    let first = g.node_by_id("t0").expect("t0").0;
    let last = g.node_by_id("e").expect("e").0;
    assert!(plan.can_reach(first, last));
    assert!(!plan.can_reach(last, first));
}
