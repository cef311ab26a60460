//! Markers that make a thrown signal's broadcast exactly once across a
//! crash. A broadcast reaches every shard's waiting subscriptions and every
//! signal start event in separate commits; each of them writes a marker row
//! (kind `broadcast-seen`, no instance, so recovery never dispatches it) in
//! the same commit as its deliveries or its start: a shard's marker says its
//! partitions have the broadcast, a start's says the instance was started.
//! When the broadcast is tried again — after a failed attempt, or by
//! recovery after a crash — a shard whose marker exists delivers nothing,
//! instances in partitions a marker covers (markers of an earlier shard
//! count included) are skipped, and a start whose marker exists is not made
//! again. The thrower's shard completes the broadcast row together with
//! every marker, in one commit.
//!
//! On a node serving some partitions a broadcast reaches waiting instances
//! through one row per partition (`signal_to.rs`) instead of the shards:
//! those rows are committed in one batch with a marker saying so, and a
//! retry whose marker exists writes them no more.
//!
//! Stored formats (never change): keys `{broadcast}#seen-by-shard-{k}-of-{n}`,
//! `{broadcast}#started-{definition}-{node}` and `{broadcast}#parts`; JSON
//! payloads `{"by":"shard","broadcast":…,"shard":k,"of":n}`,
//! `{"by":"start","broadcast":…,"definition":…,"node":…}` and
//! `{"by":"parts","broadcast":…}`.

use serde::{Deserialize, Serialize};
use windlass_store_api::OutboxRow;
use windlass_types::PartitionSet;
use windlass_types::Timestamp;
use windlass_types::partition::{PARTITIONS, Partition};

/// Outbox row kind of a broadcast marker.
pub(crate) const KIND_BROADCAST_SEEN: &str = "broadcast-seen";

/// What a marker records (its JSON payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub(crate) enum Seen {
    /// Shard `shard` of `of` has delivered the broadcast to its partitions.
    Shard {
        /// The broadcast's row key.
        broadcast: String,
        /// The shard.
        shard: usize,
        /// The shard count it ran under.
        of: usize,
    },
    /// The start event `node` of definition `definition` has started its
    /// instance for the broadcast.
    Start {
        /// The broadcast's row key.
        broadcast: String,
        /// The definition key.
        definition: String,
        /// The start event's id.
        node: String,
    },
    /// The broadcast's rows for every partition are committed (on a node).
    Parts {
        /// The broadcast's row key.
        broadcast: String,
    },
}

impl Seen {
    /// The broadcast it belongs to.
    pub(crate) fn broadcast(&self) -> &str {
        match self {
            Seen::Shard { broadcast, .. }
            | Seen::Start { broadcast, .. }
            | Seen::Parts { broadcast } => broadcast,
        }
    }

    /// Its row key.
    pub(crate) fn key(&self) -> String {
        match self {
            Seen::Shard {
                broadcast,
                shard,
                of,
            } => format!("{broadcast}#seen-by-shard-{shard}-of-{of}"),
            Seen::Start {
                broadcast,
                definition,
                node,
            } => format!("{broadcast}#started-{definition}-{node}"),
            Seen::Parts { broadcast } => format!("{broadcast}#parts"),
        }
    }

    /// Its row, written at `now`.
    pub(crate) fn row(&self, now: Timestamp) -> OutboxRow {
        OutboxRow {
            key: self.key(),
            kind: KIND_BROADCAST_SEEN.to_string(),
            instance: None,
            // An enum of strings and numbers always serializes.
            payload: serde_json::to_vec(self).unwrap_or_default(),
            due_at: now,
            attempt: 1,
            lease: None,
        }
    }

    /// Reads a marker row; `None` for any other row.
    pub(crate) fn of_row(row: &OutboxRow) -> Option<Seen> {
        if row.kind != KIND_BROADCAST_SEEN {
            return None;
        }
        serde_json::from_slice(&row.payload).ok()
    }
}

/// The partitions shard `shard` of `of` serves: what its marker says
/// already has the broadcast.
pub(crate) fn shard_partitions(shard: usize, of: usize) -> PartitionSet {
    (0..PARTITIONS)
        .map(Partition)
        .filter(|p| p.shard(of) == shard)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_through_their_rows() {
        let shard = Seen::Shard {
            broadcast: "broadcast:a/r/0".into(),
            shard: 1,
            of: 2,
        };
        let row = shard.row(Timestamp(5));
        assert_eq!(row.key, "broadcast:a/r/0#seen-by-shard-1-of-2");
        assert_eq!(
            String::from_utf8(row.payload.clone()).unwrap(),
            r#"{"by":"shard","broadcast":"broadcast:a/r/0","shard":1,"of":2}"#
        );
        assert_eq!(Seen::of_row(&row), Some(shard));
        let start = Seen::Start {
            broadcast: "broadcast:a/r/1".into(),
            definition: "respond:1".into(),
            node: "rs".into(),
        };
        let row = start.row(Timestamp(5));
        assert_eq!(row.key, "broadcast:a/r/1#started-respond:1-rs");
        assert_eq!(Seen::of_row(&row), Some(start));
        let parts = Seen::Parts {
            broadcast: "broadcast:a/r/2".into(),
        };
        let parts_row = parts.row(Timestamp(5));
        assert_eq!(parts_row.key, "broadcast:a/r/2#parts");
        assert_eq!(
            String::from_utf8(parts_row.payload.clone()).unwrap(),
            r#"{"by":"parts","broadcast":"broadcast:a/r/2"}"#
        );
        assert_eq!(Seen::of_row(&parts_row), Some(parts));
        assert_eq!(
            Seen::of_row(&OutboxRow {
                kind: "broadcast".into(),
                ..row
            }),
            None
        );
    }

    #[test]
    fn covered_partitions_follow_the_shard_count_they_were_written_under() {
        let mut c = PartitionSet::none();
        assert!(c.is_empty());
        c = c.union(&shard_partitions(1, 2));
        for id in ["a", "b", "c", "d", "e", "f"] {
            let odd = Partition::of_instance(id).shard(2) == 1;
            assert_eq!(c.has_instance(id), odd, "{id}");
        }
        c = c.union(&shard_partitions(0, 2));
        assert!(["a", "b", "c"].iter().all(|id| c.has_instance(id)));
    }
}
