//! `cargo bench -p windlass-runtime --bench runtime [-- WHAT N]`: the
//! runtime benchmarks on one core (current-thread tokio runtime).
//!
//! WHAT is `mem` (throughput in memory), `sqlite` (durable, every group
//! commit fsync'd), `waiting` (memory per waiting instance), `recovery`,
//! `timers` / `timers-mem` (N pending timers on SQLite / in memory: memory
//! per pending timer, fires per second), `messages` / `messages-mem` (N
//! waiting instances, one message each from P concurrent publishers, the
//! third argument, default 64: correlated per second), `dedup` /
//! `dedup-mem` (N coalesced starts over K keys, the third argument, default
//! 10,000, from 16 publishers in batches of B, the fourth, default 4,096;
//! B = 1 is one `start_coalesced` per event from 1,024 publishers: events
//! per second), `signals-mem` (N waiting instances, one broadcast: on the
//! single node, then on 1, 2 and 3 nodes sharing the partitions of one
//! memory store: time until every instance took it) — these seven are not
//! part of `all` — or `all` (default); N is the instance count (default
//! 100,000).
#![allow(missing_docs)]

use anyhow::Result;
use std::time::Instant;
use windlass_runtime::bench::{self, BenchOptions};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

/// mimalloc instead of glibc malloc: the runtime allocates many small,
/// short-lived buffers (events, keys, payloads) that glibc serves slowly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:b">
<process id="simple" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Work"/>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

/// Where the time went: commits, and the share of the run inside them.
fn commit_share(r: &bench::BenchReport) -> String {
    format!(
        "{} commits, {:.3} s of {:.3} s inside commit ({:.0}%)",
        r.commits,
        r.commit_seconds,
        r.seconds,
        100.0 * r.commit_seconds / r.seconds.max(1e-9)
    )
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let what = args.first().cloned().unwrap_or_else(|| "all".into());
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    // `messages`: concurrent publishers (a server's request handlers).
    let publishers: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        if what == "mem" || what == "all" {
            for size in [1_000usize, n] {
                let r = bench::run(MemoryStore::new(), BenchOptions::new(SIMPLE, size)).await?;
                println!(
                    "memory  simple n={size}: {:.0} inst/s, p50 {} us, p99 {} us, completed {}; {}",
                    r.throughput, r.p50_us, r.p99_us, r.completed, commit_share(&r)
                );
            }
        }
        if what == "sqlite" || what == "all" {
            let dir = tempfile::tempdir()?;
            let store = SqliteStore::open_with(SqliteOptions::new(dir.path().join("b.db")))?;
            let r = bench::run(store, BenchOptions::new(SIMPLE, n)).await?;
            println!(
                "sqlite  simple n={n} (sync=FULL): {:.0} inst/s, p50 {} us, p99 {} us, completed {}; {}",
                r.throughput, r.p50_us, r.p99_us, r.completed, commit_share(&r)
            );
        }
        if what == "waiting" || what == "all" {
            let dir = tempfile::tempdir()?;
            let store = SqliteStore::open_with(SqliteOptions::new(dir.path().join("w.db")))?;
            let r = bench::waiting_memory(store, SIMPLE, n).await?;
            println!(
                "waiting n={n} (sqlite store): {:.0} bytes/instance RSS, parked in {:.2} s",
                r.bytes_per_instance, r.seconds
            );
        }
        if what == "timers" || what == "timers-mem" {
            // One store per process run: RSS freed by a first run would be
            // reused by a second and hide its memory.
            let (name, r) = if what == "timers" {
                let dir = tempfile::tempdir()?;
                let store = SqliteStore::open_with(SqliteOptions::new(dir.path().join("t.db")))?;
                ("sqlite", bench::timers(store, n).await?)
            } else {
                ("memory", bench::timers(MemoryStore::new(), n).await?)
            };
            println!(
                "timers  n={n} ({name} store): {:.0} bytes/pending timer RSS (parked in {:.1} s); \
                 all due at once: {:.0} fired+completed/s ({:.2} s, {} fired)",
                r.bytes_per_timer, r.park_seconds, r.fired_per_second, r.fire_seconds, r.fired
            );
        }
        if what == "messages" || what == "messages-mem" {
            // One shard; `publishers` concurrent publishing tasks.
            let (name, r) = if what == "messages" {
                let dir = tempfile::tempdir()?;
                let store = SqliteStore::open_with(SqliteOptions::new(dir.path().join("m.db")))?;
                ("sqlite", bench::messages(store, n, 1, publishers).await?)
            } else {
                ("memory", bench::messages(MemoryStore::new(), n, 1, publishers).await?)
            };
            println!(
                "messages n={n} ({name} store, {publishers} publishers): {:.0} correlated+completed/s \
                 ({:.2} s; instances parked in {:.1} s)",
                r.correlated_per_second, r.correlate_seconds, r.park_seconds
            );
        }
        if what == "signals-mem" {
            // One core for every runtime; nodes look for deliveries every
            // 5 ms (on PostgreSQL a NOTIFY wakes them).
            let poll = std::time::Duration::from_millis(5);
            for nodes in [0usize, 1, 2, 3] {
                let r = bench::signals(MemoryStore::new(), n, nodes, poll).await?;
                let how = if nodes == 0 {
                    "single node".to_string()
                } else {
                    format!("{nodes} node(s)")
                };
                println!(
                    "signals n={n} ({how}, memory store): every instance took one broadcast in \
                     {:.3} s ({:.0}/s; the call took {:.3} s; parked in {:.1} s)",
                    r.reach_seconds, r.per_second, r.call_seconds, r.park_seconds
                );
            }
        }
        if what == "dedup" || what == "dedup-mem" {
            // One shard; the third argument is the key count here.
            let keys: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
            let batch: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4096);
            let publishers = if batch <= 1 { 1024 } else { 16 };
            let (name, r) = if what == "dedup" {
                let dir = tempfile::tempdir()?;
                let store = SqliteStore::open_with(SqliteOptions::new(dir.path().join("d.db")))?;
                let r = bench::dedup(store, n, keys, publishers, batch).await?;
                ("sqlite", r)
            } else {
                let r = bench::dedup(MemoryStore::new(), n, keys, publishers, batch).await?;
                ("memory", r)
            };
            println!(
                "dedup n={n} keys={keys} ({name} store, {publishers} publishers, batches of \
                 {batch}): {:.0} events/s ({:.2} s; {} started, {} queued)",
                r.events_per_second, r.seconds, r.started, r.queued
            );
        }
        if what == "recovery" || what == "all" {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("r.db");
            let t0 = Instant::now();
            let r = bench::recovery_time(
                || Ok(SqliteStore::open_with(SqliteOptions::new(path.clone()))?),
                SIMPLE,
                n,
            )
            .await?;
            println!(
                "recovery n={n} (sqlite): {} instances + {} outbox rows in {:.3} s (setup+run {:.1} s)",
                r.instances,
                r.outbox_rows,
                r.elapsed.as_secs_f64(),
                t0.elapsed().as_secs_f64()
            );
        }
        anyhow::Ok(())
    })
}
