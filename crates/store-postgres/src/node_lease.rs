//! Partitioned ownership: several processes ("nodes") write one database
//! at once, each the partitions it owns. Two tables (schema version 4):
//!
//! - `windlass_nodes`: one lease per node name, like the database lease
//!   (`lease.rs`): judged by the database's clock, renewed on a session of
//!   its own every third of its duration, with an epoch that grows with
//!   every join. A name whose lease is live cannot join twice.
//! - `windlass_partition_owners`: which node (at which of its epochs) owns
//!   each [`Partition`](windlass_store_api::Partition), with a per-partition epoch that grows with every
//!   change of owner.
//!
//! **Claiming** ([`NodeLease::claim`]) first moves on the epoch of every
//! dead node (lease expired by `now()`, or its session gone) that owns a
//! wanted partition, then takes the wanted partitions nobody owns or whose
//! owner's epoch moved on since it claimed them (fenced so, or rejoined).
//! Moving the epoch waits for the batches that node has in flight (they
//! hold its row `FOR SHARE`), and every later batch of it is refused:
//! **fencing** is per node, one row read per batch as with the database
//! lease, and a paused node that resumes writes nothing once any of its
//! partitions was taken. A live owner's partitions are never taken; giving
//! them up is its own decision ([`NodeLease::release`]), which waits for
//! its batches in flight that were checked against them.
//!
//! Batches are also checked before they are sent: a create or append of an
//! instance, a timer of one or an update of its outbox row outside the
//! partitions this node owns is refused without a round trip. Inserting an
//! outbox row for another partition's instance is allowed: it is a
//! delivery to that partition's owner, woken by `NOTIFY` (`wake.rs`).
//! A schedule row is checked likewise, by its id's partition. (Buffered
//! messages and dedup entries are not checked: which node owns them is not
//! yet decided by partition; see `docs/postgres.md`.)
//!
//! **Exclusion with the database lease.** Joining, claiming and taking the
//! database lease each run in a transaction under one advisory lock. A
//! node cannot join while a single writer holds the database lease (and
//! moves a dead holder's epoch on, fencing it); the database lease cannot
//! be taken while a node's lease is live (and fences the dead nodes and
//! clears the owners table).

use crate::batch_ops::{Check, Op};
use crate::convert::partition_columns;
use crate::errors::map_pg;
use crate::holding::Holding;
use crate::lease::{self, LeaseOptions, LeaseState, Renewable, renew_loop};
use crate::tls::Dial;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_postgres::Client;
use windlass_store_api::{
    Batch, OutboxChange, ScheduleChange, StoreError, StoreResult, TimerChange,
};
use windlass_store_api::{Partition, PartitionSet};

/// The advisory lock joining, claiming and taking the database lease hold
/// ("WNDO" in ASCII): none of them sees a half-done other.
const OWNERSHIP_LOCK: i64 = 0x574E_444F;

/// Takes [`OWNERSHIP_LOCK`] for the rest of `tx`.
pub(crate) async fn lock_ownership(
    tx: &tokio_postgres::Transaction<'_>,
    target: &str,
) -> StoreResult<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&OWNERSHIP_LOCK])
        .await
        .map_err(|e| map_pg(e, target))?;
    Ok(())
}

/// Whether node `n`'s lease is live: not expired, and its session alive
/// — unless the server started after the node last renewed: a restart
/// ended every session at once, so a gone session says nothing about the
/// node, which keeps its lease until it expires (it renews from a new
/// session meanwhile, and nodes do not take each other's partitions over
/// because the database restarted).
pub(crate) const LIVE: &str = "(n.expires_at > now() AND (n.renewed_at < pg_postmaster_start_time()
     OR EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = n.backend_pid)))";

fn join_sql() -> String {
    format!(
        "INSERT INTO windlass_nodes AS n (node, address, epoch, backend_pid, joined_at,
             renewed_at, expires_at)
         VALUES ($1, $2, 1, pg_backend_pid(), now(), now(), now() + make_interval(secs => $3))
         ON CONFLICT (node) DO UPDATE SET address = EXCLUDED.address, epoch = n.epoch + 1,
             backend_pid = EXCLUDED.backend_pid, joined_at = now(), renewed_at = now(),
             expires_at = EXCLUDED.expires_at
         WHERE NOT {LIVE}
         RETURNING epoch"
    )
}

const RENEW: &str = "UPDATE windlass_nodes SET renewed_at = now(),
         expires_at = now() + make_interval(secs => $3), backend_pid = pg_backend_pid()
     WHERE node = $1 AND epoch = $2 RETURNING epoch";

/// Moves the epoch of every dead node owning one of the partitions `$1`
/// (other than `$2`) on: they are fenced before their partitions move.
fn fence_dead_owners_sql() -> String {
    format!(
        "UPDATE windlass_nodes n SET epoch = n.epoch + 1, expires_at = LEAST(n.expires_at, now())
         WHERE n.node <> $2 AND NOT {LIVE}
           AND n.node IN (SELECT o.node FROM windlass_partition_owners o
                          WHERE o.partition = ANY($1) AND o.node_epoch = n.epoch)"
    )
}

/// Takes the partitions `$1` nobody owns or whose owner's epoch moved on
/// since it claimed them (it was fenced by the statement before, or
/// rejoined), for node `$2` at epoch `$3`. A partition of a node whose
/// lease lapsed only after that statement keeps its owner: taking it
/// without fencing the owner first would let it write on.
const CLAIM: &str = "INSERT INTO windlass_partition_owners AS o (partition, node, node_epoch,
         epoch, assigned_at)
     SELECT p, $2, $3, 1, now() FROM unnest($1::smallint[]) AS p
     ON CONFLICT (partition) DO UPDATE SET node = EXCLUDED.node,
         node_epoch = EXCLUDED.node_epoch, epoch = o.epoch + 1, assigned_at = now()
     WHERE NOT EXISTS (SELECT 1 FROM windlass_nodes n
                       WHERE n.node = o.node AND n.epoch = o.node_epoch)";

const OWNED: &str = "SELECT partition FROM windlass_partition_owners
     WHERE node = $1 AND node_epoch = $2 ORDER BY partition";

/// Gives partitions up. (Nothing is announced: a node wanting them
/// claims again, as the balancing that comes with the runtime will.)
const RELEASE: &str = "DELETE FROM windlass_partition_owners
     WHERE partition = ANY($1) AND node = $2 AND node_epoch = $3";

const LEAVE: &str = "UPDATE windlass_nodes SET expires_at = now(), renewed_at = now()
     WHERE node = $1 AND epoch = $2";

/// The read every batch of a node starts with.
const FENCE: &str = "SELECT epoch, node, address FROM windlass_nodes WHERE node = $1 FOR SHARE";

/// A joined node: its epoch, the partitions it owns, its state, and the
/// task renewing its lease (stopped when dropped, which ends its session).
pub(crate) struct NodeLease {
    dial: Dial,
    /// `owner` is the node's name.
    options: LeaseOptions,
    epoch: i64,
    owned: Mutex<PartitionSet>,
    /// Held (shared) by every batch from its ownership check to its
    /// commit; a release takes it alone after shrinking `owned`, so no
    /// batch checked against the old set is still in flight when the
    /// partitions are given up.
    in_flight: tokio::sync::RwLock<()>,
    holding: Holding,
}

impl NodeLease {
    /// Joins as `options.owner`, owning no partition yet; fails with
    /// [`StoreError::InUse`] while the database lease is held or the name
    /// is live elsewhere.
    pub(crate) async fn join(
        dial: Dial,
        target: &str,
        options: LeaseOptions,
    ) -> StoreResult<Arc<NodeLease>> {
        let pg = |e| map_pg(e, target);
        let mut client = dial.session(target, |_| true).await?;
        let tx = client.transaction().await.map_err(pg)?;
        lock_ownership(&tx, target).await?;
        if let Some(single) = lease::holder(&tx, lease::PARTITION, target).await?
            && single.live
        {
            return Err(StoreError::InUse {
                path: target.to_string(),
                holder: format!("the single writer {single}"),
            });
        }
        // A dead single writer may be paused, not gone: fence it.
        tx.execute(
            lease::FENCE_OUT,
            &[&lease::PARTITION, &"partitioned ownership"],
        )
        .await
        .map_err(pg)?;
        let secs = options.duration.as_secs_f64();
        let row = tx
            .query_opt(
                join_sql().as_str(),
                &[&options.owner, &options.address, &secs],
            )
            .await
            .map_err(pg)?;
        let Some(row) = row else {
            return Err(StoreError::InUse {
                path: target.to_string(),
                holder: format!("another process running as node '{}'", options.owner),
            });
        };
        let epoch: i64 = row.try_get(0).map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let node = Arc::new(NodeLease {
            dial,
            options,
            epoch,
            owned: Mutex::new(PartitionSet::none()),
            in_flight: tokio::sync::RwLock::new(()),
            holding: Holding::new(target, epoch),
        });
        let duration = node.options.duration;
        let task = tokio::spawn(renew_loop(Arc::downgrade(&node), client, duration));
        node.holding.renewed_by(task);
        tracing::info!(epoch, node = %node.options.owner, "joined as a node");
        Ok(node)
    }

    /// Takes those of `wanted` that are free or whose owner is dead (see
    /// the module docs); answers every partition this node owns after it.
    pub(crate) async fn claim(&self, wanted: &PartitionSet) -> StoreResult<PartitionSet> {
        if let Some(refused) = self.refused() {
            return Err(refused);
        }
        let target = self.holding.target();
        let pg = |e| map_pg(e, target);
        let parts = partition_columns(wanted);
        let mut client = self.dial.session(self.holding.target(), |_| true).await?;
        let tx = client.transaction().await.map_err(pg)?;
        lock_ownership(&tx, target).await?;
        tx.execute(
            fence_dead_owners_sql().as_str(),
            &[&parts, &self.options.owner],
        )
        .await
        .map_err(pg)?;
        tx.execute(CLAIM, &[&parts, &self.options.owner, &self.epoch])
            .await
            .map_err(pg)?;
        let rows = tx
            .query(OWNED, &[&self.options.owner, &self.epoch])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let owned: PartitionSet = rows
            .iter()
            .filter_map(|r| r.try_get::<_, i16>(0).ok())
            .filter_map(|p| u16::try_from(p).ok())
            .map(Partition)
            .collect();
        if let Ok(mut slot) = self.owned.lock() {
            *slot = owned;
        }
        tracing::info!(node = %self.options.owner, %owned, "owns partitions");
        Ok(owned)
    }

    /// Gives `partitions` up: batches touching them are refused from now
    /// on, then their rows are deleted (another node may claim them).
    pub(crate) async fn release(&self, partitions: &PartitionSet) -> StoreResult<()> {
        if let Ok(mut slot) = self.owned.lock() {
            *slot = slot.difference(partitions);
        }
        // Batches checked against the old set finish first.
        drop(self.in_flight.write().await);
        let client = self.dial.session(self.holding.target(), |_| true).await?;
        client
            .execute(
                RELEASE,
                &[
                    &partition_columns(partitions),
                    &self.options.owner,
                    &self.epoch,
                ],
            )
            .await
            .map_err(|e| map_pg(e, self.holding.target()))?;
        Ok(())
    }

    /// Releases every partition and expires the node's lease: later
    /// batches are refused.
    pub(crate) async fn leave(&self) -> StoreResult<()> {
        if !self.holding.give_up() {
            return Ok(());
        }
        self.release(&PartitionSet::all()).await?;
        let target = self.holding.target();
        let client = self.dial.session(target, |_| true).await?;
        client
            .execute(LEAVE, &[&self.options.owner, &self.epoch])
            .await
            .map_err(|e| map_pg(e, target))?;
        tracing::info!(node = %self.options.owner, "left");
        Ok(())
    }

    /// The partitions this node owns.
    pub(crate) fn owned(&self) -> PartitionSet {
        self.owned
            .lock()
            .map(|o| *o)
            .unwrap_or_else(|_| PartitionSet::none())
    }

    /// The node's epoch.
    pub(crate) fn epoch(&self) -> i64 {
        self.epoch
    }

    /// A receiver of the lease's state.
    pub(crate) fn watch(&self) -> watch::Receiver<LeaseState> {
        self.holding.watch()
    }

    /// Held by a batch from its ownership check to its commit (see
    /// `in_flight`).
    pub(crate) async fn batch_guard(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.in_flight.read().await
    }

    /// The read every batch starts with.
    pub(crate) fn fence(&self) -> Op {
        Op::new(
            FENCE,
            vec![Box::new(self.options.owner.clone())],
            Check::Fence {
                epoch: self.epoch,
                node: true,
            },
        )
    }

    /// The error for `batch` refused before it is sent: the lease is no
    /// longer held, or it writes an instance's rows outside the partitions
    /// this node owns (outbox inserts excepted: deliveries).
    pub(crate) fn refuse(&self, batch: &Batch) -> Option<StoreError> {
        if let Some(refused) = self.refused() {
            return Some(refused);
        }
        let owned = self.owned();
        let instance = batch
            .creates
            .iter()
            .map(|c| &c.row.instance)
            .chain(batch.appends.iter().map(|a| &a.instance))
            .chain(batch.timers.iter().filter_map(|t| match t {
                TimerChange::Insert(t) => Some(&t.instance),
                TimerChange::Delete(_) => None,
            }))
            .chain(batch.outbox.iter().filter_map(|o| match o {
                OutboxChange::Update(r) => r.instance.as_ref(),
                // Inserting into another partition is a delivery to it
                // (`wake.rs`).
                OutboxChange::Insert(_) | OutboxChange::Complete(_) => None,
            }))
            .find(|i| !owned.contains(i.partition()))
            .map(|i| (format!("instance {i}"), i.partition()));
        // A schedule belongs to its id's partition (the id its fires start
        // instances under).
        let outside = instance.or_else(|| {
            batch
                .schedules
                .iter()
                .map(|c| match c {
                    ScheduleChange::Put(row) => row.id.as_str(),
                    ScheduleChange::Delete(id) => id.as_str(),
                })
                .map(|id| (format!("schedule '{id}'"), Partition::of_instance(id)))
                .find(|(_, p)| !owned.contains(*p))
        })?;
        let (what, partition) = outside;
        Some(StoreError::Fenced {
            path: self.holding.target().to_string(),
            holder: format!(
                "not this node: {what} is in partition {}, which node '{}' does not own (it \
                 owns {owned})",
                partition.0, self.options.owner
            ),
        })
    }

    fn refused(&self) -> Option<StoreError> {
        self.holding.refused("nobody (this node left)")
    }

    /// Records that a batch or renewal found the node fenced.
    pub(crate) fn lost(&self, holder: String) {
        if let Ok(mut slot) = self.owned.lock() {
            *slot = PartitionSet::none();
        }
        if self.holding.lose(holder.clone()) {
            tracing::error!(%holder, node = %self.options.owner, "lost the node's lease");
        }
    }
}

impl Renewable for NodeLease {
    fn dial(&self) -> &Dial {
        &self.dial
    }

    fn target(&self) -> &str {
        self.holding.target()
    }

    async fn renew(&self, client: &Client) -> Result<bool, tokio_postgres::Error> {
        let secs = self.options.duration.as_secs_f64();
        let row = client
            .query_opt(RENEW, &[&self.options.owner, &self.epoch, &secs])
            .await?;
        Ok(row.is_some())
    }

    async fn holder_now(&self, _client: &Client) -> String {
        format!(
            "another node, which took over the partitions of node '{}' (its lease epoch moved on \
             from {})",
            self.options.owner, self.epoch
        )
    }

    fn lost(&self, holder: String) {
        NodeLease::lost(self, holder);
    }
}
