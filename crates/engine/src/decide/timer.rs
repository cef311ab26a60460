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

use super::{DecideError, Exec, cancel, flow};
use crate::event::Event;
use crate::ids::{SubId, TokenId};
use crate::state::{SubKind, Subscription};
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
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(spec) = timer_of(node) else {
        return Err(DecideError::unexpected(node, "a timer catch event"));
    };
    let first = spec
        .first_due(ex.now.millis())
        .map_err(|e| format!("timer of '{}': {e}", node.id));
    match ex.eval_or_fail(first)? {
        Some(Some(at)) => open(ex, id, t.node, at),
        Some(None) => flow::leave(ex, id),
        None => Ok(()),
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
    let SubKind::Timer { due_at, occurrence } = s.kind;
    let g = ex.g;
    let t = ex.token(s.token)?;
    ex.emit(Event::TimerFired { sub })?;
    let node = g.node(s.node);
    if t.node == s.node {
        // A catch event: the token moves on.
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
    } else if !rearm(ex, &s, due_at, occurrence)? {
        return Ok(());
    }
    ex.arrive(token);
    Ok(())
}

/// Re-arms the repeating timer of subscription `s` (occurrence
/// `occurrence`, due at `due_at`) at its next occurrence after now, if its
/// repetitions are not used up; false when the instance failed instead.
fn rearm(
    ex: &mut Exec<'_>,
    s: &Subscription,
    due_at: Timestamp,
    occurrence: u32,
) -> Result<bool, DecideError> {
    let node = ex.g.node(s.node);
    let Some(spec) = timer_of(node) else {
        return Ok(true);
    };
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
        None => return Ok(false),
    }
    Ok(true)
}

/// `Command::SkipTimer`: the timer of open subscription `sub` is due but
/// later than the runtime's catch-up window. A repeating timer (a
/// non-interrupting cycle boundary event) closes without spawning a token
/// (`TimerSkipped`) and re-arms; any other timer fires as usual.
pub fn skip(ex: &mut Exec<'_>, sub: SubId) -> Result<(), DecideError> {
    let s = ex
        .st
        .subscription(sub)
        .cloned()
        .ok_or(DecideError::UnknownSubscription(sub))?;
    let node = ex.g.node(s.node);
    let repeating = matches!(
        node.kind,
        NodeKind::Boundary {
            cancel_activity: false,
            ..
        }
    ) && matches!(timer_of(node), Some(TimerSpec::Cycle { .. }));
    if !repeating {
        return fire(ex, sub);
    }
    let SubKind::Timer { due_at, occurrence } = s.kind;
    ex.emit(Event::TimerSkipped { sub })?;
    rearm(ex, &s, due_at, occurrence)?;
    Ok(())
}
