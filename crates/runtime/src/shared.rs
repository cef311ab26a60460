//! What every shard shares: the store, the commit path, the router to the
//! other shards, the definition cache, handlers, clock and listener.

use crate::definitions::DefinitionCache;
use crate::handlers::Handlers;
use crate::options::FinishListener;
use crate::shard::msg::ShardMsg;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use windlass_store_api::{Batch, InstanceId, Store, StoreError};
use windlass_types::{Clock, Partition};

/// A batch handed to the committer with where to send the result.
pub(crate) type CommitRequest = (Batch, oneshot::Sender<CommitResult>);

/// A commit's answer; the error is shared by every shard of a merged batch.
pub(crate) type CommitResult = Result<(), Arc<StoreError>>;

/// How shards commit.
pub(crate) enum CommitPath {
    /// One shard: it commits itself.
    Direct,
    /// Several shards: the committer task merges their batches into one
    /// transaction. Bounded by the shard count: a shard waits for its
    /// commit, so at most one request per shard is ever queued.
    Merged(mpsc::Sender<CommitRequest>),
}

/// The shared context.
pub(crate) struct Shared<S> {
    pub store: Arc<S>,
    /// The shards' internal inboxes (messages between shards).
    pub shards: Vec<mpsc::UnboundedSender<ShardMsg>>,
    /// The shards' bounded intakes (messages from the handle).
    pub intake: Vec<mpsc::Sender<ShardMsg>>,
    pub cache: DefinitionCache,
    pub handlers: Handlers,
    pub clock: Arc<dyn Clock>,
    pub on_finished: Option<FinishListener>,
    pub group_cap: usize,
    /// `RuntimeOptions::transient_retry_window`.
    pub transient_retry_window: std::time::Duration,
    pub commit_path: CommitPath,
    /// Group commits made (from the shards' side).
    pub commits: AtomicU64,
    /// Wall time spent waiting for those commits, nanoseconds.
    pub commit_nanos: AtomicU64,
    /// The error of the last failed group commit (`None` while every
    /// commit succeeded): what `RuntimeHandle::storage_failure` watches.
    pub store_failure: watch::Sender<Option<Arc<StoreError>>>,
    /// The timer services' catch-up window and counters.
    pub timers: crate::timer_stats::TimerShared,
    /// The message correlator's inbox (`messages/service.rs`).
    pub correlator: mpsc::UnboundedSender<crate::messages::ServiceMsg>,
    /// The publisher of thrown messages (`publisher.rs`).
    pub publisher: mpsc::UnboundedSender<crate::publisher::Publish>,
    /// The dedup owner's inbox (`dedup/service.rs`).
    pub dedup: mpsc::UnboundedSender<crate::dedup::DedupMsg>,
    /// The deployed sources outside the runtime (`sources.rs`).
    pub sources: crate::sources::SourceBook,
    /// The schedule service's inbox (`schedules/service.rs`).
    pub schedules: mpsc::UnboundedSender<crate::schedules::ScheduleMsg>,
    /// The instance ids whose finished runs the schedule service waits for.
    pub schedule_watch: crate::schedules::Watched,
    /// Messages the correlator holds buffered (set after each round).
    pub messages_buffered: AtomicU64,
    /// The instance partitions served (`partitions.rs`).
    pub served: crate::partitions::Served,
    /// The delivery task's inbox on a node (`deliveries.rs`); `None` on
    /// the single node of its store.
    pub deliveries: Option<mpsc::UnboundedSender<crate::deliveries::DeliveryMsg>>,
    /// `RuntimeOptions::delivery_poll`.
    pub delivery_poll: Duration,
}

/// How much time the shards spent committing (see
/// `RuntimeHandle::commit_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitStats {
    /// Group commits made.
    pub commits: u64,
    /// Wall time from handing a batch to the store to its answer, summed
    /// over the shards (with several shards these overlap).
    pub time: Duration,
}

/// The shard an instance id belongs to: the shard serving its partition
/// ([`Partition::of_instance`], `partition % shards`), so all runs of one
/// instance id live on the same shard and the assignment is specified over
/// bytes (see `windlass_types::partition`).
pub(crate) fn shard_of(id: &InstanceId, shards: usize) -> usize {
    Partition::of_instance(&id.0).shard(shards)
}

impl<S: Store> Shared<S> {
    /// Sends `msg` to the shard owning `id`; false if that shard has stopped
    /// (the work stays in the outbox for the next start).
    pub fn route(&self, id: &InstanceId, msg: ShardMsg) -> bool {
        let i = shard_of(id, self.shards.len());
        self.shards.get(i).is_some_and(|s| s.send(msg).is_ok())
    }

    /// Sends a delivery between instances (a call activity's child start or
    /// termination, a child's notice or escalation; its outbox row is
    /// committed with the sender's events) to the shard owning `id` when
    /// this runtime serves `id`'s partition. Otherwise the row waits for the
    /// node serving it, which takes it from the store (`deliveries.rs`), and
    /// this answers true: nothing is lost.
    pub fn route_delivery(&self, id: &InstanceId, msg: ShardMsg) -> bool {
        if self.served.serves(id.as_str()) {
            self.route(id, msg)
        } else {
            tracing::debug!(instance = %id, "delivery left in the outbox for the node serving it");
            true
        }
    }

    /// Sends `msg` from the handle to the shard owning `id`, waiting while
    /// that shard's intake is full (back-pressure); false if it stopped.
    pub async fn submit(&self, id: &InstanceId, msg: ShardMsg) -> bool {
        let i = shard_of(id, self.intake.len());
        match self.intake.get(i) {
            Some(tx) => tx.send(msg).await.is_ok(),
            None => false,
        }
    }

    /// Tells the message correlator `msg`; dropped once it has stopped
    /// (shutdown: everything it knows is rebuilt at the next start).
    pub fn tell_correlator(&self, msg: crate::messages::ServiceMsg) {
        let _ = self.correlator.send(msg);
    }

    /// Tells the dedup owner `msg`; dropped once it has stopped (shutdown:
    /// claims are announced again and releases re-derived at the next
    /// start).
    pub fn tell_dedup(&self, msg: crate::dedup::DedupMsg) {
        let _ = self.dedup.send(msg);
    }

    /// Commits one shard's batch, directly or through the committer.
    pub async fn commit(&self, batch: Batch) -> CommitResult {
        let t0 = Instant::now();
        let events = batch.event_count();
        let created = crate::metrics::creations(&batch);
        let result = self.commit_inner(batch).await;
        let elapsed = t0.elapsed();
        crate::metrics::commit(events, elapsed.as_secs_f64(), result.is_ok());
        if result.is_ok() {
            crate::metrics::started(created);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_nanos.fetch_add(nanos, Ordering::Relaxed);
        result
    }

    /// Records a failed group commit for `RuntimeHandle::storage_failure`.
    pub fn commit_failed(&self, err: &Arc<StoreError>) {
        self.store_failure.send_replace(Some(err.clone()));
    }

    /// Commit counters so far.
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            commits: self.commits.load(Ordering::Relaxed),
            time: Duration::from_nanos(self.commit_nanos.load(Ordering::Relaxed)),
        }
    }

    async fn commit_inner(&self, batch: Batch) -> CommitResult {
        match &self.commit_path {
            CommitPath::Direct => self.store.commit(batch).await.map_err(Arc::new),
            CommitPath::Merged(tx) => {
                let closed = || Arc::new(StoreError::Closed);
                let (reply, rx) = oneshot::channel();
                tx.send((batch, reply)).await.map_err(|_| closed())?;
                rx.await.map_err(|_| closed())?
            }
        }
    }
}

/// The committer task: takes every batch queued by the shards, merges them
/// into one, commits it as one transaction and answers each shard. Ends
/// when every shard has dropped its sender.
pub(crate) async fn committer<S: Store>(store: Arc<S>, mut rx: mpsc::Receiver<CommitRequest>) {
    let mut replies = Vec::new();
    let mut shapes = Vec::new();
    while let Some((first, reply)) = rx.recv().await {
        let mut batch = first;
        shapes.push(batch.shape());
        replies.push(reply);
        while let Ok((more, reply)) = rx.try_recv() {
            shapes.push(more.shape());
            batch.merge(more);
            replies.push(reply);
        }
        // Kept to retry part by part (a copy of the group's rows: small
        // beside the fsync it waits for).
        let kept = (replies.len() > 1).then(|| batch.clone());
        let result = store.commit(batch).await.map_err(Arc::new);
        match (result, kept) {
            // One shard's unit contradicted the store (or was malformed):
            // the merged transaction wrote nothing. Each shard's batch is
            // committed on its own, so only the culprit's shard fails (an
            // instance's failure never fails another's commit).
            (Err(e), Some(merged)) if per_unit(&e) => {
                for (part, r) in merged.split(&shapes).into_iter().zip(replies.drain(..)) {
                    let _ = r.send(store.commit(part).await.map_err(Arc::new));
                }
            }
            (result, _) => {
                for r in replies.drain(..) {
                    let _ = r.send(result.clone());
                }
            }
        }
        shapes.clear();
    }
}

/// Whether a failed merged commit is one unit's fault (a conflict with the
/// stored rows, a malformed operation), so its parts may succeed alone.
fn per_unit(e: &StoreError) -> bool {
    e.class() == windlass_store_api::ErrorClass::Conflict || matches!(e, StoreError::Invalid(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharding_follows_the_partition() {
        let id = InstanceId::new("order-17");
        // `order-17` is partition 0x3b = 59 (a fixed vector of the mapping).
        assert_eq!(Partition::of_instance("order-17"), Partition(59));
        assert_eq!(shard_of(&id, 4), 59 % 4);
        assert_eq!(shard_of(&id, 7), 59 % 7);
        assert_eq!(shard_of(&id, 1), 0);
        let mut seen = [0usize; 4];
        for i in 0..400 {
            seen[shard_of(&InstanceId::new(format!("i{i}")), 4)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
    }
}
