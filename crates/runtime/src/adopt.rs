//! Adopting partitions while running: a node that took over a dead node's
//! partitions in the store (`PgStore::claim_partitions`) hands them to its
//! runtime, which recovers their unfinished instances onto its shards
//! (timers armed, pending jobs and notices re-dispatched) exactly as a
//! start recovers its own, takes their schedules over (held and armed
//! from their rows as last committed), and serves them from then on.

use crate::error::{RuntimeError, RuntimeResult};
use crate::recovery::{RecoveryReport, recover};
use crate::runtime::RuntimeHandle;
use crate::shard::msg::{Adopted, ShardMsg};
use tokio::sync::oneshot;
use windlass_store_api::{PartitionSet, Store};

impl<S: Store> RuntimeHandle<S> {
    /// Serves `partitions` as well as those served so far, and returns what
    /// was taken over (instances resumed, outbox rows re-dispatched, and
    /// the instances skipped, with why: as at start, an instance whose
    /// definition needs the single node of its store stays in the store
    /// untouched, its outbox rows pending).
    ///
    /// Call it once this node owns `partitions` in the store, never
    /// before: the instances are read then, and nobody else may write them
    /// from then on. Partitions already served are left as they are.
    /// Requests for the adopted instances are refused
    /// ([`RuntimeError::NotOwner`]) until their instances have joined the
    /// shards, then served in order behind them.
    pub async fn adopt(&self, partitions: PartitionSet) -> RuntimeResult<RecoveryReport> {
        let shared = self.open()?;
        let _one = self.inner.adopt_lock.lock().await;
        let new = partitions.difference(&shared.served.get());
        if new.is_empty() {
            return Ok(RecoveryReport::default());
        }
        // What the old owner sent to partitions served already goes first,
        // while its instances are nobody's here yet (`deliveries.rs`).
        self.deliveries_adopting(new).await?;
        let shards = shared.intake.len();
        let single = shared.served.is_single();
        let local = shared.served.get().union(&new);
        let recovered = recover(
            shared.store.as_ref(),
            &shared.cache,
            shards,
            true,
            &new,
            single,
            &local,
        )
        .await?;
        // Broadcast markers go to the publisher at start only; a node
        // serving some partitions throws no signals.
        let mut joined = Vec::with_capacity(shards);
        let parts = recovered.slots.into_iter().zip(recovered.queues);
        for ((slots, queue), intake) in parts.zip(&shared.intake) {
            let (reply, rx) = oneshot::channel();
            let msg = ShardMsg::Adopt(Box::new(Adopted {
                partitions: new,
                slots,
                queue,
                reply,
            }));
            intake
                .send(msg)
                .await
                .map_err(|_| RuntimeError::ShuttingDown)?;
            joined.push(rx);
        }
        for rx in joined {
            rx.await.map_err(|_| RuntimeError::ShuttingDown)?;
        }
        let served = shared.served.add(&new);
        // Their schedules, once their instance ids are served (a fire
        // starts under the schedule's id).
        let (reply, rx) = oneshot::channel();
        let msg = crate::schedules::ScheduleMsg::Adopt {
            partitions: new,
            reply,
        };
        shared
            .schedules
            .send(msg)
            .map_err(|_| RuntimeError::ShuttingDown)?;
        let schedules = rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
        tracing::info!(
            adopted = %new,
            %served,
            instances = recovered.report.instances,
            outbox_rows = recovered.report.outbox_rows,
            schedules,
            "partitions adopted"
        );
        Ok(recovered.report)
    }

    /// The instance partitions this runtime serves now
    /// ([`RuntimeOptions::partitions`](crate::RuntimeOptions::partitions)
    /// and those adopted since).
    pub fn partitions(&self) -> PartitionSet {
        match self.open() {
            Ok(shared) => shared.served.get(),
            Err(_) => PartitionSet::none(),
        }
    }
}
