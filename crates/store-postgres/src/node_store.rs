//! [`PgStore`] as a node under partitioned ownership (`node_lease.rs`):
//! joining, claiming and releasing partitions, leaving, and who owns what.

use crate::errors::map_pg;
use crate::node_lease::{LIVE, NodeLease};
use crate::{LeaseOptions, LeaseState, PgStore, WakeListener};
use tokio_postgres::Client;
use windlass_store_api::{Partition, PartitionSet, StoreError, StoreResult};

impl PgStore {
    /// This store joined as the node named `options.owner` (unique among
    /// the live nodes; sharing its pool), owning
    /// no partition until [`claim_partitions`](Self::claim_partitions).
    /// Refused with [`StoreError::InUse`] while a single writer holds the
    /// database's lease or the node's name is live in another process, and
    /// with [`StoreError::Invalid`] for a store that already holds a lease
    /// (the database's, or a node's).
    pub async fn join_as_node(&self, options: LeaseOptions) -> StoreResult<PgStore> {
        if self.lease.is_some() || self.node.is_some() {
            return Err(StoreError::Invalid(format!(
                "database {}: this store already holds a lease (the database's, or a node's)",
                self.target
            )));
        }
        let node = NodeLease::join((*self.dial).clone(), &self.target, options).await?;
        Ok(PgStore {
            node: Some(node),
            ..self.clone()
        })
    }

    fn node(&self) -> StoreResult<&NodeLease> {
        self.node.as_deref().ok_or_else(|| {
            StoreError::Invalid(format!(
                "database {}: this store has not joined as a node",
                self.target
            ))
        })
    }

    /// Takes those of `wanted` nobody owns or whose owner's lease is dead
    /// (fencing that owner first); never a live node's. Answers every
    /// partition this node owns afterwards.
    pub async fn claim_partitions(&self, wanted: &PartitionSet) -> StoreResult<PartitionSet> {
        self.node()?.claim(wanted).await
    }

    /// Gives `partitions` up: this store's batches touching them are
    /// refused at once; other nodes may claim them.
    pub async fn release_partitions(&self, partitions: &PartitionSet) -> StoreResult<()> {
        self.node()?.release(partitions).await
    }

    /// Releases every partition and expires the node's lease (a graceful
    /// shutdown, after the last batch); later batches are refused.
    pub async fn leave(&self) -> StoreResult<()> {
        self.node()?.leave().await
    }

    /// The partitions this store owns as a node (none when it is not one).
    pub fn owned_partitions(&self) -> PartitionSet {
        self.node
            .as_ref()
            .map_or_else(PartitionSet::none, |n| n.owned())
    }

    /// The node's lease epoch, if this store joined as one.
    pub fn node_epoch(&self) -> Option<i64> {
        self.node.as_ref().map(|n| n.epoch())
    }

    /// The state of the node's lease (`None`: not a node): a node learns
    /// from it that it was fenced.
    pub fn node_state(&self) -> Option<tokio::sync::watch::Receiver<LeaseState>> {
        self.node.as_ref().map(|n| n.watch())
    }

    /// Listens for wake-ups of this node's partitions: other nodes'
    /// batches that inserted outbox rows into them (see [`WakeListener`]).
    /// Call [`WakeListener::set_partitions`] after claiming or releasing.
    pub async fn wake_listener(&self) -> StoreResult<WakeListener> {
        let scope = self.wake_scope.to_string();
        WakeListener::listen(&self.dial, &self.target, self.owned_partitions(), scope).await
    }

    /// Who owns each partition that has an owner, in partition order.
    pub async fn partition_owners(&self) -> StoreResult<Vec<PartitionOwner>> {
        let client = self.dial.session(&self.target, |_| true).await?;
        owners(&client, &self.target).await
    }

    /// The names of the nodes whose lease is live, owning partitions or
    /// not, in name order: what a node balancing its share counts.
    pub async fn live_nodes(&self) -> StoreResult<Vec<String>> {
        let client = self.dial.session(&self.target, |_| true).await?;
        let sql = format!("SELECT n.node FROM windlass_nodes n WHERE {LIVE} ORDER BY n.node");
        let rows = client
            .query(sql.as_str(), &[])
            .await
            .map_err(|e| map_pg(e, &self.target))?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(|e| map_pg(e, &self.target)))
            .collect()
    }
}

/// Who owns one partition, as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOwner {
    /// The partition.
    pub partition: Partition,
    /// The owning node.
    pub node: String,
    /// Where its API listens, if it said.
    pub address: Option<String>,
    /// How many times the partition changed hands.
    pub epoch: i64,
    /// Whether the owner's lease is live (at the epoch it claimed under).
    pub live: bool,
}

fn owners_sql() -> String {
    format!(
        "SELECT o.partition, o.node, n.address, o.epoch,
             COALESCE(n.epoch = o.node_epoch AND {LIVE}, false)
         FROM windlass_partition_owners o LEFT JOIN windlass_nodes n ON n.node = o.node
         ORDER BY o.partition"
    )
}

/// Every partition's owner, in partition order (partitions nobody owns
/// are left out).
async fn owners(client: &Client, target: &str) -> StoreResult<Vec<PartitionOwner>> {
    let pg = |e| map_pg(e, target);
    let rows = client.query(owners_sql().as_str(), &[]).await.map_err(pg)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let partition: i16 = r.try_get(0).map_err(pg)?;
        let Ok(partition) = u16::try_from(partition) else {
            continue;
        };
        out.push(PartitionOwner {
            partition: Partition(partition),
            node: r.try_get(1).map_err(pg)?,
            address: r.try_get(2).map_err(pg)?,
            epoch: r.try_get(3).map_err(pg)?,
            live: r.try_get(4).map_err(pg)?,
        });
    }
    Ok(out)
}
