//! Control from outside: cancel (with cleanup handlers), suspend and
//! resume. Calls only downward: `throw` (the cancel is thrown as the error
//! [`CANCEL_CODE`](crate::CANCEL_CODE)), `cancel`, `flow`, `job` and `call` (the
//! effects held while suspended) and [`Exec`].

use super::cancel::cancel_token;
use super::{DecideError, Exec, call, flow, job, throw};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::{ScopeId, TokenId};
use crate::state::{Held, InTransit, Wait, reset_held};

/// `Command::Cancel`: records `CancelRequested`, then throws the cancel at
/// every waiting token (in id order, innermost tokens: the ones not waiting
/// for a sub-process scope or a loop body). Caught by a handler naming the
/// code, the handler runs as cleanup; uncaught, the token is cancelled. A
/// sub-process or loop whose tokens are all gone that way is cancelled too
/// (it does not complete). With no token left the instance ends cancelled
/// at once; otherwise it ends cancelled when the cleanup's last token ends
/// (`flow::complete_process`).
pub fn cancel_instance(ex: &mut Exec<'_>, reason: &str) -> Result<(), DecideError> {
    if ex.st.cancelling.is_some() {
        return Err(DecideError::AlreadyCancelling);
    }
    ex.emit(Event::CancelRequested {
        reason: reason.to_string(),
    })?;
    let leaves: Vec<TokenId> = ex
        .st
        .tokens
        .iter()
        .filter(|t| !matches!(t.wait, Wait::Scope(_) | Wait::Body(_)))
        .map(|t| t.id)
        .collect();
    for leaf in leaves {
        if ex.st.is_finished() {
            return Ok(());
        }
        if ex.st.token(leaf).is_none() {
            // Cancelled with the activity or scope a handler interrupted.
            continue;
        }
        if !throw::throw_cancel(ex, leaf, reason)? {
            cancel_token(ex, leaf)?;
        }
    }
    prune(ex)?;
    if ex.st.tokens_in(ScopeId::ROOT).next().is_none() {
        flow::finish_cancelled(ex)?;
    }
    Ok(())
}

/// Cancels every sub-process or loop token with nothing left running under
/// it (its tokens were cancelled by [`cancel_instance`]), innermost first,
/// so that it is cancelled rather than completed.
fn prune(ex: &mut Exec<'_>) -> Result<(), DecideError> {
    loop {
        let empty = ex.st.tokens.iter().find(|t| match &t.wait {
            Wait::Scope(s) => ex.st.tokens_in(*s).next().is_none(),
            Wait::Body(_) => ex
                .st
                .scopes
                .iter()
                .filter(|s| s.owner == Some(t.id))
                .all(|s| ex.st.tokens_in(s.id).next().is_none()),
            _ => false,
        });
        let Some(id) = empty.map(|t| t.id) else {
            return Ok(());
        };
        cancel_token(ex, id)?;
    }
}

/// `Command::Suspend`.
pub fn suspend(ex: &mut Exec<'_>, reason: &str) -> Result<(), DecideError> {
    if ex.st.is_suspended() {
        return Err(DecideError::AlreadySuspended);
    }
    ex.emit(Event::InstanceSuspended {
        reason: reason.to_string(),
    })
}

/// `Command::Resume`: records `InstanceResumed`, then asks for the jobs and
/// child instances held while suspended that are still open, in the order
/// they were asked for (requests built from today's variables).
pub fn resume(ex: &mut Exec<'_>) -> Result<(), DecideError> {
    if !ex.st.is_suspended() {
        return Err(DecideError::NotSuspended);
    }
    let held = ex.st.held.clone();
    ex.emit(Event::InstanceResumed)?;
    for h in held {
        if ex.st.is_finished() {
            return Ok(());
        }
        match h {
            Held::Job { key, not_before } => {
                if !ex.st.job_is_open(&key) {
                    continue;
                }
                if let Some(request) = job::held_request(ex, key, not_before)? {
                    ex.effect(Effect::RunJob(Box::new(request)));
                }
            }
            Held::Child(token) => {
                if let Some(start) = call::held_child(ex, token)? {
                    ex.effect(start);
                }
            }
        }
    }
    Ok(())
}

/// `Command::Reset`: the state is another run's history up to a point;
/// records `RunReset` and asks again for the jobs and child instances
/// open there (requests built from the variables at that point), unless
/// the instance was suspended there: then they are held until resumed.
/// Refused when a token is between two waits (the point is inside one
/// decision).
pub fn reset(
    ex: &mut Exec<'_>,
    from_run: &str,
    at_seq: u64,
    reason: &str,
) -> Result<(), DecideError> {
    if let Some(t) = ex.st.in_transit() {
        let detail = match t {
            InTransit::Token(token, node) => format!(
                "token {token} at '{}' is between two waits",
                ex.g.node(node).id
            ),
            InTransit::EmptyScope(scope) => format!("scope {scope} is open with nothing in it"),
        };
        return Err(DecideError::ResetInsideDecision { at_seq, detail });
    }
    let open = reset_held(ex.st);
    ex.emit(Event::RunReset {
        from_run: from_run.to_string(),
        at_seq,
        reason: reason.to_string(),
    })?;
    if ex.st.is_suspended() {
        return Ok(());
    }
    for h in open {
        if ex.st.is_finished() {
            return Ok(());
        }
        match h {
            Held::Job { key, not_before } => {
                if let Some(request) = job::held_request(ex, key, not_before)? {
                    ex.effect(Effect::RunJob(Box::new(request)));
                }
            }
            Held::Child(token) => {
                if let Some(start) = call::held_child(ex, token)? {
                    ex.effect(start);
                }
            }
        }
    }
    Ok(())
}
