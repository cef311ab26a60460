//! Benchmarks of the pure engine: `step` (decide + evolve in place) for a
//! whole instance of start→task→end and of a 10-node process with an
//! exclusive gateway and a parallel fork/join; jobs are answered at once.
//! Also prints the resident memory per waiting instance (Linux).
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use windlass_engine::event::CompletedBy;
use windlass_engine::{Command, Ctx, Decision, Effect, InstanceState, Plan, step};
use windlass_types::{Timestamp, Vars};

fn plan(file: &str) -> Arc<Plan> {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read_to_string(path).unwrap();
    let defs = windlass_model::load(&xml).definitions.unwrap();
    Arc::new(Plan::new(defs.first_executable().unwrap().clone()).unwrap())
}

/// Runs one instance to completion, answering every job with no output.
fn run_instance(
    plan: &Plan,
    vars: &Vars,
    d: &mut Decision,
    jobs: &mut Vec<Command>,
) -> InstanceState {
    let ctx = Ctx {
        plan,
        now: Timestamp(0),
        definition_key: "bench",
    };
    let mut state = InstanceState::default();
    let start = Command::Start {
        vars: vars.clone(),
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    jobs.clear();
    jobs.push(start);
    while let Some(cmd) = jobs.pop() {
        d.clear();
        step(&mut state, &cmd, &ctx, d).unwrap();
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
    state
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn waiting_memory(plan: &Plan) {
    const N: usize = 1_000_000;
    let ctx = Ctx {
        plan,
        now: Timestamp(0),
        definition_key: "bench",
    };
    let mut vars = Vars::new();
    vars.insert("x".into(), serde_json::json!(1));
    let before = rss_kib();
    let mut states = Vec::with_capacity(N);
    let mut d = Decision::default();
    for _ in 0..N {
        let mut s = InstanceState::default();
        d.clear();
        let cmd = Command::Start {
            vars: vars.clone(),
            business_key: None,
            start_event: None,
            has_parent: false,
        };
        step(&mut s, &cmd, &ctx, &mut d).unwrap();
        states.push(s);
    }
    if let (Some(b), Some(a)) = (before, rss_kib()) {
        println!(
            "memory: {N} instances waiting on a job: {} bytes each (state size {} + heap)",
            (a.saturating_sub(b)) * 1024 / N as u64,
            std::mem::size_of::<InstanceState>()
        );
    }
    black_box(states);
}

fn bench(c: &mut Criterion) {
    let simple = plan("simple.bpmn");
    let gateways = plan("bench_gateways.bpmn");
    let mut vars = Vars::new();
    vars.insert("x".into(), serde_json::json!(7));
    let mut d = Decision::default();
    let mut jobs = Vec::new();
    c.bench_function("start-task-end", |b| {
        b.iter(|| black_box(run_instance(&simple, &vars, &mut d, &mut jobs)))
    });
    c.bench_function("10-node gateways fork/join", |b| {
        b.iter(|| black_box(run_instance(&gateways, &vars, &mut d, &mut jobs)))
    });
    waiting_memory(&simple);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
