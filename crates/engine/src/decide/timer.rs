//! Timers: intermediate timer catch events and timer boundary events
//! (interrupting and non-interrupting, cycles re-arming).
//!
//! A timer is a subscription: `TimerScheduled` opens it with its absolute
//! due time (computed here once, from the command's `now`, and never again
//! on replay); `Command::FireTimer` fires it (`TimerFired`); whatever ends
//! its token closes it (`TimerCancelled`, see `Exec::close_subscriptions`).
//! A non-interrupting cycle re-arms as a new subscription id until its
//! repetitions are used up or its activity ends. Calls only downward:
//! `cancel`, `flow` and [`Exec`].

use super::{DecideError, Exec, cancel, event_gateway, flow};
use crate::event::Event;
use crate::ids::{SubId, TokenId};
use crate::state::SubKind;
use windlass_model::{EventTrigger, NodeIdx, NodeKind, Occurrence, TimerSpec};
use windlass_types::Timestamp;

/// The timer of node `node`, if it is a timer catch or boundary event.
pub fn timer_of(node: &windlass_model::Node) -> Option<&TimerSpec> {
    match &node.kind {
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Timer(spec),
        }
        | NodeKind::Boundary {
            trigger: EventTrigger::Timer(spec),
            ..
        } => Some(spec),
        _ => None,
    }
}

/// Opens a timer subscription of `token` at `node` due at `at`.
fn open(
    ex: &mut Exec<'_>,
    token: TokenId,
    node: NodeIdx,
    at: Occurrence,
) -> Result<(), DecideError> {
    let sub = ex.st.next_sub;
    ex.emit(Event::TimerScheduled {
        sub,
        token,
        node,
        due_at: Timestamp(at.due_millis),
        occurrence: at.occurrence,
    })
}

/// A token arrived at an intermediate timer catch event: it waits for the
/// timer (a cycle of zero repetitions never fires: the token leaves).
pub fn arrive_at_catch(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.token(id)?.node;
    if !open_catch(ex, id, node)? && !ex.st.is_finished() {
        return flow::leave(ex, id);
    }
    Ok(())
}

/// Opens the timer of catch event `node` for token `id` (at the catch
/// event, or at the event-based gateway before it). False when nothing
/// opened: a cycle of zero repetitions, or an evaluation that failed the
/// instance.
pub fn open_catch(ex: &mut Exec<'_>, id: TokenId, node: NodeIdx) -> Result<bool, DecideError> {
    let n = ex.g.node(node);
    let Some(spec) = timer_of(n) else {
        return Err(DecideError::unexpected(n, "a timer catch event"));
    };
    let first = spec
        .first_due(ex.now.millis())
        .map_err(|e| format!("timer of '{}': {e}", n.id));
    match ex.eval_or_fail(first)? {
        Some(Some(at)) => open(ex, id, node, at).map(|()| true),
        Some(None) | None => Ok(false),
    }
}

/// An activity of token `id` started: open a subscription for each of its
/// timer boundary events.
pub fn open_boundaries(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    for &b in g.node(t.node).boundary_events.iter() {
        let boundary = g.node(b);
        let Some(spec) = timer_of(boundary) else {
            continue;
        };
        let first = spec
            .first_due(ex.now.millis())
            .map_err(|e| format!("timer of '{}': {e}", boundary.id));
        match ex.eval_or_fail(first)? {
            Some(Some(at)) => open(ex, id, b, at)?,
            Some(None) => {}
            None => return Ok(()),
        }
    }
    Ok(())
}

/// `Command::FireTimer`: the timer of open subscription `sub` is due.
pub fn fire(ex: &mut Exec<'_>, sub: SubId) -> Result<(), DecideError> {
    let s = ex
        .st
        .subscription(sub)
        .cloned()
        .ok_or(DecideError::UnknownSubscription(sub))?;
    let SubKind::Timer { due_at, occurrence } = s.kind else {
        return Err(DecideError::UnknownSubscription(sub));
    };
    let g = ex.g;
    let t = ex.token(s.token)?;
    ex.emit(Event::TimerFired { sub })?;
    let node = g.node(s.node);
    if t.node == s.node {
        // A catch event: the token moves on.
        return flow::leave(ex, s.token);
    }
    if event_gateway::waits_at_gateway(ex, s.token)? {
        event_gateway::won(ex, s.token, s.node)?;
        return flow::leave(ex, s.token);
    }
    let NodeKind::Boundary {
        cancel_activity, ..
    } = node.kind
    else {
        return Err(DecideError::unexpected(node, "a timer boundary event"));
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
    } else if let Some(spec) = timer_of(node) {
        let prev = Occurrence {
            due_millis: due_at.millis(),
            occurrence,
        };
        let next = spec
            .next_due(prev, ex.now.millis())
            .map_err(|e| format!("timer of '{}': {e}", node.id));
        match ex.eval_or_fail(next)? {
            Some(Some(at)) => open(ex, s.token, s.node, at)?,
            Some(None) => {}
            None => return Ok(()),
        }
    }
    ex.arrive(token);
    Ok(())
}
