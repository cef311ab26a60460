//! `cargo bench -p windlass --bench jobs [-- WHAT N [WINDOW]]`: jobs per
//! second and latency of one-task instances, on one core (current-thread
//! tokio), in memory, by what runs the task:
//!
//! - `mock`: a synchronous mock (`HandlerResult::Ready`, no task spawned) —
//!   the baseline the others are compared with;
//! - `rust`: an async Rust task function bound through the facade
//!   (`EngineBuilder::on_node`): spawned, owned and awaited by the runtime;
//! - `shell`: the built-in `shell` kind running `true` (a process per job:
//!   spawn bound).
//!
//! `all` (default) runs the three. N defaults to 100,000 (`shell`: 2,000);
//! WINDOW instances are in flight at once (default 64: latency without
//! queueing; 10,000 for throughput). Latency is from the start request to
//! the instance's end: two group commits and the job's dispatch, run and
//! answer.
#![allow(missing_docs)]

use anyhow::Result;

/// mimalloc, as in the `windlass` binary (and as an embedding program
/// should use): glibc malloc spends a large share of a run with many jobs
/// in flight consolidating free chunks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use windlass::{TaskContext, Vars, task_handler};
use windlass_runtime::Handlers;
use windlass_runtime::bench::{self, BenchOptions, BenchReport};
use windlass_store_memory::MemoryStore;

fn one_task(extension: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:b">
<process id="simple" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Work">{extension}</serviceTask>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

fn line(what: &str, r: &BenchReport, base: Option<f64>) {
    let ratio = base.map_or(String::new(), |b| {
        format!(" ({:.2}x the mock)", r.throughput / b.max(1e-9))
    });
    println!(
        "{what}: {} instances, {:.0} jobs/s{ratio}, p50 {} us, p99 {} us, max {} us, completed {}",
        r.instances, r.throughput, r.p50_us, r.p99_us, r.max_us, r.completed
    );
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let what = args.first().cloned().unwrap_or_else(|| "all".into());
    let n: Option<usize> = args.get(1).and_then(|s| s.parse().ok());
    let window: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let plain = one_task("");
        let mut base = None;
        if what == "mock" || what == "all" {
            let opts = BenchOptions {
                window,
                ..BenchOptions::new(plain.clone(), n.unwrap_or(100_000))
            };
            let r = bench::run(MemoryStore::new(), opts).await?;
            line(&format!("mock  (Ready, window {window})"), &r, None);
            base = Some(r.throughput);
        }
        if what == "rust" || what == "all" {
            let handlers = Handlers::new().on_node(
                "t",
                task_handler(|ctx: TaskContext| async move {
                    Ok(Vars::from_iter([("n".to_string(), ctx.attempt.into())]))
                }),
            );
            let opts = BenchOptions {
                handlers: Some(handlers),
                window,
                ..BenchOptions::new(plain.clone(), n.unwrap_or(100_000))
            };
            let r = bench::run(MemoryStore::new(), opts).await?;
            line(&format!("rust  (async fn, window {window})"), &r, base);
        }
        if what == "shell" || what == "all" {
            let xml = one_task(
                r#"<extensionElements><windlass:task kind="shell"><windlass:setting name="command" value="true"/></windlass:task></extensionElements>"#,
            );
            let opts = BenchOptions {
                handlers: Some(windlass_jobs::builtin(Handlers::new())),
                window,
                ..BenchOptions::new(xml, n.unwrap_or(2_000))
            };
            let r = bench::run(MemoryStore::new(), opts).await?;
            line(&format!("shell (true, window {window})"), &r, base);
        }
        anyhow::Ok(())
    })
}
