//! Signal throw and end events: a token arriving at one throws the
//! referenced signal as a broadcast and moves on (an end event ends the
//! token).
//!
//! The signal's variables are the event's input mappings (none without
//! mappings, as for a thrown message). `SignalThrown` records it with the
//! instance's running number of thrown signals, and
//! `Effect::BroadcastSignal` asks the runtime to broadcast it after the
//! commit: every open signal subscription of every instance (this one's
//! included) and every signal start event. A mapping that cannot be
//! evaluated is an incident on the token: retry evaluates again and throws,
//! skip moves on without throwing. Calls only downward: `message_throw`
//! (moving on), `flow` and [`Exec`].

use super::{DecideError, Exec, message_throw};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::TokenId;
use windlass_model::{EventResult, NodeKind};
use windlass_types::Vars;

/// The signal name a node throws, if it is a signal throw or end event.
fn thrown(node: &windlass_model::Node) -> Option<&str> {
    match &node.kind {
        NodeKind::IntermediateThrow {
            result: EventResult::Signal { name },
        }
        | NodeKind::EndEvent {
            result: EventResult::Signal { name },
        } => Some(name),
        _ => None,
    }
}

/// True when token `id` is at a signal throw or end event (its incident is
/// an input mapping that could not be evaluated).
pub fn is_throw(ex: &Exec<'_>, id: TokenId) -> bool {
    ex.st
        .token(id)
        .is_some_and(|t| thrown(ex.g.node(t.node)).is_some())
}

/// Token `id` arrived at a signal throw or end event: throw, then move on.
pub fn arrive(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(name) = thrown(node) else {
        return Err(DecideError::unexpected(node, "a signal throw or end event"));
    };
    let Some(sent) = ex.inputs(id, node, t.scope)? else {
        return Ok(());
    };
    let number = ex.st.signals_thrown;
    ex.emit(Event::SignalThrown {
        token: id,
        node: t.node,
        number,
        name: name.to_string(),
        vars: sent.clone(),
    })?;
    ex.effect(Effect::BroadcastSignal {
        number,
        name: name.to_string(),
        vars: sent,
    });
    message_throw::move_on(ex, id)
}

/// Resolves the incident of a signal throw or end event: a retry evaluates
/// again and throws, a skip sets `vars` and moves on without throwing.
pub fn resolve(ex: &mut Exec<'_>, id: TokenId, skip: Option<&Vars>) -> Result<(), DecideError> {
    match skip {
        None => arrive(ex, id),
        Some(vars) => {
            let scope = ex.token(id)?.scope;
            ex.propagate(scope, vars)?;
            message_throw::move_on(ex, id)
        }
    }
}
