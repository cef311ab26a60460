//! Scope instances: the process, sub-process runs and loop elements, each
//! with its own variables.

use super::compensation::Compensable;
use crate::event::ScopeKind;
use crate::ids::{ScopeId, TokenId};
use windlass_types::Vars;

/// One scope instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeInst {
    /// Scope instance id (0 is the process).
    pub id: ScopeId,
    /// Enclosing scope instance.
    pub parent: Option<ScopeId>,
    /// What it is.
    pub kind: ScopeKind,
    /// The token that waits for it (sub-process node / loop body).
    pub owner: Option<TokenId>,
    /// Its local variables.
    pub vars: Vars,
    /// Its completed activities that can be compensated, in completion
    /// order (`CompensationRecorded`).
    pub compensable: Vec<Compensable>,
    /// For a compensation run: the activities still to compensate, next
    /// first.
    pub pending: Vec<Compensable>,
}
