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

use super::{DecideError, Exec, activity, gateway};
use crate::event::Event;
use crate::ids::{ScopeId, TokenId};
use crate::state::Wait;
use windlass_model::{GatewayKind, NodeKind};

/// Fires every inclusive join that is ready; true when one fired.
pub fn fire_ready(ex: &mut Exec<'_>) -> Result<bool, DecideError> {
    let g = ex.g;
    let mut candidates: Vec<(ScopeId, u32)> = ex
        .st
        .tokens
        .iter()
        .filter(|t| {
            t.wait == Wait::Join
                && matches!(
                    g.nodes[t.node as usize].kind,
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
    let mut fired = false;
    for (scope, gw) in candidates {
        if ex.st.is_finished() {
            break;
        }
        if !ready(ex, scope, gw) {
            continue;
        }
        let Some(first) = ex
            .st
            .tokens_in(scope)
            .find(|t| t.node == gw && t.wait == Wait::Join)
            .map(|t| t.id)
        else {
            continue;
        };
        if matches!(
            g.nodes[gw as usize].kind,
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
                activity::end_token(ex, t)?;
            }
            fired = true;
            continue;
        }
        let per_flow = gateway::waiting_by_flow(ex, first);
        let mut arrived: Vec<TokenId> = per_flow.into_iter().flatten().collect();
        arrived.sort_unstable();
        let Some((&token, merged)) = arrived.split_first() else {
            continue;
        };
        ex.emit(Event::JoinFired {
            gateway: gw,
            token,
            merged: merged.to_vec(),
        })?;
        gateway::split(ex, token, GatewayKind::Inclusive)?;
        fired = true;
    }
    Ok(fired)
}

/// True when no token of `scope` outside the join can still reach it.
fn ready(ex: &Exec<'_>, scope: ScopeId, gw: u32) -> bool {
    ex.st
        .tokens_in(scope)
        .filter(|t| !(t.node == gw && t.wait == Wait::Join))
        .all(|t| !ex.plan.can_reach(t.node, gw))
}
