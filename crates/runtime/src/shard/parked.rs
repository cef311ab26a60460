//! Work held for suspended instances. A suspended instance gets no job
//! dispatched and no timer fired: the engine holds the jobs it decides
//! while suspended (and asks for them on resume), and the shard parks here
//! what reaches dispatch anyway — a job decided before the suspend in the
//! same group, a retry whose backoff ended (`Input::Due`), a recovered
//! outbox row — and every timer that comes due. After the commit that
//! resumes the instance, its parked jobs are dispatched (each checked open
//! again) and its parked timers queued to fire. Parked work lives in
//! memory only: after a restart, recovery dispatches the pending rows and
//! arms the timers again, and they are parked again while the history still
//! says suspended.

use super::Shard;
use super::msg::Input;
use windlass_engine::JobRequest;
use windlass_engine::ids::SubId;
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Timestamp;

/// One piece of held work.
pub(crate) enum Parked {
    /// A job that would have been dispatched.
    Job {
        request: Box<JobRequest>,
        /// A recovered (interrupted) job: see `Done::recovered`.
        recovered: bool,
    },
    /// A timer that came due.
    Timer(SubId),
}

impl<S: Store> Shard<S> {
    /// True when `instance` is suspended (its work must be parked).
    pub(super) fn is_suspended(&self, instance: &InstanceRef) -> bool {
        self.slots
            .get(instance)
            .is_some_and(|s| s.state.is_suspended())
    }

    /// Holds `work` of a suspended instance until it is resumed.
    pub(super) fn park(&mut self, instance: &InstanceRef, work: Parked) {
        tracing::debug!(%instance, "held: the instance is suspended");
        self.parked.entry(instance.clone()).or_default().push(work);
    }

    /// After a commit: when `instance` is no longer suspended (resumed, or
    /// finished), its parked work is let go — jobs dispatched, timers
    /// queued to fire — or dropped with a finished instance.
    pub(super) fn release_parked(&mut self, instance: &InstanceRef, now: Timestamp) {
        if self.is_suspended(instance) {
            return;
        }
        let Some(list) = self.parked.remove(instance) else {
            return;
        };
        for work in list {
            match work {
                Parked::Job { request, recovered } => {
                    self.dispatch_job(instance, request, now, recovered);
                }
                Parked::Timer(sub) => self.queue.push_back(Input::Timer {
                    instance: instance.clone(),
                    sub,
                }),
            }
        }
    }
}
