//! The runtime's error type: every failure names what and where, and keeps
//! its cause as a typed source.

use std::sync::Arc;
use windlass_engine::DecideError;
use windlass_engine::codec::CodecError;
use windlass_engine::replay::{ReplayCause, ReplayError};
use windlass_store_api::{InstanceRef, StoreError};
use windlass_types::ValueLimitError;

/// What went wrong in a runtime operation.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed. Shared: one failed group commit is reported to
    /// every requester and waiter of the group.
    #[error("store error: {0}")]
    Store(#[source] Arc<StoreError>),
    /// The BPMN document could not be loaded.
    #[error("the BPMN document could not be loaded: {0}")]
    InvalidDefinition(String),
    /// A process of the document cannot be run by this engine.
    #[error("process '{process}' cannot be run: {reason}")]
    Unrunnable {
        /// The process id.
        process: String,
        /// Why (unsupported or invalid element, named).
        reason: String,
    },
    /// No deployed definition with this key or process id.
    #[error("no deployed definition '{0}'")]
    UnknownDefinition(String),
    /// No such instance (live or stored).
    #[error("no instance {0}")]
    UnknownInstance(InstanceRef),
    /// The instance id already has this unfinished run (at most one per id;
    /// see `OnConflict`).
    #[error("instance {0} already exists and has not finished")]
    InstanceExists(InstanceRef),
    /// No schedule with this id.
    #[error("no schedule '{0}'")]
    UnknownSchedule(String),
    /// A schedule's times cannot be computed.
    #[error("schedule '{id}': {reason}")]
    Schedule {
        /// The schedule id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The engine refused the command.
    #[error("instance {instance}: {reason}")]
    Rejected {
        /// The instance.
        instance: InstanceRef,
        /// The engine's reason.
        #[source]
        reason: DecideError,
    },
    /// A stored history or outbox row could not be decoded.
    #[error("corrupt data for {what}: {detail}")]
    Corrupt {
        /// Which instance or outbox row.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// A stored history holds a value nested deeper than this build can read
    /// (written before values were limited): intact, but not readable.
    #[error("cannot read {what}: {detail}")]
    Unreadable {
        /// Which instance and event.
        what: String,
        /// Why.
        detail: String,
    },
    /// A value given to the runtime exceeds the value limit (start
    /// variables; job outputs, whose attempt was then recorded as failed).
    #[error("{0}")]
    ValueLimit(#[from] ValueLimitError),
    /// A job key string is not of the form `instance/run/node/token/attempt`.
    #[error("malformed job key '{0}' (expected instance/run/node/token/attempt)")]
    BadJobKey(String),
    /// The runtime is shutting down or has stopped; nothing new is accepted.
    #[error("the runtime is shutting down")]
    ShuttingDown,
    /// A runtime task (a shard or the committer) panicked; the message is
    /// the panic's.
    #[error("a runtime task panicked: {0}")]
    TaskPanicked(String),
    /// A bounded wait ran out (the benchmark's timeout).
    #[error("timed out: {0}")]
    TimedOut(String),
    /// An id or key is over its length limit (see [`windlass_types::limits`]).
    #[error(transparent)]
    Limit(#[from] windlass_types::limits::LimitError),
    /// An I/O failure outside the store (signals, /proc).
    #[error("I/O error: {0}")]
    Io(String),
    /// A user-chosen instance id has the form of a generated child id
    /// (`{parent}/{run}/call/{token}`), which the runtime reserves for the
    /// children of call activities.
    #[error(
        "instance id '{0}' is reserved: ids ending in '/call/<number>' name the children of call activities and ids starting with '~partition/' address partitions; choose another id"
    )]
    ReservedId(String),
    /// The dedup key of a start event could not be rendered from the start
    /// variables.
    #[error("the dedup key of process '{process}' cannot be rendered: {reason}")]
    DedupKey {
        /// The process id.
        process: String,
        /// Why (the missing placeholder).
        reason: String,
    },
    /// The process's `windlass:instanceId` template gave no usable id for
    /// these start variables (a placeholder without a value, or an id that
    /// fails the checks of user-chosen ids).
    #[error("process '{process}': windlass:instanceId: {reason}")]
    InstanceIdTemplate {
        /// The process id.
        process: String,
        /// Why: the missing placeholder, the limit or the reserved form.
        reason: String,
    },
    /// A new run id would not sort after the latest run of its instance id
    /// (the system clock went back past that run's UUIDv7 time): refused,
    /// so the latest run stays the one created last.
    #[error(
        "instance id '{id}': a new run id would not sort after its latest run '{latest}' (has the clock gone back?)"
    )]
    RunOrder {
        /// The instance id.
        id: String,
        /// Its latest run id.
        latest: String,
    },
    /// A reset was refused: the point is not one the run can go on from,
    /// or the run cannot be reset (the reason says which).
    #[error("instance {instance}: cannot reset: {reason}")]
    ResetRefused {
        /// The run asked to be reset.
        instance: InstanceRef,
        /// Why.
        reason: String,
    },
    /// The request cannot be served this way (named in the message).
    #[error("{0}")]
    Unsupported(String),
    /// No open job with this key waits here (it was answered, cancelled,
    /// timed out, or never existed).
    #[error("no open job '{0}'")]
    JobNotOpen(String),
    /// A message to publish is malformed (named).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The instance lives in a partition this runtime does not serve
    /// (`RuntimeOptions::partitions`): the node owning that partition must
    /// take the request.
    #[error(
        "instance '{instance}' is in partition {partition}, which this runtime does not serve (it serves {served})"
    )]
    NotOwner {
        /// The instance id.
        instance: String,
        /// Its partition.
        partition: u16,
        /// The partitions this runtime serves.
        served: String,
    },
    /// The schedule lives in a partition this runtime does not serve (the
    /// partition of its id): the node owning that partition holds, fires,
    /// pauses and redeploys it.
    #[error(
        "schedule '{schedule}' is in partition {partition}, which this runtime does not serve (it serves {served})"
    )]
    ScheduleElsewhere {
        /// The schedule id.
        schedule: String,
        /// Its partition.
        partition: u16,
        /// The partitions this runtime serves.
        served: String,
    },
    /// A node (a runtime with `RuntimeOptions::partitions` set) cannot do
    /// this yet: message correlation, dedup keys, and instances started
    /// under ids the node does not choose (schedules starting instances in
    /// other partitions, signal start events with an instance id template)
    /// need the single node of the store.
    #[error(
        "{what}: a node serving partitions {served} among other nodes does not support message correlation, dedup keys, or starts under ids outside its partitions (schedules with overlap allow-all, instance id templates on timer or signal start events) yet"
    )]
    Partitioned {
        /// What was asked, naming the process and element where there is one.
        what: String,
        /// The partitions this runtime serves.
        served: String,
    },
    /// A broadcast on a node carries more variables than a node writes:
    /// its variables are written once per partition.
    #[error(
        "signal '{name}' is broadcast with {bytes} bytes of variables as JSON, over the limit of {limit} bytes for a broadcast on a node (a node writes a broadcast's variables once for each of the 256 partitions)"
    )]
    BroadcastTooLarge {
        /// The signal name.
        name: String,
        /// The JSON size of its variables.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

impl From<StoreError> for RuntimeError {
    fn from(e: StoreError) -> Self {
        RuntimeError::Store(Arc::new(e))
    }
}

impl From<Arc<StoreError>> for RuntimeError {
    fn from(e: Arc<StoreError>) -> Self {
        RuntimeError::Store(e)
    }
}

impl RuntimeError {
    /// The error for a stored history of `instance` that cannot be replayed:
    /// [`RuntimeError::Unreadable`] when an event is too deep to read,
    /// [`RuntimeError::Corrupt`] otherwise; both name the event's seq.
    pub fn replay_failed(instance: &impl std::fmt::Display, e: &ReplayError) -> RuntimeError {
        let what = format!("instance {instance} event {}", e.seq);
        match &e.cause {
            ReplayCause::Decode(codec) => RuntimeError::undecodable(what, codec),
            ReplayCause::Apply(evolve) => RuntimeError::Corrupt {
                what,
                detail: evolve.to_string(),
            },
        }
    }

    /// The error for a stored event `what` that cannot be decoded:
    /// [`RuntimeError::Unreadable`] when the codec says the record is too
    /// deep to read, [`RuntimeError::Corrupt`] otherwise.
    pub fn undecodable(what: String, e: &CodecError) -> RuntimeError {
        match e {
            CodecError::TooDeep { .. } => RuntimeError::Unreadable {
                what,
                detail: e.to_string(),
            },
            _ => RuntimeError::Corrupt {
                what,
                detail: e.to_string(),
            },
        }
    }
}

/// Shorthand for runtime results.
pub type RuntimeResult<T> = Result<T, RuntimeError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn rejections_and_store_errors_keep_their_typed_source() {
        let e = RuntimeError::Rejected {
            instance: InstanceRef::new("i", "1"),
            reason: DecideError::NotRunning,
        };
        let src = e.source().and_then(|s| s.downcast_ref::<DecideError>());
        assert_eq!(src, Some(&DecideError::NotRunning));
        let e = RuntimeError::from(StoreError::Invalid("x".into()));
        let src = e.source().and_then(|s| s.downcast_ref::<Arc<StoreError>>());
        assert_eq!(
            src.map(|a| a.as_ref()),
            Some(&StoreError::Invalid("x".into()))
        );
    }

    #[test]
    fn a_too_deep_record_is_unreadable_not_corrupt() {
        let deep = RuntimeError::undecodable("event 3".into(), &CodecError::TooDeep { depth: 131 });
        assert!(matches!(deep, RuntimeError::Unreadable { .. }));
        let text = deep.to_string();
        assert!(
            text.starts_with("cannot read event 3: ") && !text.contains("corrupt"),
            "{text}"
        );
        let bad = RuntimeError::undecodable("event 3".into(), &CodecError::Empty);
        assert!(matches!(bad, RuntimeError::Corrupt { .. }));
    }
}
