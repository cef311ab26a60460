//! A broadcast signal's part for one partition, on nodes serving some
//! partitions (`partitions.rs`): a node cannot reach the instances other
//! nodes serve, so a broadcast there commits one row per partition — every
//! one of the [`PARTITIONS`], its own included — and the node serving each
//! partition delivers the signal to that partition's waiting instances in
//! the commit that consumes the row (`deliveries.rs`). A partition has one
//! writer at a time and its row is consumed with the deliveries, so each
//! waiting instance takes the broadcast once, across crashes and
//! takeovers. Instances in partitions the row reaches later take it later:
//! one that starts waiting before its partition's row is taken takes it
//! too, as in Zeebe's partitioned broadcasts.
//!
//! A row belongs to its partition through its instance: the partition's
//! *anchor* (`windlass_types::partition_anchor`), an id that no instance
//! has (`~partition/{n}`, reserved), so the outbox's partition column, the
//! wake-ups and the readers of pending rows need nothing new. No shard
//! creates the anchor; the row's target shard is the partition's shard.
//!
//! Stored formats (never change): key `{broadcast}#to-{partition}`, kind
//! `signal-to`, instance `~partition/{n}` run `-`, and the JSON payload of
//! [`SignalTo`].

use serde::{Deserialize, Serialize};
use windlass_store_api::InstanceRef;
use windlass_types::Vars;
use windlass_types::partition::Partition;
use windlass_types::partition_anchor::anchor_id;

/// Outbox row kind of a broadcast's part for one partition.
pub(crate) const KIND_SIGNAL_TO: &str = "signal-to";

/// The run id of every anchor.
const ANCHOR_RUN: &str = "-";

/// A broadcast signal for the waiting instances of one partition (the JSON
/// payload of a `signal-to` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalTo {
    /// The broadcast's id: a thrown signal's row key, or
    /// `broadcast:api/{uuid}` for one from the API.
    pub broadcast: String,
    /// The partition whose instances take it.
    pub partition: u16,
    /// The signal name.
    pub name: String,
    /// Its variables.
    pub vars: Vars,
}

impl SignalTo {
    /// The partition whose instances take it.
    pub fn partition(&self) -> Partition {
        Partition(self.partition)
    }
}

/// The row key of broadcast `broadcast`'s part for `partition`.
pub fn signal_to_key(broadcast: &str, partition: Partition) -> String {
    format!("{broadcast}#to-{}", partition.0)
}

/// The anchor of `partition`: the instance its `signal-to` rows name
/// (`windlass_types::partition_anchor`).
pub fn anchor(partition: Partition) -> InstanceRef {
    InstanceRef::new(anchor_id(partition), ANCHOR_RUN)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parts_name_their_partition_through_its_anchor() {
        let a = anchor(Partition(7));
        assert_eq!(a.partition(), Partition(7));
        assert_eq!(a.run.0, "-");
        assert_eq!(
            signal_to_key("broadcast:a/r/0", Partition(7)),
            "broadcast:a/r/0#to-7"
        );
    }
}
