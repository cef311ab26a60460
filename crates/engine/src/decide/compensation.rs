//! Compensation and transactions. A compensation throw or end event
//! compensates the completed activities of its scope instance (for one in
//! an event sub-process, of the scope holding it): all of them, latest
//! first, or only the one its `activityRef` names. A **compensation run**
//! (a scope instance of kind [`ScopeKind::Compensation`], owned by the
//! throwing token, whose parent is the compensated scope instance so that
//! handlers read its variables) takes the records one at a time: a
//! handler runs as a token in the run; a completed sub-process or loop
//! element is restored as a nested run (with its kept variables) that runs
//! its compensation event sub-process if it has one, else compensates its
//! own records the same way. When a run has nothing left it closes and its
//! owner goes on: a throw event leaves, an end event ends, a restored
//! sub-process's token ends in the run above.
//!
//! A cancel end event cancels the other tokens of its transaction,
//! compensates the transaction's completed activities the same way, then
//! leaves by the transaction's cancel boundary event (the transaction is
//! cancelled). Calls only downward: `compensable`, `cancel`, `event_sub`,
//! `flow` and [`Exec`].

use super::cancel::cancel_token;
use super::compensable::{compensation_event_sub, handler_of};
use super::{DecideError, Exec, InternalError, event_sub, flow};
use crate::event::{Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use windlass_model::{EventResult, EventTrigger, NodeIdx, NodeKind};
use windlass_types::Vars;

/// Token `id` arrived at a compensation throw or end event.
pub fn arrive(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let activity = match node.kind {
        NodeKind::IntermediateThrow {
            result: EventResult::Compensation { activity },
        }
        | NodeKind::EndEvent {
            result: EventResult::Compensation { activity },
        } => activity,
        _ => {
            return Err(DecideError::unexpected(
                node,
                "a compensation throw or end event",
            ));
        }
    };
    let of = match ex.st.scope(t.scope) {
        Some(s) if matches!(s.kind, ScopeKind::EventSubProcess(_)) => s.parent.unwrap_or(t.scope),
        Some(_) => t.scope,
        None => return Err(InternalError::ScopeVanished(t.scope).into()),
    };
    if open_run(ex, id, of, activity)? {
        return Ok(());
    }
    owner_goes_on(ex, id)
}

/// Token `id` arrived at a cancel end event of a transaction.
pub fn cancel_transaction(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    let others: Vec<TokenId> = ex
        .st
        .tokens_in(t.scope)
        .map(|o| o.id)
        .filter(|o| *o != id)
        .collect();
    for o in others {
        cancel_token(ex, o)?;
    }
    if open_run(ex, id, t.scope, None)? {
        return Ok(());
    }
    leave_transaction(ex, id)
}

/// Opens a compensation run, owned by token `id`, for the records of scope
/// instance `of` (only `activity`'s when given) and starts it. False when
/// there was nothing to compensate (recorded all the same).
fn open_run(
    ex: &mut Exec<'_>,
    id: TokenId,
    of: ScopeId,
    activity: Option<NodeIdx>,
) -> Result<bool, DecideError> {
    let t = ex.token(id)?;
    let any = ex.st.scope(of).is_some_and(|s| {
        s.compensable()
            .iter()
            .any(|c| activity.is_none_or(|a| a == c.node))
    });
    let run = ex.st.next_scope;
    if any {
        ex.emit(Event::ScopeEntered {
            scope: run,
            parent: Some(of),
            kind: ScopeKind::Compensation,
            owner: Some(id),
            vars: Vars::new(),
        })?;
    }
    ex.emit(Event::CompensationThrown {
        token: id,
        node: t.node,
        of,
        activity,
        into: any.then_some(run),
    })?;
    if any {
        next(ex, run)?;
    }
    Ok(any)
}

/// A token of compensation run `run` ended and none is left: the run goes
/// on with its next activity, or is done.
pub fn emptied(ex: &mut Exec<'_>, run: ScopeId) -> Result<(), DecideError> {
    next(ex, run)
}

/// Compensation run `run` starts its next activity, or closes when none is
/// left.
fn next(ex: &mut Exec<'_>, run: ScopeId) -> Result<(), DecideError> {
    let g = ex.g;
    let Some(s) = ex.st.scope(run) else {
        return Err(InternalError::ScopeVanished(run).into());
    };
    let Some(record) = s.pending().first().cloned() else {
        return close_run(ex, run);
    };
    let node = g.node(record.node);
    let Some(kept) = record.kept else {
        let Some(handler) = handler_of(g, node) else {
            return Err(DecideError::unexpected(
                node,
                "an activity with a compensation handler",
            ));
        };
        ex.emit(Event::CompensationStarted {
            scope: run,
            node: record.node,
            into: None,
        })?;
        ex.spawn(run, handler, false)?;
        return Ok(());
    };
    // A completed sub-process run or loop element: restored as a nested
    // run owned by a token standing at the activity.
    let stand_in = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token: stand_in,
        scope: run,
        node: record.node,
        inner: false,
    })?;
    let restored = ex.st.next_scope;
    ex.emit(Event::ScopeEntered {
        scope: restored,
        parent: Some(run),
        kind: ScopeKind::Compensation,
        owner: Some(stand_in),
        vars: kept.vars.clone(),
    })?;
    ex.emit(Event::CompensationStarted {
        scope: run,
        node: record.node,
        into: Some(restored),
    })?;
    let esp = match node.kind {
        NodeKind::SubProcess { scope, .. } if !kept.element => compensation_event_sub(g, scope),
        _ => None,
    };
    if let Some((esp, start)) = esp {
        event_sub::enter(ex, restored, esp, start)?;
        return Ok(());
    }
    if !open_nested(ex, stand_in, restored)? {
        return close_run(ex, restored);
    }
    Ok(())
}

/// The restored scope `restored` compensates its own records (it is its
/// own run). False when it has none.
fn open_nested(
    ex: &mut Exec<'_>,
    stand_in: TokenId,
    restored: ScopeId,
) -> Result<bool, DecideError> {
    let t = ex.token(stand_in)?;
    let any = ex
        .st
        .scope(restored)
        .is_some_and(|s| !s.compensable().is_empty());
    ex.emit(Event::CompensationThrown {
        token: stand_in,
        node: t.node,
        of: restored,
        activity: None,
        into: any.then_some(restored),
    })?;
    if any {
        next(ex, restored)?;
    }
    Ok(any)
}

/// Run `run` has compensated everything: it closes and its owner goes on.
fn close_run(ex: &mut Exec<'_>, run: ScopeId) -> Result<(), DecideError> {
    let Some(owner) = ex.st.scope(run).and_then(|s| s.owner) else {
        return Err(InternalError::ScopeWithoutOwner(run).into());
    };
    ex.emit(Event::ScopeClosed { scope: run })?;
    owner_goes_on(ex, owner)
}

/// The compensation token `id` threw (or stood in for) is done: a throw
/// event leaves, a compensation end event ends, a cancel end event leaves
/// its transaction, a restored sub-process's token ends in its run.
fn owner_goes_on(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.node_of(id)?;
    match node.kind {
        NodeKind::IntermediateThrow { .. } => flow::leave(ex, id),
        NodeKind::EndEvent {
            result: EventResult::Cancel,
        } => leave_transaction(ex, id),
        _ => flow::end_token(ex, id),
    }
}

/// The transaction of token `id` (at its cancel end event, compensation
/// done) is cancelled and left by its cancel boundary event.
fn leave_transaction(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let Some(owner) = ex.st.scope(t.scope).and_then(|s| s.owner) else {
        return Err(InternalError::ScopeWithoutOwner(t.scope).into());
    };
    let o = ex.token(owner)?;
    let transaction = g.node(o.node);
    let boundary = transaction.boundary_events.iter().copied().find(|b| {
        matches!(
            g.node(*b).kind,
            NodeKind::Boundary {
                trigger: EventTrigger::Cancel,
                ..
            }
        )
    });
    let Some(boundary) = boundary else {
        return Err(DecideError::unexpected(
            transaction,
            "a transaction with a cancel boundary event",
        ));
    };
    ex.emit(Event::TransactionCancelled {
        token: id,
        transaction: owner,
        boundary,
    })?;
    ex.emit(Event::TokenEnded { token: id })?;
    let catcher = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token: catcher,
        scope: o.scope,
        node: boundary,
        inner: false,
    })?;
    cancel_token(ex, owner)?;
    ex.arrive(catcher);
    Ok(())
}
