//! The dedup table: under one dedup key at most one token runs a region and
//! at most one waits (the latest waiting one wins).

use crate::ids::InstanceRef;
use windlass_types::Timestamp;

/// A token holding a dedup slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupHolder {
    /// The instance of the token.
    pub instance: InstanceRef,
    /// The token id (engine-defined).
    pub token: String,
    /// Extra encoded data (e.g. the event that made the token wait).
    pub payload: Vec<u8>,
}

/// One dedup entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupRow {
    /// The dedup key (e.g. `{event.namespace}/{event.name}`).
    pub key: String,
    /// The token running the region, if any.
    pub running: Option<DedupHolder>,
    /// The latest token waiting to run it, if any.
    pub waiting: Option<DedupHolder>,
    /// When the entry last changed.
    pub updated_at: Timestamp,
}

/// A change to the dedup table inside a [`Batch`](crate::Batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupChange {
    /// Inserts or replaces the entry with this key.
    Put(DedupRow),
    /// Removes the entry with this key; it must exist.
    Delete(String),
}
