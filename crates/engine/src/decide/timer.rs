//! Timers: intermediate timer catch events, timer boundary events
//! (interrupting and non-interrupting, cycles re-arming) and the timer
//! start events of event sub-processes (their listeners, `event_sub`).
//!
//! A timer is a subscription: `TimerScheduled` opens it with its absolute
//! due time (computed here once, from the command's `now`, and never again
//! on replay); `Command::FireTimer` fires it (`TimerFired`); whatever ends
//! its token closes it (`TimerCancelled`, see `Exec::close_subscriptions`).
//! A non-interrupting cycle re-arms as a new subscription id until its
//! repetitions are used up or its activity ends. Calls only downward:
//! `cancel`, `event_gateway`, `flow` and [`Exec`].

use super::vars::eval;
use super::{DecideError, Exec, cancel, event_gateway, event_sub, flow};
use crate::effect::Effect;
use crate::event::{Event, IncidentSite};
use crate::ids::{ScopeId, SubId, TokenId};
use crate::state::{ScopeChain, SubKind};
use serde_json::Value;
use std::borrow::Cow;
use windlass_model::{EventTrigger, Node, NodeIdx, NodeKind, Occurrence, TimerSpec};
use windlass_types::Timestamp;

/// The timer of node `node`, if it is a timer catch, boundary or start
/// event.
pub fn timer_of(node: &windlass_model::Node) -> Option<&TimerSpec> {
    match &node.kind {
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Timer(spec),
        }
        | NodeKind::StartEvent {
            trigger: EventTrigger::Timer(spec),
            ..
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

/// `spec` of `node` with its expression, if any, evaluated in `scope` (the
/// value, a string, read as the date, duration or cycle it stands for).
fn evaluated<'s>(
    ex: &Exec<'_>,
    node: &Node,
    spec: &'s TimerSpec,
    scope: ScopeId,
) -> Result<Cow<'s, TimerSpec>, String> {
    let TimerSpec::Expression { part, expr } = spec else {
        return Ok(Cow::Borrowed(spec));
    };
    let chain = ScopeChain::new(ex.st, scope);
    let value = eval(node, part.element(), expr, &chain)?;
    let Value::String(text) = value else {
        return Err(format!(
            "{} `{}` of '{}' must give a string, not {value}",
            part.element(),
            expr.source(),
            node.id
        ));
    };
    TimerSpec::from_text(*part, text.trim())
        .map(|(spec, _)| Cow::Owned(spec))
        .map_err(|e| {
            format!(
                "{} `{}` of '{}' gave '{text}': {e}",
                part.element(),
                expr.source(),
                node.id
            )
        })
}

/// When the timer of `node` opened now in `scope` is first due.
fn first_due(
    ex: &Exec<'_>,
    node: &Node,
    spec: &TimerSpec,
    scope: ScopeId,
) -> Result<Option<Occurrence>, String> {
    evaluated(ex, node, spec, scope)?
        .first_due(ex.now.millis())
        .map_err(|e| format!("timer of '{}': {e}", node.id))
}

/// A token arrived at an intermediate timer catch event: it waits for the
/// timer (a cycle of zero repetitions never fires: the token leaves). A
/// timer that cannot be computed (its expression fails) is an incident on
/// the token: a retry computes it again, a skip moves on.
pub fn arrive_at_catch(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(spec) = timer_of(node) else {
        return Err(DecideError::unexpected(node, "a timer catch event"));
    };
    match first_due(ex, node, spec, t.scope) {
        Ok(Some(at)) => open(ex, id, t.node, at),
        Ok(None) => flow::leave(ex, id),
        Err(message) => {
            let incident = ex.st.next_incident;
            ex.emit(Event::IncidentRaised {
                incident,
                token: id,
                message: message.clone(),
            })?;
            ex.effect(Effect::IncidentRaised { incident, message });
            Ok(())
        }
    }
}

/// True when the token `id` waits at a timer catch event's incident.
pub fn is_catch(ex: &Exec<'_>, id: TokenId) -> bool {
    ex.st.token(id).is_some_and(|t| {
        matches!(
            ex.g.node(t.node).kind,
            NodeKind::IntermediateCatch {
                trigger: EventTrigger::Timer(_)
            }
        )
    })
}

/// Resolves an incident of a timer catch event (the incident is already
/// marked resolved): a retry computes the timer again, a skip sets `vars`
/// and moves on as if it had fired.
pub fn resolve_catch(
    ex: &mut Exec<'_>,
    id: TokenId,
    skip: Option<&windlass_types::Vars>,
) -> Result<(), DecideError> {
    match skip {
        None => arrive_at_catch(ex, id),
        Some(vars) => {
            let scope = ex.token(id)?.scope;
            ex.propagate(scope, vars)?;
            flow::leave(ex, id)
        }
    }
}

/// Opens the timer of catch event `node` for token `id` waiting at the
/// event-based gateway before it. False when nothing opened: a cycle of
/// zero repetitions, or a timer that could not be computed (an incident on
/// the gateway's token names the event; its resolution opens the gateway's
/// subscriptions again).
pub fn open_catch(ex: &mut Exec<'_>, id: TokenId, node: NodeIdx) -> Result<bool, DecideError> {
    let n = ex.g.node(node);
    let Some(spec) = timer_of(n) else {
        return Err(DecideError::unexpected(n, "a timer catch event"));
    };
    let scope = ex.token(id)?.scope;
    let first = first_due(ex, n, spec, scope);
    match ex.eval_or_subscriptions_incident(id, first)? {
        Some(Some(at)) => open(ex, id, node, at).map(|()| true),
        Some(None) | None => Ok(false),
    }
}

/// An activity of token `id` started: open a subscription for each of its
/// timer boundary events. False when one could not be computed (its
/// expression failed): an incident on the token names the event (its
/// resolution opens the boundary events again), the activity must not
/// start yet.
pub fn open_boundaries(ex: &mut Exec<'_>, id: TokenId) -> Result<bool, DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    for &b in g.node(t.node).boundary_events.iter() {
        let boundary = g.node(b);
        let Some(spec) = timer_of(boundary) else {
            continue;
        };
        let first = first_due(ex, boundary, spec, t.scope);
        match ex.eval_or_subscriptions_incident(id, first)? {
            Some(Some(at)) => open(ex, id, b, at)?,
            Some(None) => {}
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// Opens the timer of listener `token` parked at the timer start event
/// `node` of an event sub-process. A timer that cannot be computed is an
/// incident on the listener, naming the event (its resolution opens the
/// timer again).
pub fn open_listener(ex: &mut Exec<'_>, token: TokenId, node: NodeIdx) -> Result<(), DecideError> {
    let n = ex.g.node(node);
    let Some(spec) = timer_of(n) else {
        return Err(DecideError::unexpected(n, "a timer start event"));
    };
    let scope = ex.token(token)?.scope;
    let first = first_due(ex, n, spec, scope);
    match ex.eval_or_subscriptions_incident(token, first)? {
        Some(Some(at)) => open(ex, token, node, at),
        Some(None) | None => Ok(()),
    }
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
    if event_sub::is_listener(ex, &t) {
        return event_sub::triggered(ex, s.token, &windlass_types::Vars::new(), |ex| {
            rearm(ex, s.token, (s.token, s.node), (due_at, occurrence), false).map(|_| ())
        });
    }
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
    } else if !rearm(ex, token, (s.token, s.node), (due_at, occurrence), false)? {
        return Ok(());
    }
    ex.arrive(token);
    Ok(())
}

/// The next occurrence of the repeating timer of `node` held by `token`
/// after occurrence `prev` = (due at, number), if its repetitions are not
/// used up; `Err` with a message naming the event when it cannot be
/// computed (a cycle given as an expression is evaluated again for each
/// occurrence, in the token's scope).
fn next_occurrence(
    ex: &Exec<'_>,
    token: TokenId,
    node: NodeIdx,
    prev: (Timestamp, u32),
) -> Result<Result<Option<Occurrence>, String>, DecideError> {
    let node = ex.g.node(node);
    let Some(spec) = timer_of(node) else {
        return Ok(Ok(None));
    };
    let last = Occurrence {
        due_millis: prev.0.millis(),
        occurrence: prev.1,
    };
    let scope = ex.token(token)?.scope;
    Ok(evaluated(ex, node, spec, scope).and_then(|spec| {
        spec.next_due(last, ex.now.millis())
            .map_err(|e| format!("timer of '{}': {e}", node.id))
    }))
}

/// Re-arms the repeating timer of `node` held by `token` after its
/// occurrence `prev` fired (or was `skipped`). False when the next
/// occurrence could not be computed: an incident on token `holder` at
/// [`IncidentSite::Rearm`] (the listener itself, or a token at the boundary
/// event, which then must not move).
fn rearm(
    ex: &mut Exec<'_>,
    holder: TokenId,
    (token, node): (TokenId, NodeIdx),
    prev: (Timestamp, u32),
    skipped: bool,
) -> Result<bool, DecideError> {
    match next_occurrence(ex, token, node, prev)? {
        Ok(Some(at)) => open(ex, token, node, at)?,
        Ok(None) => {}
        Err(msg) => {
            let site = IncidentSite::Rearm {
                token,
                due_at: prev.0,
                occurrence: prev.1,
                skipped,
            };
            ex.incident_at(holder, msg, site)?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Resolves an incident at [`IncidentSite::Rearm`] on token `holder` (the
/// incident already marked resolved; `skip` sets its variables first):
/// re-arms the timer of `token` after occurrence `prev` unless its activity
/// has ended; then a boundary event's token moves on (or ends, for a
/// skipped occurrence), and a listener whose repetitions are used up
/// closes.
pub fn resolve_rearm(
    ex: &mut Exec<'_>,
    holder: TokenId,
    token: TokenId,
    prev: (Timestamp, u32),
    skipped: bool,
    skip: Option<&windlass_types::Vars>,
) -> Result<(), DecideError> {
    let g = ex.g;
    let h = ex.token(holder)?;
    if let Some(vars) = skip {
        ex.propagate(h.scope, vars)?;
    }
    let listener = holder == token;
    // The subscription re-arms only while its activity still runs (a
    // boundary's activity may have completed or been cancelled meanwhile).
    let alive = listener
        || ex
            .st
            .token(token)
            .is_some_and(|t| g.node(t.node).boundary_events.contains(&h.node));
    if alive && !rearm(ex, holder, (token, h.node), prev, skipped)? {
        return Ok(());
    }
    if listener {
        if ex.st.subscriptions_of(holder).next().is_none() {
            cancel::cancel_token(ex, holder)?;
        }
        return Ok(());
    }
    if skipped {
        flow::end_token(ex, holder)
    } else {
        flow::leave(ex, holder)
    }
}

/// `Command::SkipTimer`: the timer of open subscription `sub` is due but
/// later than the runtime's catch-up window. A repeating timer (a
/// non-interrupting cycle boundary or event sub-process start event) closes without spawning a token
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
        } | NodeKind::StartEvent {
            interrupting: false,
            ..
        }
    ) && timer_of(node).is_some_and(TimerSpec::is_cycle);
    if !repeating {
        return fire(ex, sub);
    }
    let SubKind::Timer { due_at, occurrence } = s.kind else {
        return Err(DecideError::UnknownSubscription(sub));
    };
    ex.emit(Event::TimerSkipped { sub })?;
    let prev = (due_at, occurrence);
    // A boundary's re-arming that fails needs a token to hold the
    // incident: one is created at the boundary event (it never moves on).
    let mut holder = s.token;
    if !event_sub::is_listener_token(ex, s.token)
        && next_occurrence(ex, s.token, s.node, prev)?.is_err()
    {
        holder = ex.st.next_token;
        ex.emit(Event::TokenCreated {
            token: holder,
            scope: ex.token(s.token)?.scope,
            node: s.node,
            inner: false,
        })?;
    }
    rearm(ex, holder, (s.token, s.node), prev, true)?;
    Ok(())
}
