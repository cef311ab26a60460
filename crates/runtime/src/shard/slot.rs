//! A live instance as its shard holds it.

use crate::definitions::ProcessDef;
use std::collections::HashMap;
use std::sync::Arc;
use windlass_engine::InstanceState;
use windlass_engine::state::Status;
use windlass_store_api::{InstanceRef, InstanceStatus, StoreError};

/// A fast (per-process seeded, DoS-resistant) hasher for maps keyed by
/// instance: SipHash was a tenth of the hot path.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// A shard's live instances.
pub(crate) type SlotMap = HashMap<InstanceRef, Slot, FastHash>;

/// One live instance.
pub(crate) struct Slot {
    /// The folded state (kept in step with the committed history, plus the
    /// current group's decided events).
    pub state: InstanceState,
    /// Its definition.
    pub def: Arc<ProcessDef>,
    /// The last sequence number in the store (after the current group).
    pub seq: u64,
    /// Work in flight for it: queued handler answers, running handler
    /// futures, retry timers, running children.
    pub inflight: u32,
    /// The calling instance, for children of call activities.
    pub parent: Option<InstanceRef>,
    /// True until its creating commit succeeded.
    pub uncommitted: bool,
    /// The error of its last group commit, when that failed (cleared by the
    /// next good one): its waiters are told instead of left hanging.
    pub store_error: Option<Arc<StoreError>>,
}

impl Slot {
    /// The index status of the state.
    pub fn status(&self) -> InstanceStatus {
        status_of(&self.state)
    }
}

/// The index status of an instance state.
pub(crate) fn status_of(state: &InstanceState) -> InstanceStatus {
    match state.status {
        Status::Completed => InstanceStatus::Completed,
        Status::Failed { .. } => InstanceStatus::Failed,
        Status::Terminated { .. } => InstanceStatus::Terminated,
        Status::Cancelled { .. } => InstanceStatus::Cancelled,
        Status::Superseded { .. } => InstanceStatus::Superseded,
        Status::New | Status::Running => {
            if state.incidents().next().is_some() {
                InstanceStatus::Incident
            } else {
                InstanceStatus::Running
            }
        }
    }
}
