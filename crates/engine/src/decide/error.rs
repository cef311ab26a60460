//! Why a command could not be decided: rejections a caller can map (an
//! unknown job is "not found", a finished instance "conflict"), and internal
//! inconsistencies with a typed cause.

use crate::evolve::EvolveError;
use crate::ids::{IncidentId, JobKey, ScopeId, SubId, TokenId};
use thiserror::Error;

/// A command that cannot be applied (nothing was decided).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecideError {
    /// `Start` on an instance that has started.
    #[error("the instance has already started")]
    AlreadyStarted,
    /// A command other than `Start` on a new or finished instance.
    #[error("the instance is not running")]
    NotRunning,
    /// The job is not (or no longer) pending.
    #[error("no pending job {0}")]
    UnknownJob(JobKey),
    /// The token does not wait for a child instance.
    #[error("token {0} does not wait for a child instance")]
    NotWaitingForChild(TokenId),
    /// A child's escalation whose number was taken already (a notice
    /// delivered twice).
    #[error("escalation {number} of the child of token {token} was taken already")]
    EscalationTaken {
        /// The call activity's token.
        token: TokenId,
        /// The escalation's number.
        number: u32,
    },
    /// No open subscription (timer, message or signal wait) with this id:
    /// it fired or was closed already (stale or duplicate delivery).
    #[error("no open subscription {0}")]
    UnknownSubscription(SubId),
    /// No open incident with this id.
    #[error("no open incident {0}")]
    UnknownIncident(IncidentId),
    /// `Cancel` while the cleanup of an earlier cancel still runs.
    #[error("the instance is already being cancelled")]
    AlreadyCancelling,
    /// `Suspend` on a suspended instance.
    #[error("the instance is already suspended")]
    AlreadySuspended,
    /// `GrantDedup` or `Supersede` for a key no open claim of the instance
    /// waits for.
    #[error("no claim of this instance waits for dedup key '{0}'")]
    NoDedupClaim(String),
    /// `Resume` on an instance that is not suspended.
    #[error("the instance is not suspended")]
    NotSuspended,
    /// `Reset` to a point inside one decision
    /// ([`InstanceState::in_transit`](crate::InstanceState::in_transit)).
    #[error(
        "event {at_seq} is inside one decision ({detail}); reset to an event where every \
         token waits, such as the last event of a commit"
    )]
    ResetInsideDecision {
        /// The reset point.
        at_seq: u64,
        /// What is in transit there.
        detail: String,
    },
    /// A timer fire (or skip) for a suspended instance: timers are held
    /// until it is resumed (the caller keeps the fire and repeats it then).
    #[error("the instance is suspended: timer {0} is held until it is resumed")]
    Suspended(SubId),
    /// The process has nowhere to start.
    #[error("process '{0}' has no start event and no flow node without incoming flows")]
    NoStartNode(String),
    /// The requested start event does not exist at process level.
    #[error("process '{process}' has no start event '{id}' at process level")]
    StartEventNotFound {
        /// Process id.
        process: String,
        /// Requested start event id.
        id: String,
    },
    /// A value of the command exceeds the value limit (start variables,
    /// variables of a skipped incident); nothing was decided.
    #[error("refused: {0}")]
    ValueLimit(Box<windlass_types::ValueLimitError>),
    /// An internal inconsistency (a bug): the working state must be discarded.
    #[error("internal engine error: {0}")]
    Internal(#[from] InternalError),
}

/// An internal inconsistency found while deciding: a bug in the engine or a
/// state that does not belong to the plan.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InternalError {
    /// A decided event did not apply to the working state.
    #[error("a decided event does not fit the state: {0}")]
    Evolve(#[from] EvolveError),
    /// A token the decision refers to is not in the state.
    #[error("token {0} vanished")]
    TokenVanished(TokenId),
    /// A scope instance the decision refers to is not in the state.
    #[error("scope {0} vanished")]
    ScopeVanished(ScopeId),
    /// A scope instance other than the process has no owning token.
    #[error("scope {0} has no owner")]
    ScopeWithoutOwner(ScopeId),
    /// A node is not of the kind the step expects (the plan should have
    /// rejected the definition).
    #[error("'{node}' is not {expected}")]
    UnexpectedNode {
        /// The node's id.
        node: String,
        /// What the step expected, e.g. "an activity".
        expected: &'static str,
    },
}

impl From<EvolveError> for DecideError {
    fn from(e: EvolveError) -> Self {
        DecideError::Internal(InternalError::Evolve(e))
    }
}

impl DecideError {
    /// An [`InternalError::UnexpectedNode`].
    pub(crate) fn unexpected(node: &windlass_model::Node, expected: &'static str) -> Self {
        DecideError::Internal(InternalError::UnexpectedNode {
            node: node.id.clone(),
            expected,
        })
    }
}

impl From<windlass_types::ValueLimitError> for DecideError {
    /// Boxed, so that every `Result<_, DecideError>` on the decide path
    /// stays small.
    fn from(e: windlass_types::ValueLimitError) -> Self {
        DecideError::ValueLimit(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TokenId;
    use std::error::Error as _;

    #[test]
    fn internal_errors_keep_their_typed_cause() {
        let e = DecideError::from(EvolveError::UnknownToken {
            tag: 5,
            token: TokenId(7),
        });
        let internal = e.source().and_then(|s| s.downcast_ref::<InternalError>());
        assert!(matches!(internal, Some(InternalError::Evolve(_))));
        let evolve = internal
            .and_then(|i| i.source())
            .and_then(|s| s.downcast_ref::<EvolveError>());
        assert_eq!(
            evolve,
            Some(&EvolveError::UnknownToken {
                tag: 5,
                token: TokenId(7)
            })
        );
    }
}
