//! Giving partitions up while running: a node handing partitions to
//! another (rebalancing) lets go of their instances and schedules first
//! and only then releases them in the store, so nobody else may serve them
//! while this runtime still acts on them.
//!
//! In order: requests for their instances are refused from then on
//! ([`RuntimeError::NotOwner`], so callers go to the next owner); each
//! shard lets go of their instances after committing the group it is
//! building (`shard/release.rs`: their handlers and remote workers' jobs
//! are cancelled, their rows stay pending for the next owner, which runs
//! them again as after a takeover); the schedule service lets go of their
//! schedules; the delivery task stops counting them as local
//! (`deliveries.rs`). The caller then releases them in the store
//! (`PgStore::release_partitions`), whose fence refuses any later batch
//! touching them.

use crate::error::{RuntimeError, RuntimeResult};
use crate::runtime::RuntimeHandle;
use crate::shard::msg::ShardMsg;
use tokio::sync::oneshot;
use windlass_store_api::{PartitionSet, Store};

/// What giving partitions up let go of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseReport {
    /// The partitions given up (those asked for that were served).
    pub partitions: PartitionSet,
    /// Unfinished instances let go.
    pub instances: usize,
    /// Schedules let go.
    pub schedules: usize,
}

impl<S: Store> RuntimeHandle<S> {
    /// Stops serving `partitions` (those of them served): their instances
    /// and schedules are let go once the work under way on them is
    /// committed. Call it before giving them up in the store, never after:
    /// once this returns, this runtime writes nothing about them.
    ///
    /// Refused ([`RuntimeError::Partitioned`]) on the single node of its
    /// store, which serves every partition for good.
    pub async fn release(&self, partitions: PartitionSet) -> RuntimeResult<ReleaseReport> {
        let shared = self.open()?;
        if shared.served.is_single() {
            return Err(RuntimeError::Partitioned {
                what: "giving partitions up (this runtime is the single node of its store)".into(),
                served: shared.served.get().to_string(),
            });
        }
        let _one = self.inner.adopt_lock.lock().await;
        let gone = partitions.intersection(&shared.served.get());
        if gone.is_empty() {
            return Ok(ReleaseReport::default());
        }
        let served = shared.served.remove(&gone);
        let mut replies = Vec::with_capacity(shared.intake.len());
        for intake in &shared.intake {
            let (reply, rx) = oneshot::channel();
            let msg = ShardMsg::Release {
                partitions: gone,
                reply,
            };
            intake
                .send(msg)
                .await
                .map_err(|_| RuntimeError::ShuttingDown)?;
            replies.push(rx);
        }
        let mut instances = 0;
        for rx in replies {
            instances += rx.await.map_err(|_| RuntimeError::ShuttingDown)?;
        }
        let (reply, rx) = oneshot::channel();
        let msg = crate::schedules::ScheduleMsg::Release {
            partitions: gone,
            reply,
        };
        shared
            .schedules
            .send(msg)
            .map_err(|_| RuntimeError::ShuttingDown)?;
        let schedules = rx.await.map_err(|_| RuntimeError::ShuttingDown)?;
        if let Some(tx) = &shared.deliveries {
            let (reply, rx) = oneshot::channel();
            tx.send(crate::deliveries::DeliveryMsg::Releasing {
                partitions: gone,
                reply,
            })
            .map_err(|_| RuntimeError::ShuttingDown)?;
            let set_aside = rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
            tracing::debug!(set_aside, "deliveries of the released partitions set aside");
        }
        tracing::info!(released = %gone, %served, instances, schedules, "partitions released");
        Ok(ReleaseReport {
            partitions: gone,
            instances,
            schedules,
        })
    }
}
