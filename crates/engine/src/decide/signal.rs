//! Signals: intermediate signal catch events, signal boundary events
//! (interrupting and non-interrupting), signal targets of event-based
//! gateways and the signal start events of event sub-processes (their
//! listeners, `event_sub`).
//!
//! Two ways a signal reaches an instance:
//! - **sent to the instance** (`Command::Signal`, as Cadence and Temporal
//!   signal a workflow): the oldest open subscription for its name takes
//!   it; when none waits it is kept (`SignalBuffered`, shown in
//!   `InstanceState::signals`) and the next subscription for its name that
//!   opens takes the oldest kept one at once;
//! - **broadcast** (`Command::BroadcastSignal`, BPMN's throw semantics):
//!   every open subscription for its name takes it; nothing is kept.
//!
//! A subscription is a `SignalSubscribed` event; `SignalDelivered` closes it
//! (naming the kept signal it took, if any); whatever ends its token closes
//! it without a signal (`SignalUnsubscribed`). Where the token goes then is
//! as for messages: a catch event leaves, an interrupting boundary event
//! cancels its activity, a non-interrupting one re-opens. Calls only
//! downward: `cancel`, `event_gateway`, `flow` and [`Exec`].

use super::{DecideError, Exec, cancel, event_gateway, event_sub, flow};
use crate::event::Event;
use crate::ids::{SubId, TokenId};
use crate::state::SubKind;
use windlass_model::{EventTrigger, NodeIdx, NodeKind};
use windlass_types::Vars;

/// The signal name node `node` catches, if it is a signal catch, boundary
/// or start event.
pub fn signal_of(node: &windlass_model::Node) -> Option<&str> {
    match &node.kind {
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Signal { name },
        }
        | NodeKind::StartEvent {
            trigger: EventTrigger::Signal { name },
            ..
        }
        | NodeKind::Boundary {
            trigger: EventTrigger::Signal { name },
            ..
        } => Some(name),
        _ => None,
    }
}

/// Opens a signal subscription of `token` for catching node `node`; when a
/// kept signal for its name is waiting, the subscription takes the oldest
/// one at once.
pub fn open(ex: &mut Exec<'_>, token: TokenId, node: NodeIdx) -> Result<(), DecideError> {
    let n = ex.g.node(node);
    let Some(name) = signal_of(n) else {
        return Err(DecideError::unexpected(
            n,
            "a signal catch or boundary event",
        ));
    };
    let sub = ex.st.next_sub;
    ex.emit(Event::SignalSubscribed {
        sub,
        token,
        node,
        name: name.to_string(),
    })?;
    let kept = ex.st.signals.iter().position(|s| s.name == name);
    if let Some(i) = kept {
        let vars = ex.st.signals[i].vars.clone();
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        deliver(ex, sub, Some(index), &vars)?;
    }
    Ok(())
}

/// A token arrived at an intermediate signal catch event: it waits there
/// (or takes a kept signal at once).
pub fn arrive_at_catch(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.token(id)?.node;
    open(ex, id, node)
}

/// An activity of token `id` started: open a subscription for each of its
/// signal boundary events.
pub fn open_boundaries(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let node = ex.token(id)?.node;
    for &b in g.node(node).boundary_events.iter() {
        if signal_of(g.node(b)).is_none() {
            continue;
        }
        // A kept signal may interrupt the activity at once: stop there.
        if ex.st.is_finished() || ex.st.token(id).is_none_or(|t| t.node != node) {
            return Ok(());
        }
        open(ex, id, b)?;
    }
    Ok(())
}

/// `Command::Signal`: the oldest open subscription for `name` takes the
/// signal, or the instance keeps it.
pub fn send(ex: &mut Exec<'_>, name: &str, vars: &Vars) -> Result<(), DecideError> {
    let waiting = ex
        .st
        .signal_subscriptions()
        .find(|(_, n)| *n == name)
        .map(|(sub, _)| sub);
    match waiting {
        Some(sub) => deliver(ex, sub, None, vars),
        None => ex.emit(Event::SignalBuffered {
            name: name.to_string(),
            vars: vars.clone(),
        }),
    }
}

/// `Command::BroadcastSignal`: every subscription for `name` open when the
/// signal arrives takes it (one that opens meanwhile — a non-interrupting
/// boundary event re-opening — does not).
pub fn broadcast(ex: &mut Exec<'_>, name: &str, vars: &Vars) -> Result<(), DecideError> {
    let open: Vec<SubId> = ex
        .st
        .signal_subscriptions()
        .filter(|(_, n)| *n == name)
        .map(|(sub, _)| sub)
        .collect();
    for sub in open {
        // An earlier delivery may have closed it (an interrupting boundary
        // event cancels its activity's other subscriptions).
        if ex.st.is_finished() || ex.st.subscription(sub).is_none() {
            continue;
        }
        deliver(ex, sub, None, vars)?;
    }
    Ok(())
}

/// Delivers a signal with `vars` to open signal subscription `sub`
/// (`buffered`: the kept signal it takes) and moves the token on.
fn deliver(
    ex: &mut Exec<'_>,
    sub: SubId,
    buffered: Option<u32>,
    vars: &Vars,
) -> Result<(), DecideError> {
    let s = ex
        .st
        .subscription(sub)
        .cloned()
        .ok_or(DecideError::UnknownSubscription(sub))?;
    if !matches!(s.kind, SubKind::Signal { .. }) {
        return Err(DecideError::UnknownSubscription(sub));
    }
    let g = ex.g;
    let t = ex.token(s.token)?;
    ex.emit(Event::SignalDelivered {
        sub,
        buffered,
        vars: vars.clone(),
    })?;
    if event_sub::is_listener(ex, &t) {
        return event_sub::triggered(ex, s.token, vars, |ex| open(ex, s.token, s.node));
    }
    let at_gateway = event_gateway::waits_at_gateway(ex, s.token)?;
    if at_gateway {
        event_gateway::won(ex, s.token, s.node)?;
    }
    if at_gateway || t.node == s.node {
        if !ex.apply_outputs(s.token, vars)? || ex.st.is_finished() {
            return Ok(());
        }
        return flow::leave(ex, s.token);
    }
    let node = g.node(s.node);
    let NodeKind::Boundary {
        cancel_activity, ..
    } = node.kind
    else {
        return Err(DecideError::unexpected(node, "a signal boundary event"));
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
    } else {
        open(ex, s.token, s.node)?;
    }
    if !ex.apply_outputs(token, vars)? || ex.st.is_finished() {
        return Ok(());
    }
    ex.arrive(token);
    Ok(())
}
