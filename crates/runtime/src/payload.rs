//! The runtime's encoding of outbox payloads: a job request (binary, see
//! [`crate::job_payload`]), a pending child start and a finished child's
//! notice (JSON).

use crate::error::{RuntimeError, RuntimeResult};
use serde::{Deserialize, Serialize};
use windlass_engine::JobRequest;
use windlass_engine::ids::TokenId;
use windlass_types::Vars;

/// Outbox row kind of a job (followed by `:kind` when the task has one).
pub const KIND_JOB: &str = "job";
/// Outbox row kind of a pending child start.
pub const KIND_START_CHILD: &str = "start-child";
/// Outbox row kind of a finished child's notice to its parent.
pub const KIND_CHILD_DONE: &str = "child-done";

pub use crate::job_payload::{decode_job, encode_job};

/// The outbox kind of a job: `job` or `job:{kind}`.
pub fn job_kind(req: &JobRequest) -> String {
    match &req.kind {
        Some(k) => format!("{KIND_JOB}:{k}"),
        None => KIND_JOB.to_string(),
    }
}

/// A call activity's request for a child instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartChild {
    /// The parent's instance id.
    pub parent_id: String,
    /// The parent's run id.
    pub parent_run: String,
    /// The parent's definition key (the child runs a process of the same
    /// deployed document).
    pub parent_definition: String,
    /// The called process id.
    pub process_id: String,
    /// The call activity's token in the parent.
    pub token: TokenId,
    /// The child's input variables.
    pub vars: Vars,
}

/// A finished child's notice to its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildDone {
    /// The parent's call activity token.
    pub token: TokenId,
    /// Completed (true) or failed.
    pub completed: bool,
    /// Final variables (completed).
    pub outputs: Vars,
    /// Uncaught error code (failed).
    pub code: Option<String>,
    /// Why it failed.
    pub message: String,
}

/// Encodes a serialisable payload as JSON.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a JSON payload; `what` names the row.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> RuntimeResult<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(what, e))
}

fn corrupt(what: &str, e: serde_json::Error) -> RuntimeError {
    RuntimeError::Corrupt {
        what: what.to_string(),
        detail: e.to_string(),
    }
}
