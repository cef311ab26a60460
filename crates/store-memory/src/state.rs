//! The tables of the in-memory store. Hash maps use foldhash: SipHash of
//! every key was a large share of each commit.

use crate::instances::Instances;
use foldhash::HashMap;
use std::collections::BTreeMap;
use windlass_store_api::{
    DedupRow, DefinitionRow, HistoryEvent, InstanceRow, MessageRow, OutboxRow, ScheduleRow,
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
/// Instances live in their own table type (see [`Instances`]) built so its
/// cost stays flat as it grows.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) definitions: BTreeMap<String, DefinitionRow>,
    pub(crate) instances: Instances,
    pub(crate) outbox: HashMap<String, OutboxRow>,
    pub(crate) timers: HashMap<String, TimerRow>,
    pub(crate) messages: HashMap<String, MessageRow>,
    pub(crate) dedup: HashMap<String, DedupRow>,
    /// Ordered by id, as `ScheduleRead::schedules` lists them.
    pub(crate) schedules: BTreeMap<String, ScheduleRow>,
}
