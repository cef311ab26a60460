//! The outbox / job queue: effects the engine asked for, committed with the
//! events that caused them and carried out after commit. A crash between
//! commit and dispatch leaves the row here, so it is dispatched again.

use crate::ids::InstanceRef;
use windlass_types::Timestamp;

/// A claim on an outbox row by one worker until a time (for external workers
/// and agents; the local runtime may leave it empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (a worker or node id).
    pub owner: String,
    /// When it lapses.
    pub expires_at: Timestamp,
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// A stable idempotency key (e.g. instance/node/token/attempt); unique.
    pub key: String,
    /// What kind of effect (e.g. `job:shell`); the runtime interprets it.
    pub kind: String,
    /// The instance it belongs to, if any.
    pub instance: Option<InstanceRef>,
    /// The encoded effect (the runtime owns the encoding).
    pub payload: Vec<u8>,
    /// When it should be carried out (first try or next retry).
    pub due_at: Timestamp,
    /// The attempt number (1 for the first try).
    pub attempt: u32,
    /// The current lease, if a worker claimed it.
    pub lease: Option<Lease>,
}

impl OutboxRow {
    /// The partition the row belongs to: its instance's. Rows without an
    /// instance (markers that are never dispatched) belong to none.
    pub fn partition(&self) -> Option<windlass_types::Partition> {
        self.instance.as_ref().map(InstanceRef::partition)
    }
}

/// A change to the outbox inside a [`Batch`](crate::Batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxChange {
    /// Adds a row; its key must not exist yet.
    Insert(OutboxRow),
    /// Replaces an existing row with the same key (reschedule a retry, take
    /// or drop a lease); the key must exist.
    Update(OutboxRow),
    /// Removes the row with this key: the effect is done. The key must
    /// exist, so a second completion of the same effect is an error.
    Complete(String),
}
