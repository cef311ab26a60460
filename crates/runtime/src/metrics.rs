//! The runtime's metrics, recorded through the `metrics` facade: free
//! until a recorder is installed (`windlass server` installs the Prometheus
//! exporter and serves `/metrics`). Counters and histograms are recorded
//! where things happen; levels (queue depths, timers armed, messages
//! buffered) are read from the handle when scraped
//! ([`crate::RuntimeHandle::levels`]).
//!
//! Names follow Prometheus conventions; labels are few and bounded
//! (process ids, statuses, job kinds), never instance ids.

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use windlass_store_api::{Batch, InstanceStatus};

/// Instances started (committed), by `process`.
pub const INSTANCES_STARTED: &str = "windlass_instances_started_total";
/// Instances finished, by `process` and `status`.
pub const INSTANCES_FINISHED: &str = "windlass_instances_finished_total";
/// Time from a job's dispatch to its handler's answer, by `kind` (the
/// `windlass:task` kind, else the BPMN task type), for jobs run in the
/// runtime (not external workers').
pub const JOB_DURATION: &str = "windlass_job_duration_seconds";
/// Events per group commit.
pub const COMMIT_EVENTS: &str = "windlass_commit_batch_events";
/// Wall time of a group commit.
pub const COMMIT_DURATION: &str = "windlass_commit_duration_seconds";
/// Group commits that failed.
pub const COMMIT_FAILURES: &str = "windlass_commit_failures_total";
/// Starts that waited for a held dedup key instead of running at once.
pub const DEDUP_COALESCED: &str = "windlass_dedup_coalesced_total";

/// Registers the descriptions (call once after installing a recorder).
pub fn describe() {
    describe_counter!(INSTANCES_STARTED, "Instances started, by process");
    describe_counter!(
        INSTANCES_FINISHED,
        "Instances finished, by process and status"
    );
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "Job dispatch to handler answer, by kind"
    );
    describe_histogram!(
        COMMIT_EVENTS,
        Unit::Count,
        "History events per group commit"
    );
    describe_histogram!(
        COMMIT_DURATION,
        Unit::Seconds,
        "Wall time of a group commit"
    );
    describe_counter!(COMMIT_FAILURES, "Group commits that failed");
    describe_counter!(DEDUP_COALESCED, "Starts queued behind a held dedup key");
}

/// The process id of a definition key (`{process}:{hash}`).
fn process_of(key: &str) -> &str {
    key.rsplit_once(':').map_or(key, |(p, _)| p)
}

/// The instances a batch creates, by process (counted once it commits).
pub(crate) fn creations(batch: &Batch) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for c in &batch.creates {
        let p = process_of(&c.row.definition_key);
        match out.iter_mut().find(|(q, _)| q == p) {
            Some((_, n)) => *n += 1,
            None => out.push((p.to_string(), 1)),
        }
    }
    out
}

/// A group commit: its size and time, and whether it succeeded.
pub(crate) fn commit(events: usize, seconds: f64, ok: bool) {
    histogram!(COMMIT_EVENTS).record(events as f64);
    histogram!(COMMIT_DURATION).record(seconds);
    if !ok {
        counter!(COMMIT_FAILURES).increment(1);
    }
}

/// Instances created by a committed batch.
pub(crate) fn started(created: Vec<(String, u64)>) {
    for (process, n) in created {
        counter!(INSTANCES_STARTED, "process" => process).increment(n);
    }
}

/// An instance finished.
pub(crate) fn finished(process: &str, status: InstanceStatus) {
    counter!(INSTANCES_FINISHED, "process" => process.to_string(), "status" => status.as_str())
        .increment(1);
}

/// A job answered after `seconds`.
pub(crate) fn job_answered(kind: String, seconds: f64) {
    histogram!(JOB_DURATION, "kind" => kind).record(seconds);
}

/// A start queued behind a held dedup key.
pub(crate) fn coalesced() {
    counter!(DEDUP_COALESCED).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ids_come_from_definition_keys() {
        assert_eq!(process_of("order:00ff"), "order");
        assert_eq!(process_of("a:b:00ff"), "a:b");
        assert_eq!(process_of("legacy"), "legacy");
    }
}
