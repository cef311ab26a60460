//! Event sub-processes started by a timer, a message or a signal.
//!
//! While a scope instance is open (the process, a sub-process run, an
//! event sub-process run), each of its event sub-processes with such a
//! start event has a **listener**: a token in the scope instance, parked at
//! the event sub-process's start event, holding the subscription (a
//! `TimerScheduled`, `MessageSubscribed` or `SignalSubscribed` like any
//! catch event's). A listener is not work: the scope completes when only
//! listeners are left, and closes them then (`TokenCancelled`, closing
//! their subscriptions). When a listener's subscription fires:
//!
//! - **interrupting** start event: every other token of the scope instance
//!   (other listeners included) is cancelled, the listener too, and the
//!   event sub-process runs in the scope's place;
//! - **non-interrupting**: the event sub-process runs alongside, and the
//!   listener subscribes again (a timer cycle re-arms until its repetitions
//!   are used up; a one-shot timer's listener closes after firing).
//!
//! A run of an event sub-process is an activity token at the event
//! sub-process node in the enclosing scope instance (keeping it open until
//! the run completes) owning an `EventSubProcess` scope instance whose
//! start token takes the message or signal variables. Error start events
//! are not listeners: a thrown error finds them (`throw`). Listeners are
//! opened by `listeners` (through `Step::OpenListeners`); the catch modules
//! hand a fired listener back here. Calls only downward: `cancel`, `vars`
//! and [`Exec`].

use super::{DecideError, Exec, Step, cancel};
use crate::event::{Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use crate::state::Token;
use windlass_model::{NodeIdx, NodeKind, ProcessGraph, ScopeIdx};
use windlass_types::Vars;

/// The event sub-process whose start event is `start`, if `start` is the
/// start event of one.
pub fn event_sub_of(g: &ProcessGraph, start: NodeIdx) -> Option<NodeIdx> {
    let node = g.node(start);
    if !matches!(node.kind, NodeKind::StartEvent { .. }) || node.scope == ScopeIdx::ROOT {
        return None;
    }
    let owner = g.scope(node.scope).owner?;
    matches!(
        g.node(owner).kind,
        NodeKind::SubProcess {
            triggered_by_event: true,
            ..
        }
    )
    .then_some(owner)
}

/// True when `t` is a listener: parked at an event sub-process's start
/// event from the enclosing scope instance (a token inside a run of the
/// event sub-process sits in its own `EventSubProcess` scope instance).
pub fn is_listener(ex: &Exec<'_>, t: &Token) -> bool {
    let node = ex.g.node(t.node);
    if event_sub_of(ex.g, t.node).is_none() {
        return false;
    }
    !ex.st
        .scope(t.scope)
        .is_some_and(|s| s.kind == ScopeKind::EventSubProcess(node.scope))
}

/// True when token `id` exists and is a listener.
pub fn is_listener_token(ex: &Exec<'_>, id: TokenId) -> bool {
    ex.st.token(id).is_some_and(|t| is_listener(ex, t))
}

/// Whether the start event `start` interrupts its scope.
pub fn interrupting(ex: &Exec<'_>, start: NodeIdx) -> bool {
    matches!(
        ex.g.node(start).kind,
        NodeKind::StartEvent {
            interrupting: true,
            ..
        }
    )
}

/// The subscription of listener `listener` fired (its event already
/// recorded) with `vars`. `reopen` subscribes a non-interrupting listener
/// again; it is not called for an interrupting one.
pub fn triggered(
    ex: &mut Exec<'_>,
    listener: TokenId,
    vars: &Vars,
    reopen: impl FnOnce(&mut Exec<'_>) -> Result<(), DecideError>,
) -> Result<(), DecideError> {
    let t = ex.token(listener)?;
    let Some(esp) = event_sub_of(ex.g, t.node) else {
        return Err(DecideError::unexpected(
            ex.g.node(t.node),
            "an event sub-process start event",
        ));
    };
    if interrupting(ex, t.node) {
        let others: Vec<TokenId> = ex
            .st
            .tokens_in(t.scope)
            .map(|o| o.id)
            .filter(|o| *o != listener)
            .collect();
        for o in others {
            cancel::cancel_token(ex, o)?;
        }
        cancel::cancel_token(ex, listener)?;
    } else {
        reopen(ex)?;
        if ex.st.is_finished() {
            return Ok(());
        }
        // A one-shot timer has nothing to wait for any more (a listener
        // held by an incident on re-arming its cycle waits for that).
        if ex.st.token(listener).is_some()
            && !ex.in_incident(listener)
            && ex.st.subscriptions_of(listener).next().is_none()
        {
            cancel::cancel_token(ex, listener)?;
        }
    }
    let start = enter(ex, t.scope, esp, t.node)?;
    // A failed output mapping holds the start token in an incident (its
    // queued arrival then waits for the resolution).
    ex.apply_outputs(start, vars).map(|_| ())
}

/// Runs event sub-process `esp` in scope instance `scope` from its start
/// event `start`: an activity token at `esp`, its `EventSubProcess` scope
/// instance, and a token at `start` inside (queued). Returns that token.
pub fn enter(
    ex: &mut Exec<'_>,
    scope: ScopeId,
    esp: NodeIdx,
    start: NodeIdx,
) -> Result<TokenId, DecideError> {
    let NodeKind::SubProcess { scope: inner, .. } = ex.g.node(esp).kind else {
        return Err(DecideError::unexpected(ex.g.node(esp), "a sub-process"));
    };
    let token = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token,
        scope,
        node: esp,
        inner: false,
    })?;
    let name = super::vars::resolve_name(ex, ex.g.node(esp), scope);
    ex.emit(Event::ActivityStarted {
        token,
        node: esp,
        name,
    })?;
    let new_scope = ex.st.next_scope;
    ex.emit(Event::ScopeEntered {
        scope: new_scope,
        parent: Some(scope),
        kind: ScopeKind::EventSubProcess(inner),
        owner: Some(token),
        vars: Vars::new(),
    })?;
    let first = ex.spawn(new_scope, start, false)?;
    ex.then(Step::OpenListeners(new_scope, inner));
    Ok(first)
}

/// Scope instance `scope` has no token but listeners: closes them. True
/// when only listeners (or nothing) were left, so the scope completes.
pub fn only_listeners_left(ex: &mut Exec<'_>, scope: ScopeId) -> Result<bool, DecideError> {
    if ex.st.tokens_in(scope).any(|t| !is_listener(ex, t)) {
        return Ok(false);
    }
    let listeners: Vec<TokenId> = ex.st.tokens_in(scope).map(|t| t.id).collect();
    for l in listeners {
        cancel::cancel_token(ex, l)?;
    }
    Ok(true)
}
