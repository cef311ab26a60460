//! Deliveries from other nodes: on a runtime serving some partitions
//! (`partitions.rs`), the call-activity rows other nodes' instances sent to
//! this node's instances — a child to start or terminate, a child's notice
//! or escalation for its parent (`outbox/delivery.rs`) — and the parts of
//! broadcast signals for this node's partitions, whichever node (this one
//! included) broadcast them (`outbox/signal_to.rs`). The sender commits
//! the row with its events and leaves it (`Shared::route_delivery`); this
//! task finds it among the pending outbox rows of the served partitions and
//! hands it to the target's shard, which takes it as recovery would
//! (`ShardMsg::Dispatch`) and consumes it in the commit that acts on it.
//!
//! It looks when woken (`RuntimeOptions::delivery_wake`: with PostgreSQL
//! the node's `LISTEN` for wake-ups sent inside the sender's transaction)
//! and every `RuntimeOptions::delivery_poll` in any case, since a wake-up
//! can be lost with its session. At each poll it also reads the latest
//! version of every process (`DefinitionRead::latest_definitions`), so a
//! version deployed through another node is started here from then on.
//!
//! **Each row once.** A row is taken here only when its sender is outside
//! `local`: the partitions this runtime served at start, grown by each
//! adoption. A sender inside `local` is this runtime's own instance, whose
//! shard routed the delivery in memory, or one recovery re-dispatches.
//! Rows handed out are remembered until they leave the outbox. When
//! partitions are about to be adopted ([`DeliveryMsg::Adopting`]), the rows
//! their old owner sent to partitions served already are taken first (that
//! owner is fenced by then, so it sends no more), and only then do those
//! partitions count as local. When partitions are given up
//! ([`DeliveryMsg::Releasing`]), the rows their instances sent to
//! partitions still served (routed in memory) count as handed out, and
//! only then do those partitions stop counting as local.

use crate::error::{RuntimeError, RuntimeResult};
use crate::outbox::delivery::{DELIVERY_KINDS, delivery_source, is_signal_to};
use crate::recovery::dispatch_order;
use crate::shard::msg::ShardMsg;
use crate::shared::Shared;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use windlass_store_api::{OutboxRow, Partition, PartitionSet, Store};

/// What the delivery task receives.
pub(crate) enum DeliveryMsg {
    /// `partitions` are about to be adopted: take what their old owner
    /// sent to partitions served already, then count them as local.
    /// Answered with how many rows were taken.
    Adopting {
        partitions: PartitionSet,
        reply: oneshot::Sender<RuntimeResult<usize>>,
    },
    /// `partitions` were given up (their instances let go by the shards):
    /// what they sent to partitions still served is the shards' already;
    /// from now on their senders are another node's. Answered with how
    /// many rows were set aside.
    Releasing {
        partitions: PartitionSet,
        reply: oneshot::Sender<RuntimeResult<usize>>,
    },
    /// Look now: this node committed rows for its own partitions (a
    /// broadcast's parts), which its store sends no wake-up for.
    Look,
}

/// True when `row` is a delivery whose sender is outside `local`, or a
/// broadcast's part for one partition (sent by no instance: always taken
/// here, never routed in memory nor re-dispatched by recovery on a node).
pub(crate) fn sent_from_outside(row: &OutboxRow, local: &PartitionSet) -> bool {
    is_signal_to(row)
        || delivery_source(row).is_some_and(|id| !local.contains(Partition::of_instance(id)))
}

/// The delivery task's state.
pub(crate) struct Deliveries<S> {
    shared: Arc<Shared<S>>,
    /// The partitions whose senders are this runtime's own.
    local: PartitionSet,
    /// Keys of rows handed to shards and still pending.
    handed: HashSet<String>,
    poll: Duration,
    wake: Option<Arc<Notify>>,
}

impl<S: Store> Deliveries<S> {
    /// The task of a runtime that started serving `local`.
    pub fn new(
        shared: Arc<Shared<S>>,
        local: PartitionSet,
        poll: Duration,
        wake: Option<Arc<Notify>>,
    ) -> Self {
        Deliveries {
            shared,
            local,
            handed: HashSet::new(),
            poll,
            wake,
        }
    }

    /// Looks for deliveries until cancelled.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<DeliveryMsg>,
        cancel: CancellationToken,
    ) {
        let wake = self.wake.clone();
        let mut ticks = tokio::time::interval(self.poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let woken = async {
                match &wake {
                    Some(w) => w.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                msg = rx.recv() => match msg {
                    Some(DeliveryMsg::Adopting { partitions, reply }) => {
                        let _ = reply.send(self.adopting(&partitions).await);
                    }
                    Some(DeliveryMsg::Releasing { partitions, reply }) => {
                        let _ = reply.send(self.releasing(&partitions).await);
                    }
                    Some(DeliveryMsg::Look) => self.look().await,
                    None => break,
                },
                _ = woken => self.look().await,
                _ = ticks.tick() => {
                    self.look().await;
                    self.refresh_latest().await;
                }
            }
        }
    }

    /// Hands out the pending deliveries to served partitions whose senders
    /// are not local and that were not handed out yet.
    async fn look(&mut self) {
        let rows = match self.pending().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("deliveries not read (read again at the next look): {e}");
                return;
            }
        };
        let pending: HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        self.handed.retain(|k| pending.contains(k.as_str()));
        let local = self.local;
        let new: Vec<OutboxRow> = rows
            .into_iter()
            .filter(|r| sent_from_outside(r, &local) && !self.handed.contains(&r.key))
            .collect();
        self.hand_out(new);
    }

    /// The pending deliveries (and broadcast parts) to the partitions
    /// served now.
    async fn pending(&self) -> Result<Vec<OutboxRow>, windlass_store_api::StoreError> {
        let served = self.shared.served.get();
        self.shared
            .store
            .pending_outbox_of_kinds_in(&served, &DELIVERY_KINDS)
            .await
    }

    /// Reads the latest version of every process and takes those newer
    /// than the ones this node knows: another node deployed them, and
    /// starts and call activities by process id run the latest version.
    async fn refresh_latest(&mut self) {
        match self.shared.store.latest_definitions().await {
            Ok(latest) => {
                let newer = self.shared.cache.note_latest(&latest);
                if newer > 0 {
                    tracing::debug!(newer, "versions deployed through other nodes seen");
                }
            }
            Err(e) => tracing::warn!("latest versions not read (read again at the next look): {e}"),
        }
    }

    /// Partitions `adopted` are about to be adopted: hands out what they
    /// sent to partitions served now, then counts them as local.
    async fn adopting(&mut self, adopted: &PartitionSet) -> RuntimeResult<usize> {
        let rows = self.pending().await?;
        let new: Vec<OutboxRow> = rows
            .into_iter()
            .filter(|r| {
                delivery_source(r).is_some_and(|id| adopted.contains(Partition::of_instance(id)))
                    && !self.handed.contains(&r.key)
            })
            .collect();
        let n = self.hand_out(new);
        self.local = self.local.union(adopted);
        Ok(n)
    }

    /// Partitions `released` were given up, their instances let go: the
    /// rows those instances sent to partitions still served went to the
    /// targets' shards in memory, so they count as handed out; then the
    /// partitions stop counting as local (their next owner's rows are
    /// taken from the store). Rows to the released partitions leave the
    /// handed-out set at the next look (only served partitions are read).
    async fn releasing(&mut self, released: &PartitionSet) -> RuntimeResult<usize> {
        let rows = self.pending().await?;
        let local = self.local;
        let mut n = 0;
        for r in rows {
            let own = delivery_source(&r)
                .is_some_and(|id| released.has_instance(id) && local.has_instance(id));
            if own && self.handed.insert(r.key) {
                n += 1;
            }
        }
        self.local = self.local.difference(released);
        Ok(n)
    }

    /// Sends `rows` to their targets' shards, in dispatch order.
    fn hand_out(&mut self, rows: Vec<OutboxRow>) -> usize {
        let mut n = 0;
        for row in dispatch_order(rows) {
            let Some(target) = row.instance.clone() else {
                continue;
            };
            let key = row.key.clone();
            if self.shared.route(&target.id, ShardMsg::Dispatch(row)) {
                tracing::debug!(%target, key, "delivery from another node taken");
                self.handed.insert(key);
                n += 1;
            }
        }
        n
    }
}

impl<S: Store> crate::RuntimeHandle<S> {
    /// Tells the delivery task (on a node) that `partitions` are about to
    /// be adopted; nothing on the single node of its store.
    pub(crate) async fn deliveries_adopting(&self, partitions: PartitionSet) -> RuntimeResult<()> {
        let shared = self.open()?;
        let Some(tx) = &shared.deliveries else {
            return Ok(());
        };
        let (reply, rx) = oneshot::channel();
        tx.send(DeliveryMsg::Adopting { partitions, reply })
            .map_err(|_| RuntimeError::ShuttingDown)?;
        let taken = rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
        tracing::debug!(taken, "deliveries sent by the adopted partitions taken");
        Ok(())
    }
}
