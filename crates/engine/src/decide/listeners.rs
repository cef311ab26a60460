//! Opens the listeners of a scope instance's event sub-processes (see
//! `event_sub`): one token parked at each timer, message or signal start
//! event, holding its subscription. Runs as `Step::OpenListeners` right
//! after the scope's start tokens are spawned (before they move), so a kept
//! signal that interrupts at once cancels them. Calls only downward:
//! `event_sub`, `message`, `signal`, `timer` and [`Exec`].

use super::{DecideError, Exec, event_sub, message, signal, timer};
use crate::event::Event;
use crate::ids::{ScopeId, TokenId};
use windlass_model::{EventTrigger, NodeKind, ScopeIdx};

/// Scope instance `scope` (of graph scope `gs`) has opened: park a listener
/// at each timer, message or signal start event of its event
/// sub-processes.
pub fn open(ex: &mut Exec<'_>, scope: ScopeId, gs: ScopeIdx) -> Result<(), DecideError> {
    let g = ex.g;
    for &esp in &g.scope(gs).event_subprocesses {
        let NodeKind::SubProcess { scope: inner, .. } = g.node(esp).kind else {
            return Err(DecideError::unexpected(g.node(esp), "a sub-process"));
        };
        for &start in &g.scope(inner).children {
            let NodeKind::StartEvent { trigger, .. } = &g.node(start).kind else {
                continue;
            };
            if !matches!(
                trigger,
                EventTrigger::Timer(_) | EventTrigger::Message { .. } | EventTrigger::Signal { .. }
            ) {
                continue;
            }
            if ex.st.is_finished() || ex.st.scope(scope).is_none() {
                return Ok(());
            }
            let token = ex.st.next_token;
            ex.emit(Event::TokenCreated {
                token,
                scope,
                node: start,
                inner: false,
            })?;
            match trigger {
                EventTrigger::Timer(_) => timer::open_listener(ex, token, start)?,
                EventTrigger::Message { .. } => message::open(ex, token, start)?,
                _ => signal::open(ex, token, start)?,
            }
            // An interrupting listener that fired at once (a kept signal)
            // took the scope over: the others stay closed.
            if ex.st.token(token).is_none() && event_sub::interrupting(ex, start) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Opens the subscription of listener `token` again (an incident on its
/// timer or correlation key was resolved).
pub fn reopen(ex: &mut Exec<'_>, token: TokenId) -> Result<(), DecideError> {
    let start = ex.token(token)?.node;
    match &ex.g.node(start).kind {
        NodeKind::StartEvent {
            trigger: EventTrigger::Timer(_),
            ..
        } => timer::open_listener(ex, token, start),
        NodeKind::StartEvent {
            trigger: EventTrigger::Message { .. },
            ..
        } => message::open(ex, token, start),
        NodeKind::StartEvent {
            trigger: EventTrigger::Signal { .. },
            ..
        } => signal::open(ex, token, start),
        _ => Err(DecideError::unexpected(
            ex.g.node(start),
            "a timer, message or signal start event",
        )),
    }
}
