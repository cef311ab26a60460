//! The store API of Windlass: narrow traits over an append-only, per-instance
//! event log plus the tables the runtime needs around it (instance index,
//! deployed definitions, outbox / job queue, timers, messages, dedup,
//! schedules), all
//! written together through one [`Batch`] per group commit.
//!
//! The store is a log, not a cache, and knows no engine types: events are
//! opaque encoded bytes with a sequence number per instance run.
//!
//! Backends: `windlass-store-memory`, `windlass-store-sqlite`. Each runs the
//! one shared `conformance` suite (cargo feature `conformance`).

pub mod batch;
pub mod check;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod dedup;
pub mod definition;
pub mod error;
pub mod history;
pub mod ids;
pub mod instance;
pub mod message;
pub mod outbox;
pub mod plan;
pub mod schedule;
pub mod store;
pub mod timer;

pub use batch::{Append, Batch, BatchShape, CarriedEvents, NewInstance};
pub use dedup::{DedupChange, DedupHolder, DedupRow};
pub use definition::{DefinitionRow, LatestDefinition};
pub use error::{ErrorClass, StoreError, StoreResult};
pub use history::{HistoryEvent, RecoveredInstance, pack_events, unpack_events};
pub use ids::{InstanceId, InstanceRef, LEGACY_FIRST_RUN, RunId, job_key_text};
pub use instance::{InstanceCursor, InstanceQuery, InstanceRow, InstanceStatus, InstanceUpdate};
pub use message::{MessageChange, MessageRow};
pub use outbox::{Lease, OutboxChange, OutboxRow};
pub use schedule::{ScheduleChange, ScheduleRow};
pub use store::{
    DedupRead, DefinitionRead, HistoryRead, InstanceIndex, MessageRead, OutboxRead, Recovery,
    ScheduleRead, Store, StoreWrite, TimerRead,
};
pub use timer::{TimerChange, TimerRow};
pub use windlass_types::{PARTITIONS, Partition, PartitionSet, Timestamp};
