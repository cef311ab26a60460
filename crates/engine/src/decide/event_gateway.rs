//! Event-based gateways: the token waits at the gateway with one
//! subscription per outgoing flow's catch event (timers and messages, opened
//! by `gateway`); the first event to arrive wins — its flow is taken and
//! every other subscription closes. Leaf code: it calls only `flow` and
//! [`Exec`].

use super::{DecideError, Exec};
use crate::event::{Event, FlowReason};
use crate::ids::TokenId;
use windlass_model::{GatewayKind, NodeIdx, NodeKind};

/// True when token `id` waits at an event-based gateway.
pub fn waits_at_gateway(ex: &Exec<'_>, id: TokenId) -> Result<bool, DecideError> {
    let t = ex.token(id)?;
    Ok(matches!(
        ex.g.node(t.node).kind,
        NodeKind::Gateway {
            kind: GatewayKind::EventBased,
            ..
        }
    ))
}

/// The event at catch node `to` won the race of token `id` at its
/// event-based gateway (its subscription has closed already): the other
/// subscriptions close and the token takes the flow to `to`, where the
/// caller applies what the event brought and leaves the node.
pub fn won(ex: &mut Exec<'_>, id: TokenId, to: NodeIdx) -> Result<(), DecideError> {
    ex.close_subscriptions(id)?;
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(&flow) = node.outgoing.iter().find(|&&f| g.flow(f).target == to) else {
        return Err(DecideError::unexpected(
            g.node(to),
            "a target of the event-based gateway",
        ));
    };
    ex.emit(Event::FlowTaken {
        token: id,
        flow,
        to,
        reason: FlowReason::Unconditioned,
    })
}
