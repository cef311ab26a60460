//! One-shot timing of the large-document path (issue 16, defect 7): loading
//! an N-task chain written on one line and one element per line, and
//! building its execution plan.
//!
//! Run: `cargo run --release -p windlass-engine --example large_chain [N...]`
//! (default 10000 20000 40000); wrap it in `/usr/bin/time -v` for the peak
//! memory.
#![allow(
    clippy::disallowed_methods,
    reason = "a timing tool outside the pure library: it reads the wall clock to measure"
)]

#[path = "../../model/benches/support/chain.rs"]
mod chain;

use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![10_000, 20_000, 40_000]
    } else {
        sizes
    };
    for n in sizes {
        let mut graph = None;
        for one_line in [true, false] {
            let xml = chain::chain(n, one_line);
            let started = Instant::now();
            let out = windlass_model::load(&xml);
            let took = started.elapsed();
            let layout = if one_line {
                "one line"
            } else {
                "one element per line"
            };
            println!(
                "load  {n:>6} tasks, {layout:<20} {:>9} bytes: {:>10.6} s",
                xml.len(),
                took.as_secs_f64()
            );
            let defs = out
                .definitions
                .ok_or_else(|| anyhow::anyhow!("the chain does not load: {:?}", out.diagnostics))?;
            graph = defs.first_executable().cloned();
        }
        let graph = graph.ok_or_else(|| anyhow::anyhow!("no executable process"))?;
        let started = Instant::now();
        let plan = windlass_engine::Plan::new(Arc::clone(&graph))?;
        println!(
            "plan  {n:>6} tasks: {:>10.6} s",
            started.elapsed().as_secs_f64()
        );
        drop(plan);
    }
    Ok(())
}
