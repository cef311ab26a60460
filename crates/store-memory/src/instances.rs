//! The instance table: every run by its [`InstanceRef`].
//!
//! A hash table of `(hash, Box<Instance>)`: the key is the run's own
//! `row.instance` (not a second copy), each bucket keeps its key's hash, and
//! the run's data sits behind a pointer. Growing the table (a rehash moves
//! every bucket) therefore neither hashes the id strings again nor reads
//! them, and moves 16 bytes per run. The table only grows (the memory store
//! keeps every run), so with a map keyed by `InstanceRef` those rehashes made
//! the commit cost rise with the number of runs.

use crate::state::Instance;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::fmt;
use std::hash::BuildHasher;
use windlass_store_api::InstanceRef;

/// Every instance run.
#[derive(Default)]
pub(crate) struct Instances {
    table: HashTable<(u64, Box<Instance>)>,
    hasher: RandomState,
}

impl fmt::Debug for Instances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instances")
            .field("len", &self.table.len())
            .finish()
    }
}

impl Instances {
    fn hash(&self, key: &InstanceRef) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The run `key`, if it exists.
    pub(crate) fn get(&self, key: &InstanceRef) -> Option<&Instance> {
        let hash = self.hash(key);
        self.table
            .find(hash, |(h, i)| *h == hash && i.row.instance == *key)
            .map(|(_, i)| &**i)
    }

    /// The run `key` for changing it, if it exists.
    pub(crate) fn get_mut(&mut self, key: &InstanceRef) -> Option<&mut Instance> {
        let hash = self.hash(key);
        self.table
            .find_mut(hash, |(h, i)| *h == hash && i.row.instance == *key)
            .map(|(_, i)| &mut **i)
    }

    /// True if the run `key` exists.
    pub(crate) fn contains(&self, key: &InstanceRef) -> bool {
        self.get(key).is_some()
    }

    /// Adds a run under its `row.instance`, replacing a run with the same
    /// key (validation makes sure there is none).
    pub(crate) fn insert(&mut self, instance: Instance) {
        let hash = self.hash(&instance.row.instance);
        let entry = self.table.entry(
            hash,
            |(h, i)| *h == hash && i.row.instance == instance.row.instance,
            |(h, _)| *h,
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                *o.get_mut() = (hash, Box::new(instance));
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((hash, Box::new(instance)));
            }
        }
    }

    /// Every run, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Instance> {
        self.table.iter().map(|(_, i)| &**i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use windlass_store_api::{InstanceRow, InstanceStatus, Timestamp};

    fn run(id: &str, seq: u64) -> Instance {
        Instance {
            row: InstanceRow {
                instance: InstanceRef::new(id, "1"),
                definition_key: "d".into(),
                status: InstanceStatus::Running,
                business_key: None,
                parent: None,
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
                last_seq: seq,
                tally: Vec::new(),
            },
            events: Vec::new(),
        }
    }

    #[test]
    fn finds_changes_and_replaces_runs_across_growth() {
        let mut t = Instances::default();
        for i in 0..1000 {
            t.insert(run(&format!("i{i}"), i));
        }
        assert_eq!(t.values().count(), 1000);
        assert!(t.contains(&InstanceRef::new("i999", "1")));
        assert!(!t.contains(&InstanceRef::new("i999", "2")));
        assert!(!t.contains(&InstanceRef::new("i1000", "1")));
        let key = InstanceRef::new("i7", "1");
        assert_eq!(t.get(&key).map(|i| i.row.last_seq), Some(7));
        if let Some(i) = t.get_mut(&key) {
            i.row.last_seq = 70;
        }
        assert_eq!(t.get(&key).map(|i| i.row.last_seq), Some(70));
        t.insert(run("i7", 5));
        assert_eq!(t.get(&key).map(|i| i.row.last_seq), Some(5));
        assert_eq!(t.values().count(), 1000);
    }
}
