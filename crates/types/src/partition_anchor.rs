//! Partition anchors: for each partition, one id in it that no instance
//! has (`~partition/{n}`, the first `n` whose instance partition is that
//! one), so that a row addressed to a partition rather than to an instance
//! — a broadcast's part for one partition, written by the runtime on a node
//! — lives in that partition through its instance column like any other
//! row. The runtime refuses user ids of this form, and `db check` does not
//! count such rows as orphans.
//!
//! The ids are stored in rows, so the rule never changes (fixed test
//! vectors below).

use crate::partition::{PARTITIONS, Partition};
use std::sync::OnceLock;

/// What every anchor id starts with.
pub const ANCHOR_PREFIX: &str = "~partition/";

/// The anchor id of `partition`.
pub fn anchor_id(partition: Partition) -> &'static str {
    let ids = ANCHORS.get_or_init(anchors);
    ids.get(usize::from(partition.0)).map_or("", String::as_str)
}

/// Whether `id` has the form of an anchor id (reserved: no instance has
/// it).
pub fn is_anchor_id(id: &str) -> bool {
    id.starts_with(ANCHOR_PREFIX)
}

static ANCHORS: OnceLock<Vec<String>> = OnceLock::new();

/// The first id `~partition/{n}` of each partition, in partition order:
/// about 1,600 hashes, as FNV-1a spreads ids evenly.
fn anchors() -> Vec<String> {
    let mut out: Vec<Option<String>> = vec![None; usize::from(PARTITIONS)];
    let mut missing = out.len();
    let mut n: u64 = 0;
    while missing > 0 {
        let id = format!("{ANCHOR_PREFIX}{n}");
        let slot = &mut out[usize::from(Partition::of_instance(&id).0)];
        if slot.is_none() {
            *slot = Some(id);
            missing -= 1;
        }
        n += 1;
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_has_an_anchor_in_it() {
        for p in 0..PARTITIONS {
            let id = anchor_id(Partition(p));
            assert_eq!(Partition::of_instance(id), Partition(p), "{id}");
            assert!(is_anchor_id(id), "{id}");
        }
        // Fixed vectors: rows already stored name these ids.
        assert_eq!(anchor_id(Partition(0)), "~partition/47");
        assert_eq!(anchor_id(Partition(107)), "~partition/0");
        assert!(!is_anchor_id("order-7"));
    }
}
