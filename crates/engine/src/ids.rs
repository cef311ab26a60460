//! Small identifiers used inside one instance: tokens, scope instances,
//! incidents, subscriptions, and the instance-agnostic part of a job's idempotency key.
//!
//! The ids are newtypes over `u32` with `#[serde(transparent)]`: they encode
//! (postcard, JSON) exactly as the bare numbers did, and display as them.

use serde::{Deserialize, Serialize};
use std::fmt;
use windlass_model::NodeIdx;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The id after this one.
            pub fn next(self) -> Self {
                Self(self.0 + 1)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            /// Parses the decimal form [`fmt::Display`] writes.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id!(
    /// A token of one instance (dense, never reused within the instance).
    TokenId
);
id!(
    /// A scope instance (process, sub-process run, loop/multi-instance
    /// element); 0 is the process scope.
    ScopeId
);
id!(
    /// An incident of one instance.
    IncidentId
);
id!(
    /// A subscription of one instance: an open wait for a timer (later a
    /// message or signal) at a catch event, boundary event or event
    /// sub-process start. Dense, never reused within the instance, so a
    /// stale or duplicate fire of a closed subscription is recognised.
    SubId
);

impl ScopeId {
    /// The process scope instance.
    pub const ROOT: ScopeId = ScopeId(0);
}

/// The instance-agnostic parts of a job's idempotency key: the runtime adds the
/// instance id and run id. Stable across replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobKey {
    /// The task (or complex gateway) node in the graph.
    pub node: NodeIdx,
    /// The token waiting for the job.
    pub token: TokenId,
    /// 1-based attempt number.
    pub attempt: u32,
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}/t{}/a{}", self.node.0, self.token, self.attempt)
    }
}
