//! Compensation records: what a scope instance keeps of its completed
//! activities so that a compensation throw can run their handlers later,
//! and how the compensation events fold into them.

use super::{InstanceState, ScopeInst};
use crate::event::ScopeKind;
use crate::ids::ScopeId;
use windlass_model::NodeIdx;
use windlass_types::Vars;

/// A completed activity that can be compensated.
#[derive(Debug, Clone, PartialEq)]
pub struct Compensable {
    /// The activity.
    pub node: NodeIdx,
    /// For a completed sub-process or loop element whose own activities
    /// can be compensated: what it kept when it closed. `None`: the
    /// activity's compensation handler runs.
    pub kept: Option<Box<KeptScope>>,
}

/// What a completed sub-process run or loop element keeps for compensation.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptScope {
    /// True for a loop / multi-instance element (its event sub-processes
    /// are not looked at: the element is not a sub-process run).
    pub element: bool,
    /// Its variables when it closed.
    pub vars: Vars,
    /// Its compensable activities, in completion order.
    pub compensable: Vec<Compensable>,
}

/// What a scope instance keeps for compensation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScopeCompensation {
    /// Its completed activities that can be compensated, in completion
    /// order.
    pub compensable: Vec<Compensable>,
    /// For a compensation run: the activities still to compensate, next
    /// first.
    pub pending: Vec<Compensable>,
}

/// Why a compensation event does not fit the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompensationMismatch {
    /// A scope instance the event names is not open.
    UnknownScope(ScopeId),
    /// The run's next activity is not the one the event names.
    NotNext(ScopeId),
}

impl InstanceState {
    fn scope_or(&mut self, id: ScopeId) -> Result<&mut ScopeInst, CompensationMismatch> {
        self.scope_mut(id)
            .ok_or(CompensationMismatch::UnknownScope(id))
    }

    /// `CompensationRecorded`: `node` completed in `scope`, keeping the
    /// scope instance `kept` (still open) when there is one.
    pub(crate) fn record_compensable(
        &mut self,
        scope: ScopeId,
        node: NodeIdx,
        kept: Option<ScopeId>,
    ) -> Result<(), CompensationMismatch> {
        let kept = match kept {
            None => None,
            Some(k) => {
                let s = self.scope_or(k)?;
                let compensable = s
                    .compensation
                    .as_deref_mut()
                    .map(|c| std::mem::take(&mut c.compensable))
                    .unwrap_or_default();
                Some(Box::new(KeptScope {
                    element: matches!(s.kind, ScopeKind::Element(_)),
                    vars: s.vars.clone(),
                    compensable,
                }))
            }
        };
        self.scope_or(scope)?
            .compensation_mut()
            .compensable
            .push(Compensable { node, kept });
        Ok(())
    }

    /// `CompensationThrown` with a run: the records of `of` (all, or those
    /// of `activity`) move to the run `into`, latest first.
    pub(crate) fn throw_compensation(
        &mut self,
        of: ScopeId,
        activity: Option<NodeIdx>,
        into: ScopeId,
    ) -> Result<(), CompensationMismatch> {
        self.scope_or(into)?;
        let source = self.scope_or(of)?;
        let records = source.compensation_mut();
        let (taken, left): (Vec<Compensable>, Vec<Compensable>) =
            std::mem::take(&mut records.compensable)
                .into_iter()
                .partition(|c| activity.is_none_or(|a| a == c.node));
        records.compensable = left;
        let run = self.scope_or(into)?.compensation_mut();
        run.pending.extend(taken.into_iter().rev());
        Ok(())
    }

    /// `CompensationStarted`: the run `scope` takes its next record, which
    /// must be `node`'s; a kept scope's records go to `into`.
    pub(crate) fn start_compensation(
        &mut self,
        scope: ScopeId,
        node: NodeIdx,
        into: Option<ScopeId>,
    ) -> Result<(), CompensationMismatch> {
        let run = self.scope_or(scope)?;
        if run.pending().first().is_none_or(|c| c.node != node) {
            return Err(CompensationMismatch::NotNext(scope));
        }
        let next = run.compensation_mut().pending.remove(0);
        if let (Some(k), Some(kept)) = (into, next.kept) {
            self.scope_or(k)?.compensation_mut().compensable = kept.compensable;
        }
        Ok(())
    }
}
