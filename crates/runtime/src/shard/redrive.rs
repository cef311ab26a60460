//! After a failed group commit, by the error's class
//! ([`windlass_store_api::ErrorClass`]):
//!
//! - `Permanent` (full disk, read-only or damaged database, closed store):
//!   the affected instances are rebuilt from the store and remember the
//!   error; their waiters are told. Their pending work runs at the next
//!   start.
//! - `Transient`, `Conflict`, `Ambiguous`: the affected instances are
//!   rebuilt from the store (a re-read, which also reconciles an ambiguous
//!   commit), and their pending work is re-driven without a restart after a
//!   short backoff: the outbox rows of their open jobs that no task works on,
//!   and the rows the failed group had consumed (child starts, notices,
//!   terminations). After [`MAX_REDRIVES`] failures in a row for one
//!   instance or row, it is given up like a permanent failure — for
//!   transient and ambiguous failures only once they have also lasted
//!   `RuntimeOptions::transient_retry_window` (a database failing over),
//!   re-driven meanwhile at most [`MAX_BACKOFF`] apart.
//!
//! Every requester of the failed group gets the error in every class, except
//! when a conflict names one instance of the group: then only that
//! instance's requesters do, and the other inputs are decided again
//! (`isolation.rs`).

use super::Shard;
use super::msg::Input;
use crate::outbox::job_key;
use std::time::Duration;
use windlass_engine::JobKey;
use windlass_engine::state::Wait;
use windlass_store_api::{ErrorClass, InstanceRef, Store};

/// Failed commits in a row after which an instance (or a row) is given up
/// until the next start.
pub(crate) const MAX_REDRIVES: u32 = 5;

/// The longest wait between two re-drives.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The wait before the `n`th re-drive (1-based): 5 ms, 20 ms, 80 ms, ...,
/// at most [`MAX_BACKOFF`].
pub(crate) fn backoff(n: u32) -> Duration {
    Duration::from_millis(5u64.saturating_mul(4u64.saturating_pow(n.saturating_sub(1))))
        .min(MAX_BACKOFF)
}

/// The failures in a row of one instance or row, and since when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strikes {
    count: u32,
    since: tokio::time::Instant,
}

/// The failure-count key of an instance (outbox keys never take this form).
pub(crate) fn instance_key(instance: &InstanceRef) -> String {
    format!("instance {}", instance.id.0)
}

/// What a re-drive re-reads and queues again.
#[derive(Debug, Default)]
pub(crate) struct Redrive {
    /// Instances rebuilt from the store: their open jobs' rows.
    pub instances: Vec<InstanceRef>,
    /// Outbox rows taken by the failed group (still pending in the store).
    pub keys: Vec<String>,
}

impl<S: Store> Shard<S> {
    /// Counts a failure of `class` against `key` (an instance id or an
    /// outbox key); `None` once it is given up, else the failures in a row.
    pub(super) fn strike(&mut self, key: &str, class: ErrorClass) -> Option<u32> {
        let now = tokio::time::Instant::now();
        let s = self.strikes.entry(key.to_string()).or_insert(Strikes {
            count: 0,
            since: now,
        });
        s.count += 1;
        let waited_out = class == ErrorClass::Conflict
            || now.duration_since(s.since) >= self.shared.transient_retry_window;
        if s.count > MAX_REDRIVES && waited_out {
            self.strikes.remove(key);
            None
        } else {
            Some(s.count)
        }
    }

    /// Clears the failure counts of what a good commit wrote.
    pub(super) fn cleared(&mut self, key: &str) {
        if !self.strikes.is_empty() {
            self.strikes.remove(key);
        }
    }

    /// Re-drives `r` after `wait`: the instances stay counted as in flight
    /// until then, so `wait_settled` does not answer early.
    pub(super) fn schedule_redrive(&mut self, r: Redrive, wait: Duration) {
        for instance in &r.instances {
            if let Some(slot) = self.slots.get_mut(instance) {
                slot.inflight += 1;
            }
        }
        self.tasks.spawn(async move {
            tokio::time::sleep(wait).await;
            Some(Input::Redrive(r))
        });
    }

    /// The outbox rows to re-dispatch for `r`: the rows of open jobs of its
    /// instances that no task works on and no queued answer covers, and the
    /// consumed rows that are still pending.
    pub(super) async fn redrive_rows(&mut self, r: Redrive) -> Vec<windlass_store_api::OutboxRow> {
        let Redrive {
            instances,
            mut keys,
        } = r;
        for instance in &instances {
            let Some(slot) = self.slots.get_mut(instance) else {
                continue;
            };
            slot.inflight = slot.inflight.saturating_sub(1);
            for t in &slot.state.tokens {
                let Wait::Job { attempt } = t.wait else {
                    continue;
                };
                let job = JobKey {
                    node: t.node,
                    token: t.id,
                    attempt,
                };
                if self.running.contains_key(&(instance.clone(), job))
                    || queued_answer(&self.queue, instance, job)
                {
                    continue;
                }
                keys.push(job_key(instance, &job));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            match self.shared.store.outbox_entry(&key).await {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => {}
                Err(e) => tracing::error!(key, "cannot re-read the outbox row to re-drive: {e}"),
            }
        }
        rows
    }

    /// The work in flight of `instance` besides its waiting children: tasks
    /// working for its jobs and handler answers queued for it.
    pub(super) fn own_work(&self, instance: &InstanceRef) -> u32 {
        let tasks = self.running.keys().filter(|(i, _)| i == instance).count();
        let answers = self
            .queue
            .iter()
            .filter(|i| matches!(i, Input::Outcome { instance: of, spawned: false, .. } if of == instance))
            .count();
        u32::try_from(tasks + answers).unwrap_or(u32::MAX)
    }
}

/// True when an answer of `job` of `instance` waits in `queue`.
fn queued_answer(
    queue: &std::collections::VecDeque<Input>,
    instance: &InstanceRef,
    job: JobKey,
) -> bool {
    queue.iter().any(
        |i| matches!(i, Input::Outcome { instance: of, job: j, .. } if of == instance && *j == job),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_fourfold() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(2), Duration::from_millis(20));
        assert_eq!(backoff(MAX_REDRIVES - 1), Duration::from_millis(320));
        assert_eq!(backoff(MAX_REDRIVES), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
