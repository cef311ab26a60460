//! Timers: a due time, the instance it wakes, and an opaque payload the
//! runtime gives back to the engine when it fires.

use crate::ids::InstanceRef;
use windlass_types::Timestamp;

/// One stored timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRow {
    /// A unique id (e.g. instance/token/node).
    pub id: String,
    /// The instance it wakes.
    pub instance: InstanceRef,
    /// When it is due.
    pub due_at: Timestamp,
    /// The encoded timer (the engine owns the encoding).
    pub payload: Vec<u8>,
}

/// A change to the timers table inside a [`Batch`](crate::Batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerChange {
    /// Adds a timer; its id must not exist yet.
    Insert(TimerRow),
    /// Removes the timer with this id (fired or cancelled); it must exist.
    Delete(String),
}
