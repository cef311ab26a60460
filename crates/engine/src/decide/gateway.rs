//! Gateways. Joining behaviour follows the number of incoming flows and
//! splitting behaviour the outgoing ones, whatever `gatewayDirection` says
//! (mixed gateways are allowed).
//!
//! - exclusive: never waits; the first true condition in document order,
//!   else the default flow (the explicit `default`, else the single
//!   unconditioned flow); neither → the instance fails naming the gateway.
//!   A condition that cannot be evaluated (exclusive, inclusive and complex
//!   splits) is an incident on the gateway's token: retry evaluates the
//!   conditions again, skip sets the given variables first.
//! - parallel: waits for a token on every incoming flow (per scope
//!   instance); takes every outgoing flow.
//! - inclusive: waits only for tokens that can still arrive (see
//!   `inclusive_join`); takes every unconditioned flow and every true one,
//!   else the default; none → failure.
//! - complex: with an `activationCondition` it collects tokens and fires when
//!   the condition (which sees `arrived`, the number of waiting tokens) is
//!   true; once nothing can reach it any more, tokens still waiting there
//!   end (the activation's reset). Without one each token creates a decision
//!   job whose output variables feed the outgoing conditions. It splits like
//!   an inclusive one.
//! - event-based: waits for the first of the catch events its outgoing flows
//!   lead to (timers and messages); see `event_gateway`.

use super::vars::{eval_bool, resolve_name};
use super::{DecideError, Exec, flow, job, message, signal, timer};
use crate::event::{Event, FlowReason, IncidentSite, JobPurpose};
use crate::ids::TokenId;
use crate::state::{Layered, ScopeChain, Wait};
use serde_json::Value;
use windlass_model::{FlowIdx, GatewayKind, Node, NodeKind};
use windlass_types::Vars;

fn gateway(
    node: &Node,
) -> Result<
    (
        GatewayKind,
        Option<FlowIdx>,
        Option<&windlass_model::ExprSpec>,
    ),
    DecideError,
> {
    match &node.kind {
        NodeKind::Gateway {
            kind,
            default,
            activation_condition,
        } => Ok((*kind, *default, activation_condition.as_deref())),
        _ => Err(DecideError::unexpected(node, "a gateway")),
    }
}

/// A token arrived at a gateway.
pub fn arrive(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let (kind, _, activation) = gateway(node)?;
    let joins = node.incoming.len() > 1;
    match kind {
        GatewayKind::Exclusive => split(ex, id, kind),
        GatewayKind::EventBased => wait_for_events(ex, id),
        GatewayKind::Parallel if joins => {
            wait_at_join(ex, id)?;
            let waiting = waiting_by_flow(ex, id);
            if waiting.iter().all(Option::is_some) {
                let merged: Vec<TokenId> =
                    waiting.into_iter().flatten().filter(|w| *w != id).collect();
                ex.emit(Event::JoinFired {
                    gateway: t.node,
                    token: id,
                    merged,
                })?;
                split(ex, id, kind)?;
            }
            Ok(())
        }
        GatewayKind::Inclusive if joins => wait_at_join(ex, id),
        GatewayKind::Complex if joins && activation.is_some() => {
            wait_at_join(ex, id)?;
            let Some(cond) = activation else {
                return Ok(());
            };
            let arrived: Vec<TokenId> = ex
                .st
                .tokens_in(t.scope)
                .filter(|o| o.node == t.node && o.wait == Wait::Join)
                .map(|o| o.id)
                .collect();
            let extra = Vars::from_iter([("arrived".to_string(), Value::from(arrived.len()))]);
            let r = eval_bool(
                node,
                "activation condition",
                cond,
                &Layered {
                    top: &extra,
                    rest: &ScopeChain::new(ex.st, t.scope),
                },
            );
            // A condition that cannot be evaluated holds the token in an
            // incident; its resolution makes it arrive again.
            let r = match r {
                Ok(b) => Some(b),
                Err(msg) => return ex.incident_at(id, msg, IncidentSite::Activation),
            };
            match r {
                Some(true) => {
                    let merged = arrived.into_iter().filter(|w| *w != id).collect();
                    ex.emit(Event::JoinFired {
                        gateway: t.node,
                        token: id,
                        merged,
                    })?;
                    split(ex, id, GatewayKind::Inclusive)
                }
                Some(false) | None => Ok(()),
            }
        }
        GatewayKind::Complex if activation.is_none() => {
            let name = resolve_name(ex, node, t.scope);
            job::create(ex, id, 1, None, JobPurpose::GatewayDecision, name)
        }
        _ => split(ex, id, kind),
    }
}

/// Parks token `id` at its joining gateway and records which flows are
/// still missing.
fn wait_at_join(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    ex.emit(Event::JoinWaiting {
        token: id,
        gateway: t.node,
        missing: Vec::new(),
    })?;
    let g = ex.g;
    let node = g.node(t.node);
    let missing: Vec<FlowIdx> = node
        .incoming
        .iter()
        .zip(waiting_by_flow(ex, id))
        .filter(|(_, w)| w.is_none())
        .map(|(f, _)| *f)
        .collect();
    if let Some(Event::JoinWaiting { missing: m, .. }) = ex.out.events.last_mut() {
        *m = missing;
    }
    Ok(())
}

/// For each incoming flow of the token's gateway, the first waiting token
/// (lowest id) that arrived by it, in the token's scope instance.
pub fn waiting_by_flow(ex: &Exec<'_>, id: TokenId) -> Vec<Option<TokenId>> {
    let Some(t) = ex.st.token(id) else {
        return Vec::new();
    };
    let node = ex.g.node(t.node);
    node.incoming
        .iter()
        .map(|f| {
            ex.st
                .tokens_in(t.scope)
                .find(|o| o.node == t.node && o.wait == Wait::Join && o.via == Some(*f))
                .map(|o| o.id)
        })
        .collect()
}

/// An incident on a gateway's conditions was resolved (`Step::Resplit`):
/// evaluate them again (a skip has set its variables first) and leave.
pub fn resplit(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.node_of(id)?;
    let (kind, _, _) = gateway(node)?;
    let kind = match kind {
        GatewayKind::Exclusive => GatewayKind::Exclusive,
        _ => GatewayKind::Inclusive,
    };
    split(ex, id, kind)
}

/// After a complex gateway's decision job: split like an inclusive gateway.
pub fn split_after_decision(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    split(ex, id, GatewayKind::Inclusive)
}

/// Leaves the gateway of token `id` by its outgoing flows.
pub fn split(ex: &mut Exec<'_>, id: TokenId, kind: GatewayKind) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let (_, explicit_default, _) = gateway(node)?;
    if node.outgoing.is_empty() {
        return flow::end_token(ex, id);
    }
    if kind == GatewayKind::Parallel {
        let flows = node
            .outgoing
            .iter()
            .map(|f| (*f, FlowReason::Parallel))
            .collect();
        return flow::move_along(ex, id, flows);
    }
    let mut taken = Vec::new();
    let mut unconditioned = Vec::new();
    for &f in &node.outgoing {
        let flow = g.flow(f);
        if explicit_default == Some(f) || flow.is_default {
            continue;
        }
        match &flow.condition {
            None => unconditioned.push(f),
            Some(c) => {
                let r = eval_bool(node, "condition", c, &ScopeChain::new(ex.st, t.scope));
                match ex.eval_or_incident(id, r)? {
                    Some(true) => {
                        taken.push((
                            f,
                            FlowReason::ConditionTrue {
                                condition: c.source().to_string(),
                            },
                        ));
                        if kind == GatewayKind::Exclusive {
                            break;
                        }
                    }
                    Some(false) => {}
                    None => return Ok(()),
                }
            }
        }
    }
    let default = explicit_default.or_else(|| {
        node.outgoing
            .iter()
            .copied()
            .find(|f| g.flow(*f).is_default)
    });
    if kind == GatewayKind::Exclusive {
        if taken.is_empty() {
            match default.or_else(|| unconditioned.first().copied()) {
                Some(f) => taken.push((f, FlowReason::Default)),
                None => return no_flow(ex, node),
            }
        }
    } else {
        let mut all: Vec<(FlowIdx, FlowReason)> = unconditioned
            .into_iter()
            .map(|f| (f, FlowReason::Unconditioned))
            .collect();
        all.extend(taken);
        all.sort_by_key(|(f, _)| node.outgoing.iter().position(|o| o == f));
        taken = all;
        if taken.is_empty() {
            match default {
                Some(f) => taken.push((f, FlowReason::Default)),
                None => return no_flow(ex, node),
            }
        }
    }
    flow::move_along(ex, id, taken)
}

fn no_flow(ex: &mut Exec<'_>, node: &Node) -> Result<(), DecideError> {
    let label = node
        .name
        .as_deref()
        .map(|n| format!(" ('{}')", windlass_types::normalize_whitespace(n)));
    ex.fail(
        None,
        format!(
            "gateway '{}'{} has no outgoing flow whose condition is true and no default flow",
            node.id,
            label.unwrap_or_default()
        ),
    )
}

/// A token arrived at an event-based gateway: it waits there, subscribed to
/// the catch event at the end of each outgoing flow (timers, messages and
/// signals;
/// the plan refuses any other target). The first to fire wins
/// (`event_gateway`).
pub fn wait_for_events(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    ex.emit(Event::EventGatewayWaiting {
        token: id,
        gateway: t.node,
    })?;
    for &f in &g.node(t.node).outgoing {
        let target = g.flow(f).target;
        if timer::timer_of(g.node(target)).is_some() {
            timer::open_catch(ex, id, target)?;
        } else if signal::signal_of(g.node(target)).is_some() {
            signal::open(ex, id, target)?;
        } else {
            message::open(ex, id, target)?;
        }
        // A kept signal may have won the race at once (the token has
        // left), or a catch event's timer or key failed (an incident).
        if ex.st.is_finished()
            || ex.st.token(id).is_none_or(|tk| tk.node != t.node)
            || ex.in_incident(id)
        {
            break;
        }
    }
    Ok(())
}
