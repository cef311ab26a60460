//! Benchmark entry points (what `windlass bench` calls): throughput and
//! latency of whole instances, memory per waiting instance, recovery time.
//! Generic over the store, so the caller picks the backend. Run them on a
//! current-thread tokio runtime to measure one core.

use crate::error::{RuntimeError, RuntimeResult};
use crate::handlers::Handlers;
use crate::job::{HandlerResult, Job, JobOutcome};
use crate::options::RuntimeOptions;
use crate::runtime::{Runtime, RuntimeHandle};
use crate::start::StartRequest;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use windlass_store_api::{InstanceStatus, Store};

pub use crate::dedup_bench::{DEDUP_PROCESS, DedupBench, dedup};
pub use crate::message_bench::{MESSAGE_PROCESS, MessageBench, messages};
pub use crate::signal_bench::{SIGNAL_PROCESS, SignalBench, signals};
pub use crate::timer_bench::{TIMER_PROCESS, TimerBench, timers};

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The BPMN document.
    pub xml: String,
    /// The process to start (default: the first executable one).
    pub process: Option<String>,
    /// How many instances to run.
    pub instances: usize,
    /// How many instances are in flight at once.
    pub window: usize,
    /// Shard count.
    pub shards: usize,
    /// Job handlers (the mocks). `None`: every job completes at once with no
    /// output (a synchronous mock).
    pub handlers: Option<Handlers>,
    /// Give up (with [`RuntimeError::TimedOut`]) when the run takes longer.
    pub timeout: Option<Duration>,
}

impl BenchOptions {
    /// `instances` of `xml`, window 10,000, one shard, every job mocked.
    pub fn new(xml: impl Into<String>, instances: usize) -> Self {
        Self {
            xml: xml.into(),
            process: None,
            instances,
            window: 10_000,
            shards: 1,
            handlers: None,
            timeout: None,
        }
    }
}

/// Results of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Instances started.
    pub instances: usize,
    /// Instances that completed.
    pub completed: usize,
    /// Instances that ended otherwise (failed, ...).
    pub not_completed: usize,
    /// Wall time from the first start to the last finish.
    pub seconds: f64,
    /// Finished instances per second.
    pub throughput: f64,
    /// Median start→finish latency, µs.
    pub p50_us: u64,
    /// 99th percentile start→finish latency, µs.
    pub p99_us: u64,
    /// Worst start→finish latency, µs.
    pub max_us: u64,
    /// Group commits made during the run.
    pub commits: u64,
    /// Wall time the shard waited inside the store's `commit`, seconds.
    pub commit_seconds: f64,
}

fn mock_all() -> Handlers {
    Handlers::new().fallback(|_: &Job| HandlerResult::Ready(JobOutcome::mocked(Default::default())))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs `opts.instances` instances to their end, keeping `opts.window` in
/// flight, and measures throughput and start→finish latency. A failed group
/// commit ends the run with that storage error; `opts.timeout` bounds it.
pub async fn run<S: Store>(store: S, opts: BenchOptions) -> RuntimeResult<BenchReport> {
    let (tx, rx) = mpsc::unbounded_channel();
    let options = RuntimeOptions {
        shards: opts.shards.max(1),
        on_finished: Some(Arc::new(move |i: &windlass_store_api::InstanceRef, s| {
            let _ = tx.send((i.id.0.clone(), s, Instant::now()));
        })),
        ..RuntimeOptions::default()
    };
    let handlers = opts.handlers.clone().unwrap_or_else(mock_all);
    let rt = Runtime::start(options, store, handlers).await?;
    let timeout = opts.timeout;
    let result = tokio::select! {
        r = drive(&rt, &opts, rx) => r,
        e = rt.storage_failure() => Err(RuntimeError::Store(e)),
        () = sleep_or_never(timeout) => Err(RuntimeError::TimedOut(format!(
            "the benchmark did not finish within {} s",
            timeout.map_or(0, |t| t.as_secs())
        ))),
    };
    let stopped = rt.shutdown().await;
    let report = result?;
    stopped?;
    Ok(report)
}

/// Sleeps for `d`, or forever when there is no limit.
async fn sleep_or_never(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Starts and awaits the instances of [`run`].
async fn drive<S: Store>(
    rt: &RuntimeHandle<S>,
    opts: &BenchOptions,
    mut rx: mpsc::UnboundedReceiver<(String, InstanceStatus, Instant)>,
) -> RuntimeResult<BenchReport> {
    let dep = rt.deploy(&opts.xml).await?;
    let key = match &opts.process {
        Some(p) => dep
            .processes
            .iter()
            .find(|(pid, _, _)| pid == p)
            .map(|(_, k, _)| k.clone())
            .ok_or_else(|| RuntimeError::UnknownDefinition(p.clone()))?,
        None => dep
            .default_key
            .clone()
            .ok_or_else(|| RuntimeError::UnknownDefinition("(no executable process)".into()))?,
    };
    let window = opts.window.max(1);
    let mut started_at: HashMap<String, Instant, crate::shard::FastHash> =
        HashMap::with_capacity_and_hasher(window * 2, Default::default());
    let mut latencies = Vec::with_capacity(opts.instances.min(1 << 20));
    let (mut started, mut completed, mut other) = (0usize, 0usize, 0usize);
    let t0 = Instant::now();
    while started < opts.instances.min(window) {
        let id = rt.start_detached(StartRequest::new(key.clone())).await?;
        started_at.insert(id.id.0, Instant::now());
        started += 1;
    }
    while completed + other < opts.instances {
        let Some((id, status, at)) = rx.recv().await else {
            break;
        };
        if let Some(t) = started_at.remove(&id) {
            latencies.push(at.duration_since(t).as_micros() as u64);
        }
        if status == InstanceStatus::Completed {
            completed += 1;
        } else {
            other += 1;
        }
        if started < opts.instances {
            let id = rt.start_detached(StartRequest::new(key.clone())).await?;
            started_at.insert(id.id.0, Instant::now());
            started += 1;
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let stats = rt.commit_stats();
    latencies.sort_unstable();
    Ok(BenchReport {
        instances: started,
        completed,
        not_completed: other,
        seconds,
        throughput: (completed + other) as f64 / seconds.max(1e-9),
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
        max_us: latencies.last().copied().unwrap_or(0),
        commits: stats.commits,
        commit_seconds: stats.time.as_secs_f64(),
    })
}

/// Results of [`waiting_memory`].
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryReport {
    /// Instances parked.
    pub instances: usize,
    /// Resident memory before starting them, bytes.
    pub rss_before: u64,
    /// Resident memory with all of them waiting, bytes.
    pub rss_after: u64,
    /// `(rss_after - rss_before) / instances`: runtime state plus whatever
    /// the store keeps in memory (all of the history for the memory store).
    pub bytes_per_instance: f64,
    /// Time to start them all.
    pub seconds: f64,
}

/// The resident set size of this process (Linux `/proc/self/statm`).
pub fn rss_bytes() -> RuntimeResult<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")
        .map_err(|e| RuntimeError::Io(format!("/proc/self/statm: {e}")))?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| RuntimeError::Io("/proc/self/statm: unexpected format".into()))?;
    Ok(pages * 4096)
}

/// A handler that hands every job to "someone outside" who never answers:
/// instances park at their first task.
fn park_all() -> Handlers {
    Handlers::new().fallback(|_: &Job| HandlerResult::External)
}

async fn park<S: Store>(
    rt: &crate::runtime::RuntimeHandle<S>,
    xml: &str,
    instances: usize,
) -> RuntimeResult<()> {
    let dep = rt.deploy(xml).await?;
    let key = dep
        .default_key
        .ok_or_else(|| RuntimeError::UnknownDefinition("(no executable process)".into()))?;
    let mut last = None;
    for i in 0..instances {
        let req = StartRequest::new(key.clone());
        last = Some(rt.start_detached(req).await?);
        if i % 10_000 == 9_999 {
            // Let the shard catch up so queues stay bounded.
            if let Some(l) = &last {
                rt.wait_settled(l).await?;
            }
        }
    }
    if let Some(l) = last {
        rt.wait_settled(&l).await?;
    }
    Ok(())
}

/// Parks `instances` instances of `xml` at their first task (a handler that
/// never answers) on one shard and measures resident memory per instance.
pub async fn waiting_memory<S: Store>(
    store: S,
    xml: &str,
    instances: usize,
) -> RuntimeResult<MemoryReport> {
    let rt = Runtime::start(RuntimeOptions::default(), store, park_all()).await?;
    let rss_before = rss_bytes()?;
    let t0 = Instant::now();
    park(&rt, xml, instances).await?;
    let seconds = t0.elapsed().as_secs_f64();
    let rss_after = rss_bytes()?;
    rt.shutdown().await?;
    Ok(MemoryReport {
        instances,
        rss_before,
        rss_after,
        bytes_per_instance: rss_after.saturating_sub(rss_before) as f64 / instances.max(1) as f64,
        seconds,
    })
}

/// Results of [`recovery_time`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryBench {
    /// Unfinished instances found and resumed.
    pub instances: usize,
    /// Pending outbox rows queued again.
    pub outbox_rows: usize,
    /// Time of `Runtime::start` (load, replay, queue).
    pub elapsed: Duration,
}

/// Parks `instances` instances of `xml` in a store from `open`, shuts the
/// runtime down, then measures how long a new runtime on a store from
/// `open` takes to recover them.
pub async fn recovery_time<S: Store>(
    open: impl Fn() -> RuntimeResult<S>,
    xml: &str,
    instances: usize,
) -> RuntimeResult<RecoveryBench> {
    let rt = Runtime::start(RuntimeOptions::default(), open()?, park_all()).await?;
    park(&rt, xml, instances).await?;
    rt.shutdown().await?;
    drop(rt);
    let t0 = Instant::now();
    let rt = Runtime::start(RuntimeOptions::default(), open()?, park_all()).await?;
    let elapsed = t0.elapsed();
    let report = rt.recovery().clone();
    rt.shutdown().await?;
    Ok(RecoveryBench {
        instances: report.instances,
        outbox_rows: report.outbox_rows,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranked_values() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 51);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
