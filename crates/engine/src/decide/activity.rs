//! Activities in general: entering (with loops), completing, leaving by the
//! outgoing flows (uncontrolled split), ending tokens and closing scopes.

use super::vars::{eval_bool, resolve_name};
use super::{DecideError, Exec, call, loops, subprocess, task};
use crate::effect::{Effect, Finish};
use crate::event::{Event, FlowReason, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use crate::state::ScopeChain;
use windlass_model::{FlowIdx, NodeKind};

/// A token arrived at an activity.
pub fn enter(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    let node = &ex.g.nodes[t.node as usize];
    if !t.inner && node.looping.is_some() {
        return loops::start_body(ex, id);
    }
    let name = resolve_name(ex, node, t.scope);
    ex.emit(Event::ActivityStarted {
        token: id,
        node: t.node,
        name: name.clone(),
    })?;
    match &node.kind {
        NodeKind::Task { .. } => task::start_task(ex, id, name),
        NodeKind::SubProcess { scope, .. } => subprocess::enter(ex, id, *scope),
        NodeKind::CallActivity { called_element } => call::start(ex, id, called_element),
        _ => Err(DecideError::Internal(format!(
            "'{}' is not an activity",
            node.id
        ))),
    }
}

/// The activity of token `id` completed: count it and move on.
pub fn finish(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    ex.emit(Event::ActivityCompleted {
        token: id,
        node: t.node,
    })?;
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
    let t = ex.token(id)?;
    let node = &ex.g.nodes[t.node as usize];
    if node.outgoing.is_empty() {
        return end_token(ex, id);
    }
    let mut taken = Vec::new();
    let mut defaults = Vec::new();
    for &f in &node.outgoing {
        let flow = ex.g.flow(f);
        if flow.is_default {
            defaults.push((f, FlowReason::Default));
            continue;
        }
        match &flow.condition {
            None => taken.push((f, FlowReason::Unconditioned)),
            Some(c) => match eval_bool(node, "condition", c, &ScopeChain::new(ex.st, t.scope)) {
                Ok(true) => taken.push((
                    f,
                    FlowReason::ConditionTrue {
                        condition: c.source().to_string(),
                    },
                )),
                Ok(false) => {}
                Err(msg) => return ex.fail(None, msg),
            },
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
        let to = ex.g.flow(f).target.0;
        ex.emit(Event::FlowTaken {
            token,
            flow: f.0,
            to,
            reason,
        })?;
        ex.queue.push_back(token);
    }
    Ok(())
}

/// Ends token `id` normally and closes its scope when it was the last one.
pub fn end_token(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    ex.emit(Event::TokenEnded { token: id })?;
    scope_maybe_done(ex, t.scope)
}

/// Closes scope instance `scope` when no token is left in it.
pub fn scope_maybe_done(ex: &mut Exec<'_>, scope: ScopeId) -> Result<(), DecideError> {
    if ex.st.tokens_in(scope).next().is_some() {
        return Ok(());
    }
    let Some(s) = ex.st.scope(scope) else {
        return Err(DecideError::Internal(format!("scope {scope} vanished")));
    };
    let (kind, owner) = (s.kind, s.owner);
    match (kind, owner) {
        (ScopeKind::Process, _) => {
            if ex.st.is_finished() {
                return Ok(());
            }
            ex.emit(Event::InstanceCompleted)?;
            let vars = ex.st.root_vars().cloned().unwrap_or_default();
            ex.out
                .effects
                .push(Effect::InstanceFinished(Finish::Completed(vars)));
            Ok(())
        }
        (ScopeKind::SubProcess(_) | ScopeKind::EventSubProcess(_), Some(owner)) => {
            subprocess::complete(ex, scope, owner)
        }
        (ScopeKind::Element(index), Some(owner)) => loops::element_done(ex, owner, scope, index),
        _ => Err(DecideError::Internal(format!("scope {scope} has no owner"))),
    }
}
