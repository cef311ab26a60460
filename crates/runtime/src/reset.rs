//! Resetting a run to a point of its history ([`RuntimeHandle::reset`]):
//! Temporal's reset, for BPMN runs. The new run starts as the old one was
//! after the chosen event and goes on from there.

use crate::RuntimeHandle;
use crate::error::{RuntimeError, RuntimeResult};
use crate::shard::msg::{ResetMsg, ShardMsg};
use windlass_store_api::{InstanceRef, Store};

/// A request to reset a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRequest {
    /// The run to reset (live or finished; not a call activity's child).
    pub instance: InstanceRef,
    /// The last event of its history the new run carries over (a sequence
    /// number as the history shows it). It must be a point where every
    /// token waits (the last event of a commit is one), before the run
    /// ended.
    pub to_event: u64,
    /// Why, recorded in the new run's `RunReset` event and in the live
    /// run's termination.
    pub reason: String,
    /// Send the signals the run received after the point to the new run,
    /// in the order they came (Temporal reapplies signals the same way).
    pub reapply_signals: bool,
}

impl<S: Store> RuntimeHandle<S> {
    /// Resets a run: a new run of the same instance id is created with
    /// the run's history up to `to_event` (with its original times), the
    /// jobs and call activities open at that point are asked for again
    /// (held, if the instance was suspended there), its timers and
    /// subscriptions open again, and — unless told not to — the signals
    /// received after the point are sent to it. The id's live run, if any
    /// (the reset one or a later one), is terminated in the same commit.
    /// Returns the new run once committed.
    ///
    /// Refused with [`RuntimeError::ResetRefused`] when the point is not in
    /// the history, is at or after the run's end, is inside one decision,
    /// or has a token waiting for a dedup key, and for a call activity's
    /// child (reset its caller instead).
    pub async fn reset(&self, req: ResetRequest) -> RuntimeResult<InstanceRef> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let id = req.instance.id.clone();
        let msg = ShardMsg::Reset(Box::new(ResetMsg {
            instance: req.instance,
            to_event: req.to_event,
            reason: req.reason,
            reapply_signals: req.reapply_signals,
            reply,
        }));
        let shared = self.open()?;
        shared.served.check(&id.0)?;
        if !shared.submit(&id, msg).await {
            return Err(RuntimeError::ShuttingDown);
        }
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }
}
