//! Messages: intermediate message catch events, receive tasks with a
//! `messageRef`, message boundary events (interrupting and
//! non-interrupting) and the message start events of event sub-processes
//! (their listeners, `event_sub`).
//!
//! A message wait is a subscription, like a timer: `MessageSubscribed`
//! opens it with the message name and the correlation key its expression
//! had at that moment (never evaluated again); `Command::CorrelateMessage`
//! delivers a message to it (`MessageCorrelated`); whatever ends its token
//! closes it (`MessageUnsubscribed`, see `Exec::close_subscriptions`).
//! Matching a published message to a subscription (name, key, buffering,
//! time-to-live) is the caller's: the engine only sees the chosen
//! subscription. A non-interrupting boundary event re-opens as a new
//! subscription after each message, so it catches every message until its
//! activity ends. Calls only downward: `cancel`, `flow`, `vars` and
//! [`Exec`].

use super::{DecideError, Exec, cancel, event_gateway, event_sub, flow, vars};
use crate::event::Event;
use crate::ids::{SubId, TokenId};
use crate::state::{ScopeChain, SubKind};
use serde_json::Value;
use windlass_model::{EventTrigger, ExprSpec, NodeIdx, NodeKind};
use windlass_types::Vars;

/// The message (name, correlation key expression) node `node` catches, if
/// it is a message catch, boundary or start event or a receive task with a
/// `messageRef`.
pub fn message_of(node: &windlass_model::Node) -> Option<(&str, Option<&ExprSpec>)> {
    match &node.kind {
        NodeKind::Task {
            message: Some(m), ..
        } => Some((&m.name, m.correlation_key.as_deref())),
        NodeKind::IntermediateCatch {
            trigger:
                EventTrigger::Message {
                    name,
                    correlation_key,
                },
        }
        | NodeKind::StartEvent {
            trigger:
                EventTrigger::Message {
                    name,
                    correlation_key,
                },
            ..
        }
        | NodeKind::Boundary {
            trigger:
                EventTrigger::Message {
                    name,
                    correlation_key,
                },
            ..
        } => Some((name, correlation_key.as_deref())),
        _ => None,
    }
}

/// Opens a message subscription of `token` for catching node `node`,
/// evaluating its correlation key in the token's scope. An evaluation
/// that fails, or a key that is null, a list or a map, names the node and
/// nothing opens: an incident on the token. At a catch event retry
/// evaluates again and skip moves on; for a boundary event, an event-based
/// gateway's catch event or an event sub-process's listener the token's
/// other subscriptions close and its resolution opens them all again
/// ([`crate::event::IncidentSite::Subscriptions`]).
pub fn open(ex: &mut Exec<'_>, token: TokenId, node: NodeIdx) -> Result<(), DecideError> {
    let g = ex.g;
    let n = g.node(node);
    let Some((name, key_expr)) = message_of(n) else {
        return Err(DecideError::unexpected(
            n,
            "a message catch or boundary event",
        ));
    };
    let correlation_key = match key_expr {
        None => None,
        Some(expr) => {
            let scope = ex.token(token)?.scope;
            let r = vars::eval(n, "correlation key", expr, &ScopeChain::new(ex.st, scope))
                .and_then(|v| key_text(v, &n.id, expr));
            // At its own catch event the token's work is the wait; a
            // boundary event, an event-based gateway's catch event or a
            // listener is one of the subscriptions the token opens.
            let at_catch =
                ex.token(token)?.node == node && !event_sub::is_listener_token(ex, token);
            let key = if at_catch {
                ex.eval_or_incident(token, r)?
            } else {
                ex.eval_or_subscriptions_incident(token, r)?
            };
            match key {
                Some(k) => Some(k),
                None => return Ok(()),
            }
        }
    };
    let sub = ex.st.next_sub;
    ex.emit(Event::MessageSubscribed {
        sub,
        token,
        node,
        name: name.to_string(),
        correlation_key,
    })
}

/// A correlation key value as text: strings as they are, numbers and
/// booleans as written in JSON; anything else is refused.
pub fn key_text(v: Value, node: &str, expr: &ExprSpec) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "correlation key `{}` of '{node}' is {}, not a string or number",
            expr.source(),
            windlass_expr::type_name(&other)
        )),
    }
}

/// A token arrived at an intermediate message catch event, or started a
/// receive task with a message: it waits there.
pub fn arrive_at_catch(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.token(id)?.node;
    open(ex, id, node)
}

/// True when token `id` waits at an intermediate message catch event or a
/// receive task with a message (its incident is a correlation key that
/// could not be evaluated).
pub fn is_catch(ex: &Exec<'_>, id: TokenId) -> bool {
    ex.st.token(id).is_some_and(|t| {
        matches!(
            ex.g.node(t.node).kind,
            NodeKind::IntermediateCatch {
                trigger: EventTrigger::Message { .. }
            } | NodeKind::Task {
                message: Some(_),
                ..
            }
        )
    })
}

/// Token `id` took its message at its own node: a catch event leaves, a
/// receive task completes (`ActivityCompleted`, then leaves or ends its
/// multi-instance element).
fn caught(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    if matches!(ex.node_of(id)?.kind, NodeKind::Task { .. }) {
        flow::finish(ex, id)
    } else {
        flow::leave(ex, id)
    }
}

/// Resolves the incident of a message catch event: a retry evaluates the
/// correlation key again and subscribes, a skip sets `vars` and moves on as
/// if a message had arrived.
pub fn resolve_catch(
    ex: &mut Exec<'_>,
    id: TokenId,
    skip: Option<&Vars>,
) -> Result<(), DecideError> {
    match skip {
        None => arrive_at_catch(ex, id),
        Some(vars) => {
            let scope = ex.token(id)?.scope;
            ex.propagate(scope, vars)?;
            caught(ex, id)
        }
    }
}

/// An activity of token `id` started: open a subscription for each of its
/// message boundary events.
pub fn open_boundaries(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    for &b in g.node(t.node).boundary_events.iter() {
        if message_of(g.node(b)).is_none() {
            continue;
        }
        open(ex, id, b)?;
        if ex.st.is_finished() || ex.in_incident(id) {
            return Ok(());
        }
    }
    Ok(())
}

/// `Command::CorrelateMessage`: a message reached open subscription `sub`.
/// At a catch event the token moves on; at a boundary event a token starts
/// there (interrupting: the activity is cancelled first; non-interrupting:
/// the subscription re-opens). The message's variables go through the
/// catching node's output mappings, or are set as they are; a mapping that
/// fails is an incident holding the catching token.
pub fn correlate(
    ex: &mut Exec<'_>,
    sub: SubId,
    message_id: Option<&str>,
    vars: &Vars,
) -> Result<(), DecideError> {
    let s = ex
        .st
        .subscription(sub)
        .cloned()
        .ok_or(DecideError::UnknownSubscription(sub))?;
    if !matches!(s.kind, SubKind::Message { .. }) {
        return Err(DecideError::UnknownSubscription(sub));
    }
    let g = ex.g;
    let t = ex.token(s.token)?;
    ex.emit(Event::MessageCorrelated {
        sub,
        message_id: message_id.map(str::to_string),
        vars: vars.clone(),
    })?;
    let node = g.node(s.node);
    if event_sub::is_listener(ex, &t) {
        return event_sub::triggered(ex, s.token, vars, |ex| open(ex, s.token, s.node));
    }
    let at_gateway = event_gateway::waits_at_gateway(ex, s.token)?;
    if at_gateway {
        event_gateway::won(ex, s.token, s.node)?;
    }
    if at_gateway || t.node == s.node {
        // A catch event or receive task: the token takes the message and
        // moves on.
        if !ex.apply_outputs(s.token, vars)? || ex.st.is_finished() {
            return Ok(());
        }
        return caught(ex, s.token);
    }
    let NodeKind::Boundary {
        cancel_activity, ..
    } = node.kind
    else {
        return Err(DecideError::unexpected(node, "a message boundary event"));
    };
    let token = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token,
        scope: t.scope,
        node: s.node,
        inner: false,
    })?;
    if cancel_activity {
        cancel::cancel_token(ex, s.token)?;
    } else {
        open(ex, s.token, s.node)?;
    }
    if !ex.apply_outputs(token, vars)? || ex.st.is_finished() {
        return Ok(());
    }
    ex.arrive(token);
    Ok(())
}
