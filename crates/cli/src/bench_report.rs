//! The JSON report of `windlass bench` (the contract read by
//! `bench/windlass_bench/drivers/windlass.py`), percentiles, and peak RSS.

use serde::Serialize;
use std::collections::BTreeMap;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// One `windlass bench` result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Always "windlass".
    pub engine: &'static str,
    /// `memory` or `sqlite`.
    pub store: String,
    /// The workload: the BPMN file's stem.
    pub workload: String,
    /// Instances asked for.
    pub instances: u64,
    /// Wall time from the first start to the last finish.
    pub seconds: f64,
    /// Finished instances per second.
    pub throughput: f64,
    /// Start → finish latency of each instance.
    pub latency_us: Latency,
    /// Peak resident memory of this process (`VmHWM`), when the OS tells.
    pub peak_rss_kib: Option<u64>,
    /// Completed tasks by resolved name.
    pub executed: BTreeMap<String, u64>,
    /// Instances that completed (not failed, not waiting).
    pub completed: u64,
}

/// The `pct` percentile (nearest rank) of `sorted` (ascending); 0 when empty.
pub fn percentile(sorted: &[f64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentiles of latencies given in microseconds (sorted here).
pub fn latency_of(mut micros: Vec<f64>) -> Latency {
    micros.sort_by(f64::total_cmp);
    Latency {
        p50: percentile(&micros, 50.0),
        p99: percentile(&micros, 99.0),
    }
}

/// Peak resident set size of this process in KiB, from `/proc/self/status`.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        let l = latency_of(vec![3.0, 1.0, 2.0]);
        assert_eq!((l.p50, l.p99), (2.0, 3.0));
    }

    #[test]
    fn vm_hwm_is_read_in_kib() {
        assert_eq!(
            parse_vm_hwm("Name:\tx\nVmHWM:\t   12345 kB\nVmRSS:\t1 kB\n"),
            Some(12345)
        );
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
        assert!(peak_rss_kib().is_some_and(|k| k > 0));
    }
}
