//! The tables of the in-memory store. Hash maps use foldhash: SipHash of
//! every key was a large share of each commit.

use foldhash::HashMap;
use std::collections::BTreeMap;
use windlass_store_api::{
    DedupRow, DefinitionRow, HistoryEvent, InstanceRef, InstanceRow, MessageRow, OutboxRow,
    TimerRow,
};

/// One instance run: its index row and its history.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) row: InstanceRow,
    pub(crate) events: Vec<HistoryEvent>,
}

/// Every table.
///
/// Instances are boxed: the map's buckets then hold only the key and a
/// pointer (56 bytes instead of ~250), so growing the map (a rehash moves
/// every bucket) and probing it touch a quarter of the memory, and a run's
/// data never moves once written. The instance table only grows, so this is
/// what kept the commit cost rising with the number of instances.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) definitions: BTreeMap<String, DefinitionRow>,
    pub(crate) instances: HashMap<InstanceRef, Box<Instance>>,
    pub(crate) outbox: HashMap<String, OutboxRow>,
    pub(crate) timers: HashMap<String, TimerRow>,
    pub(crate) messages: HashMap<String, MessageRow>,
    pub(crate) dedup: HashMap<String, DedupRow>,
}
