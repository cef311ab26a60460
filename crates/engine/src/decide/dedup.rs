//! Deduplication regions: a flow node carrying a dedup key
//! (`Node::dedup_key`) starts a region that lasts until the instance ends.
//! A token arriving there renders the key and — unless the instance holds
//! it already — claims it (`DedupClaimed`) and waits. The key's owner (the
//! runtime's dedup service, or the driver) answers with
//! `Command::GrantDedup`, and the token then acts at its node as if it had
//! just arrived; or, when a newer claim replaced this one while it waited,
//! with `Command::Supersede`, which ends the instance as superseded.
//! Releasing the key when the instance ends is the owner's business: every
//! key the instance ever claimed is in `InstanceState::dedup_claimed`.
//! Calls only downward: `cancel` and [`Exec`].

use super::{DecideError, Exec, Step, cancel};
use crate::effect::{Effect, Finish};
use crate::event::Event;
use crate::ids::{ScopeId, TokenId};
use crate::state::ScopeChain;

/// Whether token `id`, which has just arrived, may act at its node: true
/// when the node carries no dedup key, or one the instance holds. Otherwise
/// the token claims the key and waits (false); a key that cannot be
/// rendered raises an incident on the token (false; retrying it renders
/// the key again).
pub fn admitted(ex: &mut Exec<'_>, id: TokenId) -> Result<bool, DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(template) = node.dedup_key.as_deref() else {
        return Ok(true);
    };
    if t.inner {
        // A loop pass or multi-instance element of an activity whose outer
        // token already holds the key.
        return Ok(true);
    }
    let rendered = {
        let vars = ScopeChain::new(ex.st, t.scope);
        template.render_strict(&vars).map_err(|e| {
            format!(
                "the dedup key `{}` of '{}' could not be rendered: {e}",
                template.source(),
                node.id
            )
        })
    };
    let Some(key) = ex.eval_or_incident(id, rendered)? else {
        return Ok(false);
    };
    if ex.st.dedup_held.contains(&key) {
        return Ok(true);
    }
    let sub = ex.st.next_sub;
    ex.emit(Event::DedupClaimed {
        sub,
        token: id,
        node: t.node,
        key,
    })?;
    Ok(false)
}

/// `Command::GrantDedup`: the claims for `key` close and their tokens act
/// at their nodes.
pub fn grant(ex: &mut Exec<'_>, key: &str) -> Result<(), DecideError> {
    let waiting: Vec<TokenId> = ex
        .st
        .subscriptions
        .iter()
        .filter(|s| matches!(&s.kind, crate::state::SubKind::Dedup { key: k } if k == key))
        .map(|s| s.token)
        .collect();
    if waiting.is_empty() {
        return Err(DecideError::NoDedupClaim(key.to_string()));
    }
    ex.emit(Event::DedupGranted {
        key: key.to_string(),
    })?;
    for t in waiting {
        ex.queue.push_back(Step::Arrive(t));
    }
    Ok(())
}

/// `Command::Supersede`: the instance, waiting for `key`, ends superseded
/// by instance `by` (every token cancelled, with its jobs and children).
pub fn supersede(ex: &mut Exec<'_>, key: &str, by: &str) -> Result<(), DecideError> {
    if !ex.st.dedup_claims().any(|(_, k)| k == key) {
        return Err(DecideError::NoDedupClaim(key.to_string()));
    }
    let roots: Vec<TokenId> = ex.st.tokens_in(ScopeId::ROOT).map(|t| t.id).collect();
    for t in roots {
        cancel::cancel_token(ex, t)?;
    }
    ex.emit(Event::InstanceSuperseded {
        key: key.to_string(),
        by: by.to_string(),
    })?;
    // Pushed directly: `Exec::effect` drops effects once the instance is
    // finished, as it now is.
    ex.out
        .effects
        .push(Effect::InstanceFinished(Finish::Superseded {
            key: key.to_string(),
            by: by.to_string(),
        }));
    Ok(())
}

/// Whether token `id` (at an incident with no job attempt) has not been
/// admitted at its node: the node carries a dedup key that does not render
/// now, or renders to a key the instance does not hold. Admission holds the
/// key until the instance ends, so an incident after admission always finds
/// its key held.
pub fn key_blocked(ex: &Exec<'_>, id: TokenId) -> Result<bool, DecideError> {
    let t = ex.token(id)?;
    let Some(template) = ex.g.node(t.node).dedup_key.as_deref() else {
        return Ok(false);
    };
    if t.inner {
        return Ok(false);
    }
    let vars = ScopeChain::new(ex.st, t.scope);
    Ok(match template.render_strict(&vars) {
        Ok(key) => !ex.st.dedup_held.contains(&key),
        Err(_) => true,
    })
}
