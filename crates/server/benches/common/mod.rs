//! What the server's benchmarks share: a bounded load generator that
//! reports the rate and latency percentiles of an operation.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The benchmarks' process: a start event, one abstract task (a recorded
/// no-op) and an end event.
pub const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:b">
  <process id="simple" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <task id="t" name="Work"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

/// One measured line.
pub struct Row {
    /// What was measured.
    pub what: &'static str,
    /// Operations per second.
    pub rate: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// The `p` quantile of `sorted`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs `n` operations from `concurrency` workers; `op(i)` is one.
pub async fn load<F, Fut>(what: &'static str, n: usize, concurrency: usize, op: F) -> Row
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (op, next, latencies) = (op.clone(), next.clone(), latencies.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                op(i).await;
                mine.push(t.elapsed());
            }
            latencies.lock().await.extend(mine);
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    let elapsed = t0.elapsed();
    let mut l = latencies.lock().await.clone();
    l.sort();
    Row {
        what,
        rate: n as f64 / elapsed.as_secs_f64(),
        p50: percentile(&l, 0.5),
        p99: percentile(&l, 0.99),
    }
}
