//! The store traits. Each trait is one narrow concern; [`Store`] is all of
//! them together, and every write goes through one [`Batch`] committed by
//! [`StoreWrite::commit`] as one transaction.
//!
//! # Async design
//!
//! Methods return `impl Future<Output = ...> + Send` (return-position impl
//! trait in traits, Rust 2024). Callers use stores generically
//! (`fn run<S: Store>(store: S)`), which costs no allocation per call — the
//! in-memory backend stays as cheap as a function call. The traits are not
//! object-safe; a caller that needs `dyn` can wrap a store in its own boxed
//! adapter. Synchronous backends (SQLite) run their work on their own thread
//! and are awaited through a channel, so they never block the caller's
//! executor; networked backends (PostgreSQL) are naturally async.
//!
//! Reads see only committed batches. Results have a defined order (stated per
//! method) so every backend returns the same rows in the same order.

use crate::batch::Batch;
use crate::dedup::DedupRow;
use crate::definition::{DefinitionRow, LatestDefinition};
use crate::error::StoreResult;
use crate::history::{HistoryEvent, RecoveredInstance};
use crate::ids::{InstanceId, InstanceRef};
use crate::instance::{InstanceQuery, InstanceRow};
use crate::message::MessageRow;
use crate::outbox::OutboxRow;
use crate::schedule::ScheduleRow;
use crate::timer::TimerRow;
use std::future::Future;
use windlass_types::{PartitionSet, Timestamp};

/// Writes: one batch, all-or-nothing, durable when the future resolves `Ok`
/// (as durable as the backend's configured sync mode).
pub trait StoreWrite: Send + Sync {
    /// Commits `batch` as one transaction. On error nothing of it is written.
    fn commit(&self, batch: Batch) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Reads of instance histories.
pub trait HistoryRead: Send + Sync {
    /// Every event of `instance` in sequence order; empty if it has none.
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) if the run does
    /// not exist.
    fn history(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEvent>>> + Send;

    /// The events of `instance` with a sequence number above `after_seq`, in
    /// order. `NotFound` if the run does not exist.
    fn history_after(
        &self,
        instance: &InstanceRef,
        after_seq: u64,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEvent>>> + Send;
}

/// Reads of the instance index.
pub trait InstanceIndex: Send + Sync {
    /// The row of one run, if it exists.
    fn instance(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Option<InstanceRow>>> + Send;

    /// Rows matching `query`, ordered by `(created_at, id, run)` ascending,
    /// at most `query.limit`.
    fn query_instances(
        &self,
        query: &InstanceQuery,
    ) -> impl Future<Output = StoreResult<Vec<InstanceRow>>> + Send;

    /// The row of the latest run of instance id `id` in the run order
    /// ([`RunId::run_order`](crate::RunId::run_order): the legacy run `"1"`
    /// first, then UUIDv7 run ids by creation), whatever its status; `None`
    /// if the id has no run.
    fn latest_run(
        &self,
        id: &InstanceId,
    ) -> impl Future<Output = StoreResult<Option<InstanceRow>>> + Send;
}

/// Reads of deployed definitions.
pub trait DefinitionRead: Send + Sync {
    /// The definition with this key, if deployed.
    fn definition(
        &self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<DefinitionRow>>> + Send;

    /// Every deployed definition, ordered by `(process_id, version, key)`.
    fn definitions(&self) -> impl Future<Output = StoreResult<Vec<DefinitionRow>>> + Send;

    /// The highest version of every deployed process, ordered by process
    /// id: what a node serving some partitions reads often to see versions
    /// deployed through other nodes. The default reads every definition;
    /// backends shared by several nodes override it to leave the sources
    /// out.
    fn latest_definitions(
        &self,
    ) -> impl Future<Output = StoreResult<Vec<LatestDefinition>>> + Send {
        async {
            let mut out: Vec<LatestDefinition> = Vec::new();
            for d in self.definitions().await? {
                match out.last_mut() {
                    Some(last) if last.process_id == d.process_id => {
                        if d.version >= last.version {
                            last.version = d.version;
                            last.key = d.key;
                        }
                    }
                    _ => out.push(LatestDefinition {
                        process_id: d.process_id,
                        version: d.version,
                        key: d.key,
                    }),
                }
            }
            Ok(out)
        }
    }
}

/// Reads of the outbox.
pub trait OutboxRead: Send + Sync {
    /// Every outbox row not yet completed, ordered by `(due_at, key)` — what
    /// recovery re-dispatches.
    fn pending_outbox(&self) -> impl Future<Output = StoreResult<Vec<OutboxRow>>> + Send;

    /// The pending rows of [`pending_outbox`](Self::pending_outbox) whose
    /// [partition](OutboxRow::partition) is in `partitions`, plus the rows
    /// of no partition: what a node owning `partitions` re-dispatches.
    /// Same order. The default filters the whole outbox; backends with a
    /// partition column override it.
    fn pending_outbox_in(
        &self,
        partitions: &PartitionSet,
    ) -> impl Future<Output = StoreResult<Vec<OutboxRow>>> + Send {
        async move {
            let mut rows = self.pending_outbox().await?;
            rows.retain(|r| r.partition().is_none_or(|p| partitions.contains(p)));
            Ok(rows)
        }
    }

    /// The pending rows of [`pending_outbox_in`](Self::pending_outbox_in)
    /// whose kind is one of `kinds`: what a node looks through for the rows
    /// other nodes left in its partitions, often. Same order. The default
    /// filters `pending_outbox_in`; backends override it to filter where
    /// the rows are.
    fn pending_outbox_of_kinds_in(
        &self,
        partitions: &PartitionSet,
        kinds: &[&str],
    ) -> impl Future<Output = StoreResult<Vec<OutboxRow>>> + Send {
        async move {
            let mut rows = self.pending_outbox_in(partitions).await?;
            rows.retain(|r| kinds.contains(&r.kind.as_str()));
            Ok(rows)
        }
    }

    /// The outbox row with this key, if it is still pending.
    fn outbox_entry(
        &self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<OutboxRow>>> + Send;
}

/// Reads of timers.
pub trait TimerRead: Send + Sync {
    /// Timers due at or before `until`, ordered by `(due_at, id)`, at most
    /// `limit`.
    fn due_timers(
        &self,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send;

    /// The timers of [`due_timers`](Self::due_timers) whose instance's
    /// partition is in `partitions`, at most `limit`, same order: what a
    /// node owning `partitions` fires. The default filters all due timers;
    /// backends with a partition column override it.
    fn due_timers_in(
        &self,
        partitions: &PartitionSet,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send {
        async move {
            let mut rows = self.due_timers(until, usize::MAX).await?;
            rows.retain(|t| partitions.contains(t.instance.partition()));
            rows.truncate(limit);
            Ok(rows)
        }
    }

    /// Every timer of `instance`, ordered by `(due_at, id)`.
    fn timers_of(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send;
}

/// Reads of buffered messages.
pub trait MessageRead: Send + Sync {
    /// Messages with this name and correlation key that have not expired at
    /// `now` (expiry strictly after `now`, or none), ordered by
    /// `(published_at, id)`. Consumed messages are left out.
    fn messages_for(
        &self,
        name: &str,
        correlation_key: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<MessageRow>>> + Send;

    /// Every message not expired at `now`, consumed ones included, ordered
    /// by `(published_at, id)`: what a message correlator loads at start.
    fn live_messages(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<MessageRow>>> + Send;
}

/// Reads of the dedup table.
pub trait DedupRead: Send + Sync {
    /// The entry under this dedup key, if any.
    fn dedup_entry(&self, key: &str) -> impl Future<Output = StoreResult<Option<DedupRow>>> + Send;

    /// Every dedup entry, ordered by key (what a dedup owner loads at
    /// start).
    fn dedup_entries(&self) -> impl Future<Output = StoreResult<Vec<DedupRow>>> + Send;
}

/// Reads of the schedules table.
pub trait ScheduleRead: Send + Sync {
    /// The schedule with this id, if any.
    fn schedule(&self, id: &str) -> impl Future<Output = StoreResult<Option<ScheduleRow>>> + Send;

    /// Every schedule, ordered by id.
    fn schedules(&self) -> impl Future<Output = StoreResult<Vec<ScheduleRow>>> + Send;
}

/// Bulk reads for recovery after a restart.
pub trait Recovery: Send + Sync {
    /// Every unfinished run (status not
    /// [finished](crate::InstanceStatus::is_finished)) with its whole
    /// history, in one pass, ordered by `(created_at, id, run)`.
    fn load_unfinished(&self) -> impl Future<Output = StoreResult<Vec<RecoveredInstance>>> + Send;

    /// The runs of [`load_unfinished`](Self::load_unfinished) whose
    /// instance id's partition is in `partitions`, same order: what a node
    /// owning `partitions` resumes. The default filters every unfinished
    /// run; backends with a partition column override it.
    fn load_unfinished_in(
        &self,
        partitions: &PartitionSet,
    ) -> impl Future<Output = StoreResult<Vec<RecoveredInstance>>> + Send {
        async move {
            let mut runs = self.load_unfinished().await?;
            runs.retain(|r| partitions.contains(r.row.instance.partition()));
            Ok(runs)
        }
    }
}

/// A complete store: every read trait plus batch commit. Implemented
/// automatically for any type that implements all of them.
pub trait Store:
    StoreWrite
    + HistoryRead
    + InstanceIndex
    + DefinitionRead
    + OutboxRead
    + TimerRead
    + MessageRead
    + DedupRead
    + ScheduleRead
    + Recovery
    + 'static
{
}

impl<T> Store for T where
    T: StoreWrite
        + HistoryRead
        + InstanceIndex
        + DefinitionRead
        + OutboxRead
        + TimerRead
        + MessageRead
        + DedupRead
        + ScheduleRead
        + Recovery
        + 'static
{
}
