//! Moving tokens along sequence flows: an activity completing, a node left
//! by its outgoing flows (uncontrolled split), a token ending, the process
//! completing. Leaf code: it calls only [`Exec`], `vars` and `compensable`
//! (a completed activity is recorded for compensation); a scope that may
//! have emptied is handed back to the dispatcher as a continuation.

use super::compensable::record_activity;
use super::vars::eval_bool;
use super::{DecideError, Exec, Step};
use crate::effect::{Effect, Finish};
use crate::event::{Event, FlowReason, IncidentSite};
use crate::ids::TokenId;
use crate::state::ScopeChain;
use windlass_model::FlowIdx;

/// The activity of token `id` completed: count it and move on.
pub fn finish(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    ex.emit(Event::ActivityCompleted {
        token: id,
        node: t.node,
    })?;
    record_activity(ex, id)?;
    if t.inner {
        end_token(ex, id)
    } else {
        leave(ex, id)
    }
}

/// Leaves a non-gateway node: every unconditioned flow plus every flow whose
/// condition is true; the default flow only when no other is taken; a path
/// whose only flows are false ends here.
pub fn leave(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    ex.close_subscriptions(id)?;
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if node.outgoing.is_empty() {
        return end_token(ex, id);
    }
    let mut taken = Vec::new();
    let mut defaults = Vec::new();
    for &f in &node.outgoing {
        let flow = g.flow(f);
        if flow.is_default {
            defaults.push((f, FlowReason::Default));
            continue;
        }
        match &flow.condition {
            None => taken.push((f, FlowReason::Unconditioned)),
            Some(c) => {
                let r = eval_bool(node, "condition", c, &ScopeChain::new(ex.st, t.scope));
                match r {
                    Ok(true) => taken.push((
                        f,
                        FlowReason::ConditionTrue {
                            condition: c.source().to_string(),
                        },
                    )),
                    Ok(false) => {}
                    // Nothing has moved yet: the token waits at the node
                    // until the incident is resolved.
                    Err(msg) => return ex.incident_at(id, msg, IncidentSite::Leave),
                }
            }
        }
    }
    if taken.is_empty() {
        taken = defaults;
    }
    if taken.is_empty() {
        return end_token(ex, id);
    }
    move_along(ex, id, taken)
}

/// Sends token `id` along the first flow and new tokens along the others.
pub fn move_along(
    ex: &mut Exec<'_>,
    id: TokenId,
    flows: Vec<(FlowIdx, FlowReason)>,
) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    for (i, (f, reason)) in flows.into_iter().enumerate() {
        let token = if i == 0 {
            id
        } else {
            let token = ex.st.next_token;
            ex.emit(Event::TokenCreated {
                token,
                scope: t.scope,
                node: t.node,
                inner: false,
            })?;
            token
        };
        let to = ex.g.flow(f).target;
        ex.emit(Event::FlowTaken {
            token,
            flow: f,
            to,
            reason,
        })?;
        ex.arrive(token);
    }
    Ok(())
}

/// Ends token `id` normally; its scope instance closes when it was the last
/// one (a continuation: [`Step::ScopeEmptied`]).
pub fn end_token(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    ex.close_subscriptions(id)?;
    let t = ex.token(id)?;
    ex.emit(Event::TokenEnded { token: id })?;
    ex.then(Step::ScopeEmptied(t.scope));
    Ok(())
}

/// The process scope has no token left: the instance completed (or, once
/// the cleanup of a cancel has finished, it is cancelled).
pub fn complete_process(ex: &mut Exec<'_>) -> Result<(), DecideError> {
    if ex.st.is_finished() {
        return Ok(());
    }
    if ex.st.cancelling.is_some() {
        return finish_cancelled(ex);
    }
    ex.emit(Event::InstanceCompleted)?;
    let vars = ex.st.root_vars().cloned().unwrap_or_default();
    ex.out
        .effects
        .push(Effect::InstanceFinished(Finish::Completed(vars)));
    Ok(())
}

/// A cancelled instance has no token left: `InstanceCancelled`.
pub fn finish_cancelled(ex: &mut Exec<'_>) -> Result<(), DecideError> {
    let Some(reason) = ex.st.cancelling.clone() else {
        return Ok(());
    };
    if ex.st.is_finished() {
        return Ok(());
    }
    ex.emit(Event::InstanceCancelled {
        reason: reason.clone(),
    })?;
    // Pushed directly: `Exec::effect` drops effects once the instance is
    // finished, as it now is.
    ex.out
        .effects
        .push(Effect::InstanceFinished(Finish::Cancelled { reason }));
    Ok(())
}
