//! The async runtime of Windlass: commands in, events group-committed,
//! effects carried out after commit.
//!
//! # Using it
//!
//! ```text
//! let handlers = Handlers::new().on_name("Issue certificate", |job: &Job| {
//!     HandlerResult::Ready(JobOutcome::done(Vars::new()))
//! });
//! let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
//! let dep = rt.deploy(&xml).await?;                      // stored with its source
//! let id = rt.start_instance(StartRequest::new(dep.default_key.unwrap())).await?;
//! let outcome = rt.wait_settled(&id).await?;             // status, variables, executed
//! rt.shutdown().await?;                                  // drain, cancel, join
//! ```
//!
//! - [`Runtime::start`] recovers every unfinished instance from the store and
//!   queues every pending outbox row again, then spawns one task per shard.
//! - Instances are hashed onto shards; a shard owns its instances' states and
//!   applies inputs in order, deciding a whole queue of them into ONE
//!   [`windlass_store_api::Batch`] (one transaction, one fsync). With several
//!   shards a committer task merges their batches.
//! - Effects run only after the commit. Each job is an outbox row keyed
//!   `{instance}/{run}/{node}/{token}/{attempt}` ([`Job::key`]), removed in the
//!   same transaction as the job's completion: jobs run at least once, are
//!   completed at most once.
//! - [`Handlers`] binds [`JobHandler`]s; a handler answers
//!   [`HandlerResult::Ready`] (fed straight back, no task spawned),
//!   [`HandlerResult::Pending`] (spawned, owned, timed out, aborted when the
//!   engine cancels the job — the handler's [`Job::cancel`] token is
//!   cancelled then) or
//!   [`HandlerResult::External`] (completed later with
//!   [`RuntimeHandle::complete_job`]).
//! - Call activities start child instances (`{parent}/{run}/call/{token}`)
//!   of the same document; the child's end comes back as
//!   `ChildCompleted` / `ChildFailed`, through the outbox as well.
//! - Each shard's intake from the handle is bounded
//!   ([`RuntimeOptions::intake_capacity`]): callers wait when it is behind.
//! - Retry backoff and job timeouts are times of the injected
//!   [`windlass_types::Clock`]; a failed group commit reaches the affected
//!   requesters and waiters as [`RuntimeError::Store`] and
//!   [`RuntimeHandle::storage_failure`].
//! - [`RuntimeOptions::partitions`] narrows a runtime to the instance
//!   partitions its node owns (several writing nodes on one PostgreSQL
//!   database); [`RuntimeHandle::adopt`] takes more while it runs.
//! - [`bench`](mod@bench) holds the benchmark entry points.
//!
//! See `docs/runtime.md` for the design and its limits.

mod adopt;
pub mod bench;
mod broadcast_once;
mod broadcast_parts;
mod callee;
mod dedup;
mod dedup_bench;
mod definitions;
mod deliveries;
mod error;
mod handlers;
mod job;
mod message_bench;
mod messages;
pub mod metrics;
mod options;
mod outbox;
mod outcome;
mod partitions;
mod publisher;
mod recovery;
mod release;
mod reset;
mod runtime;
mod schedules;
mod shard;
mod shared;
mod shutdown_signal;
mod signal_bench;
mod sources;
mod start;
mod timer;
mod timer_bench;
mod timer_stats;
mod waits;

pub use broadcast_parts::MAX_NODE_BROADCAST_VARS_BYTES;
pub use dedup::DedupOutcome;
pub use definitions::{Deployment, content_hash, definition_key};
pub use error::{RuntimeError, RuntimeResult};
pub use handlers::{Handlers, Resolved, SharedHandler};
pub use job::{HandlerResult, Job, JobFuture, JobHandler, JobOutcome};
pub use messages::PublishOutcome;
pub use options::{FinishListener, RuntimeOptions};
pub use outbox::{
    CancelChild, ChildDone, ChildEscalation, OutboxEntry, StartChild, child_escalated_key,
    child_id, child_ref, creates_its_instance, decode_job, encode_job, job_key, job_row,
    parse_job_key,
};
pub use outcome::InstanceOutcome;
pub use recovery::RecoveryReport;
pub use release::ReleaseReport;
pub use reset::ResetRequest;
pub use runtime::{Runtime, RuntimeHandle};
pub use schedules::ScheduleInfo;
pub use shared::CommitStats;
pub use shutdown_signal::ShutdownSignal;
pub use sources::DeployedSource;
pub use start::{FIRST_RUN, OnConflict, SUPERSEDED_REASON, StartRequest};
pub use timer_stats::{Levels, TimerStats};
pub use tokio_util::sync::CancellationToken;
pub use windlass_engine::driver::Message;
