//! Message throw and end events: a token arriving at one throws the
//! referenced message and moves on (an end event ends the token).
//!
//! The correlation key is the `<message>`'s correlation key expression
//! (the one its catch events use), evaluated in the throwing token's scope;
//! the message's variables are the event's input mappings (none without
//! mappings: a thrown message never carries the whole scope by accident).
//! `MessageThrown` records it with the instance's running number of thrown
//! messages, and `Effect::PublishMessage` asks the runtime to publish it
//! after the commit; the number lets the runtime give it a message id, so
//! a publication repeated after a crash is a duplicate. The event's
//! `windlass:publish ttl` (from the definition, not recorded in the event)
//! rides along in the effect: how long the message stays buffered when
//! nothing waits. A key or mapping
//! that cannot be evaluated is an incident on the token: retry evaluates
//! again and throws, skip moves on without throwing. Calls only downward:
//! `flow`, `message`, `vars` and [`Exec`].

use super::{DecideError, Exec, flow, message, vars};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::TokenId;
use crate::state::ScopeChain;
use windlass_model::{EventResult, NodeKind};
use windlass_types::Vars;

/// The message a node throws (name, correlation key expression,
/// time-to-live), if it is a message throw or end event.
type Thrown<'g> = (&'g str, Option<&'g windlass_model::ExprSpec>, Option<u64>);

fn thrown(node: &windlass_model::Node) -> Option<Thrown<'_>> {
    match &node.kind {
        NodeKind::IntermediateThrow {
            result:
                EventResult::Message {
                    name,
                    correlation_key,
                    ttl_millis,
                },
        }
        | NodeKind::EndEvent {
            result:
                EventResult::Message {
                    name,
                    correlation_key,
                    ttl_millis,
                },
        } => Some((name, correlation_key.as_deref(), *ttl_millis)),
        _ => None,
    }
}

/// True when token `id` is at a message throw or end event (its incident
/// is a key or mapping that could not be evaluated).
pub fn is_throw(ex: &Exec<'_>, id: TokenId) -> bool {
    ex.st
        .token(id)
        .is_some_and(|t| thrown(ex.g.node(t.node)).is_some())
}

/// Token `id` arrived at a message throw or end event: throw, then move on.
pub fn arrive(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some((name, key_expr, ttl_millis)) = thrown(node) else {
        return Err(DecideError::unexpected(
            node,
            "a message throw or end event",
        ));
    };
    let correlation_key = match key_expr {
        None => None,
        Some(expr) => {
            let r = vars::eval(
                node,
                "correlation key",
                expr,
                &ScopeChain::new(ex.st, t.scope),
            )
            .and_then(|v| message::key_text(v, &node.id, expr));
            match ex.eval_or_incident(id, r)? {
                Some(k) => Some(k),
                None => return Ok(()),
            }
        }
    };
    let Some(sent) = ex.inputs(id, node, t.scope)? else {
        return Ok(());
    };
    let number = ex.st.messages_thrown;
    ex.emit(Event::MessageThrown {
        token: id,
        node: t.node,
        number,
        name: name.to_string(),
        correlation_key: correlation_key.clone(),
        vars: sent.clone(),
    })?;
    ex.effect(Effect::PublishMessage {
        number,
        name: name.to_string(),
        correlation_key,
        vars: sent,
        ttl_millis,
    });
    move_on(ex, id)
}

/// After the throw (or its skip): a throw event leaves, an end event ends
/// the token (signal throws too, `signal_throw`).
pub fn move_on(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    if ex.st.is_finished() {
        return Ok(());
    }
    if matches!(ex.node_of(id)?.kind, NodeKind::EndEvent { .. }) {
        flow::end_token(ex, id)
    } else {
        flow::leave(ex, id)
    }
}

/// Resolves the incident of a message throw or end event: a retry
/// evaluates again and throws, a skip sets `vars` and moves on without
/// throwing.
pub fn resolve(ex: &mut Exec<'_>, id: TokenId, skip: Option<&Vars>) -> Result<(), DecideError> {
    match skip {
        None => arrive(ex, id),
        Some(vars) => {
            let scope = ex.token(id)?.scope;
            ex.propagate(scope, vars)?;
            move_on(ex, id)
        }
    }
}
