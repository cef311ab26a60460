//! Small identifiers used inside one instance: tokens, scope instances,
//! incidents, and the instance-agnostic part of a job's idempotency key.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A token of one instance (dense, never reused within the instance).
pub type TokenId = u32;
/// A scope instance (process, sub-process run, loop/multi-instance element).
pub type ScopeId = u32;
/// An incident of one instance.
pub type IncidentId = u32;

/// The instance-agnostic parts of a job's idempotency key: the runtime adds the
/// instance id and run id. Stable across replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobKey {
    /// The node index of the task (or complex gateway) in the graph.
    pub node: u32,
    /// The token waiting for the job.
    pub token: TokenId,
    /// 1-based attempt number.
    pub attempt: u32,
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}/t{}/a{}", self.node, self.token, self.attempt)
    }
}
