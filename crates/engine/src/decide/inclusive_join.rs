//! The inclusive (OR) join: it fires once every token of its scope instance
//! that could still reach it has arrived. "Could reach" uses the plan's
//! precomputed reachability: a token elsewhere in the same scope instance
//! blocks the join when the join is reachable from its node; tokens deeper in
//! sub-processes or loop elements are represented by the token waiting at the
//! sub-process / loop node in this scope instance.
//!
//! The same check closes a complex gateway's activation: once nothing can
//! reach it any more, tokens still waiting there (late arrivals after it
//! fired, or too few to satisfy the activation condition) end.

use super::{DecideError, Exec, flow, gateway};
use crate::event::{Event, IncidentSite};
use crate::ids::{ScopeId, TokenId};
use crate::state::Wait;
use windlass_model::{GatewayKind, NodeIdx, NodeKind};

/// The (scope instance, gateway) pairs where tokens wait at an inclusive or
/// complex join, sorted: one round of [`super::Step::FireJoin`]s.
pub fn candidates(ex: &Exec<'_>) -> Vec<(ScopeId, NodeIdx)> {
    let g = ex.g;
    let mut candidates: Vec<(ScopeId, NodeIdx)> = ex
        .st
        .tokens
        .iter()
        .filter(|t| {
            t.wait == Wait::Join
                && matches!(
                    g.node(t.node).kind,
                    NodeKind::Gateway {
                        kind: GatewayKind::Inclusive | GatewayKind::Complex,
                        ..
                    }
                )
        })
        .map(|t| (t.scope, t.node))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    candidates
}

/// Fires the join at gateway `gw` of scope instance `scope` when it is
/// ready; true when it fired.
pub fn fire(ex: &mut Exec<'_>, scope: ScopeId, gw: NodeIdx) -> Result<bool, DecideError> {
    if !ready(ex, scope, gw) {
        return Ok(false);
    }
    let Some(first) = ex
        .st
        .tokens_in(scope)
        .find(|t| t.node == gw && t.wait == Wait::Join)
        .map(|t| t.id)
    else {
        return Ok(false);
    };
    if matches!(
        ex.g.node(gw).kind,
        NodeKind::Gateway {
            kind: GatewayKind::Complex,
            ..
        }
    ) {
        let late: Vec<TokenId> = ex
            .st
            .tokens_in(scope)
            .filter(|t| t.node == gw && t.wait == Wait::Join)
            .map(|t| t.id)
            .collect();
        for t in late {
            flow::end_token(ex, t)?;
        }
        return Ok(true);
    }
    let per_flow = gateway::waiting_by_flow(ex, first);
    let mut arrived: Vec<TokenId> = per_flow.into_iter().flatten().collect();
    arrived.sort_unstable();
    let Some((&token, merged)) = arrived.split_first() else {
        return Ok(false);
    };
    ex.emit(Event::JoinFired {
        gateway: gw,
        token,
        merged: merged.to_vec(),
    })?;
    gateway::split(ex, token, GatewayKind::Inclusive)?;
    Ok(true)
}

/// True when no token of `scope` outside the join can still reach it (a
/// token held at the join by an incident on its activation condition
/// arrives again when the incident is resolved).
fn ready(ex: &Exec<'_>, scope: ScopeId, gw: NodeIdx) -> bool {
    ex.st
        .tokens_in(scope)
        .filter(|t| !(t.node == gw && t.wait == Wait::Join))
        .all(|t| !ex.plan.can_reach(t.node.0, gw.0) && !rejoins(t, gw))
}

/// True when token `t` waits at gateway `gw` for an incident on its
/// activation condition.
fn rejoins(t: &crate::state::Token, gw: NodeIdx) -> bool {
    t.node == gw
        && matches!(&t.wait, Wait::Incident { site, .. } if **site == IncidentSite::Activation)
}
