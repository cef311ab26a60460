//! The schedules table: one row per schedule (a process's timer start
//! event, or a `windlass:cron` message source), written only by the
//! runtime's schedule service.
//!
//! The store knows no schedule semantics: `spec` is the runtime's encoding
//! of what fires and how (opaque bytes); the other columns are what the
//! service reads back after a restart (pause flag, next and last fire, the
//! fires buffered behind a running instance).

use windlass_types::Timestamp;

/// One schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    /// The schedule id (e.g. `{processId}/{startEventId}`).
    pub id: String,
    /// The process whose instances it starts (latest deployed version).
    pub process_id: String,
    /// The runtime's encoding of the schedule's definition (opaque here).
    pub spec: Vec<u8>,
    /// Paused: it does not fire until unpaused.
    pub paused: bool,
    /// When it fires next (`None`: never again).
    pub next_fire_at: Option<Timestamp>,
    /// The 0-based number of the occurrence `next_fire_at` is (what a cycle
    /// of n repetitions counts).
    pub next_occurrence: u64,
    /// When it last fired (the scheduled time of that fire), if ever.
    pub last_fire_at: Option<Timestamp>,
    /// Scheduled times of fires waiting for the running instance to
    /// finish (overlap policies that buffer), oldest first.
    pub buffered: Vec<Timestamp>,
    /// When the row last changed.
    pub updated_at: Timestamp,
}

/// A change to the schedules table inside a [`Batch`](crate::Batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleChange {
    /// Inserts or replaces the schedule with this id.
    Put(ScheduleRow),
    /// Removes the schedule with this id; it must exist.
    Delete(String),
}
