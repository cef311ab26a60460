//! Building the execution plan of large processes (issue 16, defect 7b): a
//! 40,000-task chain, and the same chain between an inclusive split and its
//! join (the plan then walks back from the join once).
#![allow(clippy::unwrap_used)]

#[path = "../../model/benches/support/chain.rs"]
mod chain;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use windlass_engine::Plan;
use windlass_model::ProcessGraph;

const TASKS: usize = 40_000;

fn graph(xml: &str) -> Arc<ProcessGraph> {
    let defs = windlass_model::load(xml).into_result().unwrap();
    Arc::clone(defs.first_executable().unwrap())
}

/// The chain with an inclusive split after the start event, a join before
/// the end event, and a second, direct path from the split to the join.
fn chain_in_inclusive(n: usize) -> String {
    chain::chain(n, false)
        .replacen("targetRef=\"e\"/>\n", "targetRef=\"join\"/>\n", 1)
        .replacen(
            "sourceRef=\"s\"",
            "sourceRef=\"split\"",
            1,
        )
        .replacen(
            "<startEvent id=\"s\"/>",
            "<startEvent id=\"s\"/><sequenceFlow id=\"fs\" sourceRef=\"s\" targetRef=\"split\"/>\
             <inclusiveGateway id=\"split\"/><sequenceFlow id=\"fd\" sourceRef=\"split\" targetRef=\"join\"/>\
             <inclusiveGateway id=\"join\"/><sequenceFlow id=\"fj\" sourceRef=\"join\" targetRef=\"e\"/>",
            1,
        )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(20);
    let chain = graph(&chain::chain(TASKS, false));
    group.bench_function("chain 40k tasks", |b| {
        b.iter(|| Plan::new(black_box(Arc::clone(&chain))).unwrap())
    });
    let joined = graph(&chain_in_inclusive(TASKS));
    let plan = Plan::new(Arc::clone(&joined)).unwrap();
    let (first, join) = (
        joined.node_by_id("t0").unwrap().0,
        joined.node_by_id("join").unwrap().0,
    );
    assert!(plan.can_reach(first, join), "the chain leads to the join");
    group.bench_function("chain 40k tasks into an inclusive join", |b| {
        b.iter(|| Plan::new(black_box(Arc::clone(&joined))).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
