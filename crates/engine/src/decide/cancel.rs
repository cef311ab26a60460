//! Cancellation: a token and everything running under it (jobs, child
//! instances, sub-process scopes, loop elements), a whole scope instance,
//! terminate end events and the termination of the whole instance
//! (`Command::Terminate`). Leaf code over [`Exec`] and `flow`.

use super::{DecideError, Exec, flow};
use crate::effect::{Effect, Finish};
use crate::event::Event;
use crate::ids::{JobKey, ScopeId, TokenId};
use crate::state::Wait;

/// Cancels token `id` and everything running under it.
pub fn cancel_token(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    match &t.wait {
        Wait::Job { attempt } => {
            ex.effect(Effect::CancelJob(JobKey {
                node: t.node,
                token: id,
                attempt: *attempt,
            }));
        }
        Wait::Child => ex.effect(Effect::CancelChild { token: id }),
        Wait::Scope(s) => cancel_scope(ex, *s)?,
        Wait::Body(_) => {
            let elements: Vec<ScopeId> = ex
                .st
                .scopes
                .iter()
                .filter(|s| s.owner == Some(id))
                .map(|s| s.id)
                .collect();
            for s in elements {
                cancel_scope(ex, s)?;
            }
        }
        _ => {}
    }
    ex.close_subscriptions(id)?;
    ex.emit(Event::TokenCancelled { token: id })
}

/// Cancels every token in scope instance `scope` and closes it.
pub fn cancel_scope(ex: &mut Exec<'_>, scope: ScopeId) -> Result<(), DecideError> {
    let victims: Vec<TokenId> = ex.st.tokens_in(scope).map(|t| t.id).collect();
    for v in victims {
        cancel_token(ex, v)?;
    }
    ex.emit(Event::ScopeClosed { scope })
}

/// A terminate end event: cancels every other token of the scope instance,
/// which then completes normally.
pub fn terminate(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    ex.emit(Event::Terminated {
        token: id,
        scope: t.scope,
    })?;
    let others: Vec<TokenId> = ex
        .st
        .tokens_in(t.scope)
        .map(|t| t.id)
        .filter(|o| *o != id)
        .collect();
    for o in others {
        cancel_token(ex, o)?;
    }
    flow::end_token(ex, id)
}

/// `Command::Terminate`: cancels every token of the process scope (and so
/// every job, child instance, sub-process scope and loop element under it),
/// then ends the instance with `InstanceTerminated`. The process scope stays
/// open so its variables remain readable.
pub fn terminate_instance(ex: &mut Exec<'_>, reason: &str) -> Result<(), DecideError> {
    let roots: Vec<TokenId> = ex.st.tokens_in(ScopeId::ROOT).map(|t| t.id).collect();
    for t in roots {
        cancel_token(ex, t)?;
    }
    ex.emit(Event::InstanceTerminated {
        reason: reason.to_string(),
    })?;
    // Pushed directly: `Exec::effect` drops effects once the instance is
    // finished, as it now is.
    ex.out
        .effects
        .push(Effect::InstanceFinished(Finish::Terminated {
            reason: reason.to_string(),
        }));
    Ok(())
}
