//! Large processes (issue 16, defect 7b): the plan of a long chain holds no
//! all-pairs reachability table. It used to build one, O(n²) in time and
//! memory (50 s and 540 MB for 40,000 tasks); now only join gateways get a
//! precomputed set, one bitset over the nodes each. Checked by what the plan
//! holds, not by a clock (speed is measured in `benches/plan.rs`).

#[path = "../../model/benches/support/chain.rs"]
mod chain;

use std::sync::Arc;
use windlass_engine::Plan;

fn plan(xml: &str) -> Plan {
    let defs = windlass_model::load(xml).definitions.expect("loads");
    let graph = Arc::clone(defs.first_executable().expect("executable"));
    Plan::new(graph).expect("plans")
}

#[test]
fn a_long_chain_without_join_gateways_precomputes_nothing() {
    let plan = plan(&chain::chain(10_000, false));
    assert_eq!(plan.reach_words(), 0, "no join gateway, no precomputed set");
    let g = plan.graph();
    let first = g.node_by_id("t0").expect("t0").0;
    let last = g.node_by_id("e").expect("e").0;
    assert!(plan.can_reach(first, last));
    assert!(!plan.can_reach(last, first));
}

#[test]
fn a_long_chain_between_inclusive_gateways_precomputes_one_set_per_gateway() {
    let xml = chain::chain(10_000, false)
        .replacen("targetRef=\"e\"/>\n", "targetRef=\"join\"/>\n", 1)
        .replacen("sourceRef=\"s\"", "sourceRef=\"split\"", 1)
        .replacen(
            "<startEvent id=\"s\"/>",
            "<startEvent id=\"s\"/><sequenceFlow id=\"fs\" sourceRef=\"s\" targetRef=\"split\"/>\
             <inclusiveGateway id=\"split\"/><sequenceFlow id=\"fd\" sourceRef=\"split\" targetRef=\"join\"/>\
             <inclusiveGateway id=\"join\"/><sequenceFlow id=\"fj\" sourceRef=\"join\" targetRef=\"e\"/>",
            1,
        );
    let plan = plan(&xml);
    let nodes = plan.graph().nodes.len();
    assert_eq!(
        plan.reach_words(),
        2 * nodes.div_ceil(64),
        "one bitset per inclusive gateway (split and join), not one per node"
    );
    let g = plan.graph();
    let first = g.node_by_id("t0").expect("t0").0;
    let join = g.node_by_id("join").expect("join").0;
    assert!(plan.can_reach(first, join));
    assert!(!plan.can_reach(join, first));
}
