//! [`PgStore`] as a node under partitioned ownership (`node_lease.rs`):
//! joining, claiming and releasing partitions, leaving, and who owns what.

use crate::node_lease::{self, NodeLease, NodeOptions, PartitionOwner};
use crate::{LeaseState, PgStore, WakeListener};
use windlass_store_api::PartitionSet;
use windlass_store_api::{StoreError, StoreResult};

impl PgStore {
    /// This store joined as node `options.node` (sharing its pool), owning
    /// no partition until [`claim_partitions`](Self::claim_partitions).
    /// Refused with [`StoreError::InUse`] while a single writer holds the
    /// database's lease or the node's name is live in another process, and
    /// with [`StoreError::Invalid`] for a store that holds the database's
    /// lease itself.
    pub async fn join_as_node(&self, options: NodeOptions) -> StoreResult<PgStore> {
        if self.lease.is_some() {
            return Err(StoreError::Invalid(format!(
                "database {}: a store holding the database's lease cannot also join as a node",
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
        WakeListener::listen(&self.dial, &self.target, self.owned_partitions()).await
    }

    /// Who owns each partition that has an owner, in partition order.
    pub async fn partition_owners(&self) -> StoreResult<Vec<PartitionOwner>> {
        let client = self.dial.session(&self.target, |_| true).await?;
        node_lease::owners(&client, &self.target).await
    }
}
