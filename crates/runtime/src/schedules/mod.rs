//! Schedules: process-level timer start events and `windlass:cron` message
//! sources, fired by one schedule service task per runtime ([`service`]).
//!
//! The service is the only author of the `schedules` table. Deploying a
//! definition creates, replaces or deletes its process's rows; each fire
//! starts an instance at the timer start event (the row's new next fire
//! time committed in the same batch as the instance's creation) or
//! publishes the source's message. Overlap policies decide what a fire does
//! while the previous run of its instance id is unfinished; fires a policy
//! buffers start when the shard that finishes the run tells the service
//! (`Finished`, sent after the commit, only for watched ids). See
//! `docs/runtime.md`, Schedules.
//!
//! On a node serving some partitions (`partitions.rs`) the service holds
//! only the schedules of its partitions (a schedule's partition is its
//! id's, which is the instance id its fires start under) and takes those
//! of adopted partitions over (`service/owned.rs`).

mod handle;
pub(crate) mod service;
pub(crate) mod spec;

use crate::definitions::ProcessDef;
use crate::error::RuntimeResult;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use tokio::sync::oneshot;
use windlass_model::OverlapPolicy;
use windlass_store_api::InstanceId;
use windlass_types::Timestamp;

/// A schedule as [`RuntimeHandle::schedules`](crate::RuntimeHandle::schedules)
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInfo {
    /// `{processId}/{startEventId}`, or `{processId}/cron/{message}` for a
    /// `windlass:cron` source.
    pub id: String,
    /// The process whose latest version it starts.
    pub process_id: String,
    /// The timer start event it starts at (`None` for a cron source).
    pub start_event: Option<String>,
    /// The message it publishes (a cron source; `None` otherwise).
    pub message: Option<String>,
    /// When it fires, as written (`cron 0 3 * * * in Europe/Berlin`,
    /// `cycle R3/PT1M`, `date 2026-…`, `duration PT1H`).
    pub timing: String,
    /// Its overlap policy.
    pub overlap: OverlapPolicy,
    /// Paused: it does not fire until unpaused.
    pub paused: bool,
    /// When it fires next (`None`: never again).
    pub next_fire_at: Option<Timestamp>,
    /// The scheduled time of its last fire.
    pub last_fire_at: Option<Timestamp>,
    /// Fires waiting for the running instance to finish.
    pub buffered: usize,
    /// Occurrences skipped since this runtime started (missed beyond the
    /// catch-up window, or several missed occurrences of which one fired).
    pub skipped: u64,
}

/// What the schedule service receives.
pub(crate) enum ScheduleMsg {
    /// Definitions deployed at `now` (the latest versions of their
    /// processes): their schedules replace the process's rows. Answered
    /// once committed.
    Deployed {
        defs: Vec<Arc<ProcessDef>>,
        now: Timestamp,
        reply: oneshot::Sender<RuntimeResult<()>>,
    },
    /// A run of a watched instance id finished (committed).
    Finished(InstanceId),
    /// List every schedule.
    List(oneshot::Sender<Vec<ScheduleInfo>>),
    /// The runtime adopted `partitions` (a node taking over): hold and
    /// arm their schedules. Answered with how many were taken.
    Adopt {
        partitions: windlass_store_api::PartitionSet,
        reply: oneshot::Sender<RuntimeResult<usize>>,
    },
    /// The runtime gives `partitions` up (a node rebalancing): let go of
    /// their schedules, whose rows the next owner reads. Answered with how
    /// many were let go.
    Release {
        partitions: windlass_store_api::PartitionSet,
        reply: oneshot::Sender<usize>,
    },
    /// Pause or unpause a schedule (committed when answered).
    Pause {
        id: String,
        paused: bool,
        reply: oneshot::Sender<RuntimeResult<()>>,
    },
    /// Fire a schedule now (its overlap policy applies).
    Trigger {
        id: String,
        reply: oneshot::Sender<RuntimeResult<()>>,
    },
    /// The next `n` fire times of a schedule.
    NextTimes {
        id: String,
        n: usize,
        reply: oneshot::Sender<RuntimeResult<Vec<Timestamp>>>,
    },
}

/// The instance ids whose finished runs the schedule service waits for
/// (buffered fires). Shards ask on every finished instance, so the empty
/// case is one uncontended read lock.
#[derive(Debug, Default)]
pub(crate) struct Watched(RwLock<HashSet<String>>);

impl Watched {
    /// True when the service waits for runs of `id` to finish.
    pub fn wants(&self, id: &InstanceId) -> bool {
        self.0
            .read()
            .map(|s| !s.is_empty() && s.contains(id.as_str()))
            .unwrap_or(false)
    }

    fn insert(&self, id: &str) {
        if let Ok(mut s) = self.0.write() {
            s.insert(id.to_string());
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut s) = self.0.write() {
            s.remove(id);
        }
    }
}
