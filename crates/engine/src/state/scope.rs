//! Scope instances: the process, sub-process runs and loop elements, each
//! with its own variables.

use super::compensation::{Compensable, ScopeCompensation};
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
    /// Its compensation records, when it has any (boxed: few scopes do).
    pub compensation: Option<Box<ScopeCompensation>>,
}

impl ScopeInst {
    /// Its completed activities that can be compensated, in completion
    /// order (`CompensationRecorded`).
    pub fn compensable(&self) -> &[Compensable] {
        self.compensation
            .as_deref()
            .map_or(&[], |c| c.compensable.as_slice())
    }

    /// For a compensation run: the activities still to compensate, next
    /// first.
    pub fn pending(&self) -> &[Compensable] {
        self.compensation
            .as_deref()
            .map_or(&[], |c| c.pending.as_slice())
    }

    /// Its records, made on first use.
    pub(crate) fn compensation_mut(&mut self) -> &mut ScopeCompensation {
        self.compensation.get_or_insert_with(Box::default)
    }
}
