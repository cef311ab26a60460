//! A fixed amount of the `decide_evolve` benchmark's work, for counting
//! instructions with valgrind (criterion's loop runs for a time, not a count):
//! `decide_count <simple|gateways> <instances>` runs that many whole instances
//! exactly as the benchmark does. Run it with 0 instances too and subtract to
//! leave out loading the fixture.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use windlass_engine::event::CompletedBy;
use windlass_engine::{Command, Ctx, Decision, Effect, InstanceState, Plan, step};
use windlass_types::{Timestamp, Vars};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = match args.next().as_deref() {
        Some("simple") => "simple.bpmn",
        Some("gateways") => "bench_gateways.bpmn",
        _ => anyhow::bail!("usage: decide_count <simple|gateways> <instances>"),
    };
    let n: usize = args.next().unwrap_or_else(|| "1".into()).parse()?;
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read_to_string(path)?;
    let defs = windlass_model::load(&xml).definitions.unwrap();
    let plan = Plan::new(defs.first_executable().unwrap().clone()).unwrap();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(0),
        definition_key: "bench",
    };
    let mut vars = Vars::new();
    vars.insert("x".into(), serde_json::json!(7));
    let mut d = Decision::default();
    let mut jobs = Vec::new();
    for _ in 0..n {
        let mut state = InstanceState::default();
        jobs.clear();
        jobs.push(Command::Start {
            vars: vars.clone(),
            business_key: None,
            start_event: None,
            has_parent: false,
        });
        while let Some(cmd) = jobs.pop() {
            d.clear();
            step(&mut state, &cmd, &ctx, &mut d).unwrap();
            for e in &d.effects {
                if let Effect::RunJob(req) = e {
                    jobs.push(Command::CompleteJob {
                        job: req.key,
                        outputs: Vars::new(),
                        by: CompletedBy::Handler,
                    });
                }
            }
        }
        black_box(state);
    }
    Ok(())
}
