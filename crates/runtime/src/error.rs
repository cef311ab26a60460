//! The runtime's error type: every failure names what and where.

use windlass_store_api::{InstanceRef, StoreError};

/// What went wrong in a runtime operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed (the message names the backend's reason).
    #[error("store error: {0}")]
    Store(#[from] StoreError),
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
    /// An instance with this id already exists.
    #[error("instance {0} already exists")]
    InstanceExists(InstanceRef),
    /// The engine refused the command.
    #[error("instance {instance}: {reason}")]
    Rejected {
        /// The instance.
        instance: InstanceRef,
        /// The engine's reason.
        reason: String,
    },
    /// A stored history or outbox row could not be decoded.
    #[error("corrupt data for {what}: {detail}")]
    Corrupt {
        /// Which instance or outbox row.
        what: String,
        /// What is wrong.
        detail: String,
    },
    /// A job key string is not of the form `instance/run/node/token/attempt`.
    #[error("malformed job key '{0}' (expected instance/run/node/token/attempt)")]
    BadJobKey(String),
    /// The runtime is shutting down or has stopped; nothing new is accepted.
    #[error("the runtime is shutting down")]
    ShuttingDown,
    /// An id or key is over its length limit (see [`windlass_types::limits`]).
    #[error(transparent)]
    Limit(#[from] windlass_types::limits::LimitError),
    /// An I/O failure outside the store (signals, /proc).
    #[error("I/O error: {0}")]
    Io(String),
}

/// Shorthand for runtime results.
pub type RuntimeResult<T> = Result<T, RuntimeError>;
