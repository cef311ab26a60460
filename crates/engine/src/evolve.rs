//! `evolve`: folding one event into the state. Deterministic, no graph
//! needed: every event carries what it changes.

use crate::event::{Event, IncidentSite, ScopeKind};
use crate::ids::{IncidentId, JobKey, ScopeId, SubId, TokenId};
use crate::state::{
    Body, BufferedSignal, CompensationMismatch, Held, InstanceState, ScopeInst, Status, SubKind,
    Subscription, Token, Wait,
};
use thiserror::Error;

/// An event that does not fit the state (corrupt or foreign history).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EvolveError {
    /// The event names a token the state does not have.
    #[error("event {tag} refers to unknown token {token}")]
    UnknownToken {
        /// Event tag.
        tag: u8,
        /// Token id.
        token: TokenId,
    },
    /// The event names a scope instance the state does not have.
    #[error("event {tag} refers to unknown scope instance {scope}")]
    UnknownScope {
        /// Event tag.
        tag: u8,
        /// Scope id.
        scope: ScopeId,
    },
    /// The event reuses an id.
    #[error("event {tag} reuses id {id}")]
    DuplicateId {
        /// Event tag.
        tag: u8,
        /// The id.
        id: u32,
    },
    /// The event names an incident that is not open.
    #[error("event {tag} refers to unknown incident {incident}")]
    UnknownIncident {
        /// Event tag.
        tag: u8,
        /// Incident id.
        incident: IncidentId,
    },
    /// An element event for a token that runs no loop / multi-instance body.
    #[error("event {tag}: token {token} runs no loop or multi-instance body")]
    NotABody {
        /// Event tag.
        tag: u8,
        /// Token id.
        token: TokenId,
    },
    /// The event names a subscription that is not open.
    #[error("event {tag} refers to unknown subscription {sub}")]
    UnknownSubscription {
        /// Event tag.
        tag: u8,
        /// Subscription id.
        sub: SubId,
    },
    /// The event takes a kept signal the instance does not have.
    #[error("event {tag} takes kept signal {index}, which does not exist")]
    UnknownBufferedSignal {
        /// Event tag.
        tag: u8,
        /// Index into the kept signals.
        index: usize,
    },
    /// `DedupGranted` for a key no open claim waits for.
    #[error("event {tag} grants dedup key '{key}', which no open claim waits for")]
    NoDedupClaim {
        /// Event tag.
        tag: u8,
        /// The key.
        key: String,
    },
    /// A thrown message's or signal's number is not the instance's next
    /// one.
    #[error("event {tag} throws number {number}, expected {expected}")]
    MessageNumber {
        /// Event tag.
        tag: u8,
        /// The number in the event.
        number: u32,
        /// The instance's next number.
        expected: u32,
    },
    /// `CompensationStarted` names another activity than the next one its
    /// compensation run has.
    #[error("event {tag}: compensation scope {scope} has another activity next")]
    NotNextCompensation {
        /// Event tag.
        tag: u8,
        /// The compensation run.
        scope: ScopeId,
    },
    /// `InstanceStarted` twice, or an event before it.
    #[error("event {tag} does not fit instance status {status}")]
    WrongStatus {
        /// Event tag.
        tag: u8,
        /// Status name.
        status: &'static str,
    },
}

/// The error of a compensation event that does not fit the state.
fn mismatch(tag: u8, m: CompensationMismatch) -> EvolveError {
    match m {
        CompensationMismatch::UnknownScope(scope) => EvolveError::UnknownScope { tag, scope },
        CompensationMismatch::NotNext(scope) => EvolveError::NotNextCompensation { tag, scope },
    }
}

/// Folds `event` into `state` (consuming and returning it).
pub fn evolve(mut state: InstanceState, event: &Event) -> Result<InstanceState, EvolveError> {
    apply(&mut state, event)?;
    Ok(state)
}

/// Rebuilds the state from a whole history.
pub fn replay<'a>(
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<InstanceState, EvolveError> {
    let mut state = InstanceState::default();
    for e in events {
        apply(&mut state, e)?;
    }
    Ok(state)
}

fn tok(state: &mut InstanceState, tag: u8, id: TokenId) -> Result<&mut Token, EvolveError> {
    state
        .token_mut(id)
        .ok_or(EvolveError::UnknownToken { tag, token: id })
}

/// The token waits for incident `incident`, raised at `site` of its work
/// (after the failed attempt of its job, if any).
fn raise(
    state: &mut InstanceState,
    tag: u8,
    incident: IncidentId,
    token: TokenId,
    site: IncidentSite,
) -> Result<(), EvolveError> {
    let t = tok(state, tag, token)?;
    let attempt = match t.wait {
        Wait::Failed { attempt } | Wait::Job { attempt } => attempt,
        _ => 0,
    };
    t.wait = Wait::Incident {
        incident,
        attempt,
        site: Box::new(site),
    };
    state.next_incident = state.next_incident.max(incident.next());
    Ok(())
}

fn body(state: &mut InstanceState, tag: u8, id: TokenId) -> Result<&mut Body, EvolveError> {
    match &mut tok(state, tag, id)?.wait {
        Wait::Body(b) => Ok(b),
        _ => Err(EvolveError::NotABody { tag, token: id }),
    }
}

/// Removes open subscription `sub`; a catch event's token becomes active
/// (it leaves in the same command).
fn close_sub(state: &mut InstanceState, tag: u8, sub: SubId) -> Result<(), EvolveError> {
    let i = state
        .subscriptions
        .binary_search_by_key(&sub, |s| s.id)
        .map_err(|_| EvolveError::UnknownSubscription { tag, sub })?;
    let s = state.subscriptions.remove(i);
    if let Some(t) = state.token_mut(s.token)
        && t.node == s.node
        && t.wait == Wait::Catch
    {
        t.wait = Wait::Active;
    }
    Ok(())
}

/// Counts the normal departure of token `id` from its node (not for a
/// token running one loop pass or multi-instance element).
fn left(state: &mut InstanceState, tag: u8, id: TokenId) -> Result<(), EvolveError> {
    let t = state
        .token(id)
        .ok_or(EvolveError::UnknownToken { tag, token: id })?;
    if !t.inner {
        let node = t.node;
        state.count_left(node);
    }
    Ok(())
}

fn remove_token(state: &mut InstanceState, tag: u8, id: TokenId) -> Result<(), EvolveError> {
    let i = state
        .tokens
        .binary_search_by_key(&id, |t| t.id)
        .map_err(|_| EvolveError::UnknownToken { tag, token: id })?;
    state.tokens.remove(i);
    Ok(())
}

/// Folds `event` into `state` in place.
pub fn apply(state: &mut InstanceState, event: &Event) -> Result<(), EvolveError> {
    let tag = event.tag();
    let started = !matches!(state.status, Status::New);
    match (event, started) {
        (Event::InstanceStarted { .. }, true) => {
            return Err(EvolveError::WrongStatus {
                tag,
                status: "started",
            });
        }
        (Event::InstanceStarted { .. }, false) => {}
        (_, false) => return Err(EvolveError::WrongStatus { tag, status: "new" }),
        _ => {}
    }
    let departed = state.last_departure.take();
    match event {
        Event::InstanceStarted {
            business_key,
            vars,
            has_parent,
            ..
        } => {
            state.status = Status::Running;
            state.business_key = business_key.clone();
            state.has_parent = *has_parent;
            state.scopes.push(ScopeInst {
                id: ScopeId::ROOT,
                parent: None,
                kind: ScopeKind::Process,
                owner: None,
                vars: vars.clone(),
                compensation: None,
            });
            state.next_scope = ScopeId(1);
        }
        Event::ScopeEntered {
            scope,
            parent,
            kind,
            owner,
            vars,
        } => {
            if *scope < state.next_scope {
                return Err(EvolveError::DuplicateId { tag, id: scope.0 });
            }
            if let Some(p) = parent
                && state.scope(*p).is_none()
            {
                return Err(EvolveError::UnknownScope { tag, scope: *p });
            }
            if let (
                Some(o),
                ScopeKind::SubProcess(_) | ScopeKind::EventSubProcess(_) | ScopeKind::Compensation,
            ) = (owner, kind)
            {
                tok(state, tag, *o)?.wait = Wait::Scope(*scope);
            }
            state.scopes.push(ScopeInst {
                id: *scope,
                parent: *parent,
                kind: *kind,
                owner: *owner,
                vars: vars.clone(),
                compensation: None,
            });
            state.next_scope = scope.next();
        }
        Event::ScopeClosed { scope } => {
            let i = state
                .scopes
                .binary_search_by_key(scope, |s| s.id)
                .map_err(|_| EvolveError::UnknownScope { tag, scope: *scope })?;
            state.scopes.remove(i);
        }
        Event::TokenCreated {
            token,
            scope,
            node,
            inner,
        } => {
            if *token < state.next_token {
                return Err(EvolveError::DuplicateId { tag, id: token.0 });
            }
            if state.scope(*scope).is_none() {
                return Err(EvolveError::UnknownScope { tag, scope: *scope });
            }
            state.tokens.push(Token {
                id: *token,
                scope: *scope,
                node: *node,
                inner: *inner,
                via: None,
                wait: Wait::Active,
            });
            state.next_token = token.next();
            if departed == Some((*scope, *node)) {
                // A split adds this token where the last one left from.
                state.last_departure = departed;
            }
        }
        Event::FlowTaken {
            token, flow, to, ..
        } => {
            let t = tok(state, tag, *token)?;
            let from = (t.scope, t.node);
            // A token a split added at the node leaves it without counting
            // a second departure.
            let split_born = t.via.is_none() && departed == Some(from);
            if !split_born {
                left(state, tag, *token)?;
            }
            state.last_departure = Some(from);
            let t = tok(state, tag, *token)?;
            t.node = *to;
            t.via = Some(*flow);
            t.wait = Wait::Active;
        }
        Event::TokenEnded { token } => {
            left(state, tag, *token)?;
            remove_token(state, tag, *token)?;
        }
        Event::TokenCancelled { token } => remove_token(state, tag, *token)?,
        Event::JoinWaiting { token, .. } => tok(state, tag, *token)?.wait = Wait::Join,
        Event::EventGatewayWaiting { token, .. } => tok(state, tag, *token)?.wait = Wait::Catch,
        Event::JoinFired { token, merged, .. } => {
            for m in merged {
                left(state, tag, *m)?;
                remove_token(state, tag, *m)?;
            }
            tok(state, tag, *token)?.wait = Wait::Active;
        }
        Event::ActivityStarted { token, .. } => {
            tok(state, tag, *token)?;
        }
        Event::ActivityCompleted { token, .. }
        | Event::JobCompleted { token, .. }
        | Event::ChildCompleted { token, .. } => tok(state, tag, *token)?.wait = Wait::Active,
        Event::JobCreated {
            token,
            node,
            attempt,
            not_before,
            ..
        } => {
            tok(state, tag, *token)?.wait = Wait::Job { attempt: *attempt };
            if state.suspended.is_some() {
                state.held.push(Held::Job {
                    key: JobKey {
                        node: *node,
                        token: *token,
                        attempt: *attempt,
                    },
                    not_before: *not_before,
                });
            }
        }
        Event::JobFailed { token, attempt, .. } => {
            tok(state, tag, *token)?.wait = Wait::Failed { attempt: *attempt };
        }
        Event::IncidentRaised {
            incident, token, ..
        } => raise(state, tag, *incident, *token, IncidentSite::Work)?,
        Event::IncidentRaisedAt {
            incident,
            token,
            site,
            ..
        } => raise(state, tag, *incident, *token, site.clone())?,
        Event::IncidentResolved { incident, .. } => {
            let t = state
                .tokens
                .iter_mut()
                .find(|t| matches!(t.wait, Wait::Incident { incident: i, .. } if i == *incident))
                .ok_or(EvolveError::UnknownIncident {
                    tag,
                    incident: *incident,
                })?;
            if let Wait::Incident { attempt, .. } = t.wait {
                t.wait = Wait::Failed { attempt };
            }
        }
        Event::VariablesSet { scope, vars } => {
            let s = state
                .scope_mut(*scope)
                .ok_or(EvolveError::UnknownScope { tag, scope: *scope })?;
            for (k, v) in vars {
                s.vars.insert(k.clone(), v.clone());
            }
        }
        Event::ErrorThrown { .. } | Event::ErrorCaught { .. } | Event::Terminated { .. } => {}
        Event::EscalationThrown { caught_by, .. } => {
            if caught_by.is_none() && state.has_parent {
                state.escalations_sent += 1;
            }
        }
        Event::ChildEscalated {
            token,
            number,
            caught_by,
            ..
        } => {
            let next = number.saturating_add(1);
            match state.child_escalations.iter_mut().find(|(t, _)| t == token) {
                Some((_, n)) => *n = next,
                None => state.child_escalations.push((*token, next)),
            }
            if caught_by.is_none() && state.has_parent {
                state.escalations_sent += 1;
            }
        }
        Event::BodyStarted {
            token,
            total,
            items,
        } => {
            tok(state, tag, *token)?.wait = Wait::Body(Box::new(Body {
                total: *total,
                items: items.clone(),
                ..Body::default()
            }));
        }
        Event::ElementStarted { token, index } => {
            let b = body(state, tag, *token)?;
            b.next = index + 1;
            b.active += 1;
        }
        Event::ElementCompleted {
            token,
            index,
            result,
        } => {
            let b = body(state, tag, *token)?;
            b.active = b.active.saturating_sub(1);
            b.completed += 1;
            if let Some(r) = result {
                let i = *index as usize;
                if b.results.len() <= i {
                    b.results.resize(i + 1, serde_json::Value::Null);
                }
                b.results[i] = r.clone();
            }
        }
        Event::ChildStarted { token, .. } => {
            tok(state, tag, *token)?.wait = Wait::Child;
            state.child_escalations.retain(|(t, _)| t != token);
            if state.suspended.is_some() {
                state.held.push(Held::Child(*token));
            }
        }
        Event::LinkJumped { token, to } => {
            left(state, tag, *token)?;
            let t = tok(state, tag, *token)?;
            t.node = *to;
            t.via = None;
        }
        Event::InstanceCompleted => state.status = Status::Completed,
        Event::InstanceFailed { code, reason } => {
            state.status = Status::Failed {
                code: code.clone(),
                reason: reason.clone(),
            };
        }
        Event::InstanceTerminated { reason } => {
            state.status = Status::Terminated {
                reason: reason.clone(),
            };
        }
        Event::CancelRequested { reason } => state.cancelling = Some(reason.clone()),
        Event::InstanceCancelled { reason } => {
            state.cancelling = None;
            state.status = Status::Cancelled {
                reason: reason.clone(),
            };
        }
        Event::InstanceSuspended { reason } => state.suspended = Some(reason.clone()),
        Event::InstanceResumed => {
            state.suspended = None;
            state.held.clear();
        }
        Event::CompensationRecorded { scope, node, kept } => state
            .record_compensable(*scope, *node, *kept)
            .map_err(|m| mismatch(tag, m))?,
        Event::CompensationThrown {
            of,
            activity,
            into: Some(into),
            ..
        } => state
            .throw_compensation(*of, *activity, *into)
            .map_err(|m| mismatch(tag, m))?,
        Event::CompensationThrown { into: None, .. } | Event::TransactionCancelled { .. } => {}
        Event::CompensationStarted { scope, node, into } => state
            .start_compensation(*scope, *node, *into)
            .map_err(|m| mismatch(tag, m))?,
        Event::RunReset { .. } => {
            // A run reset while suspended holds every job and child open
            // at the reset point (none of them runs for this run yet):
            // resuming asks for them.
            if state.suspended.is_some() {
                state.held = crate::state::reset_held(state);
            }
        }
        Event::TimerScheduled {
            sub,
            token,
            node,
            due_at,
            occurrence,
        } => {
            if *sub < state.next_sub {
                return Err(EvolveError::DuplicateId { tag, id: sub.0 });
            }
            let t = tok(state, tag, *token)?;
            // A token at the catching node waits there; one at an activity
            // (a boundary event's) keeps waiting for its work.
            if t.node == *node {
                t.wait = Wait::Catch;
            }
            // Ids only grow, so pushing keeps the list sorted.
            state.subscriptions.push(Subscription {
                id: *sub,
                token: *token,
                node: *node,
                kind: SubKind::Timer {
                    due_at: *due_at,
                    occurrence: *occurrence,
                },
            });
            state.next_sub = sub.next();
        }
        Event::MessageSubscribed {
            sub,
            token,
            node,
            name,
            correlation_key,
        } => {
            if *sub < state.next_sub {
                return Err(EvolveError::DuplicateId { tag, id: sub.0 });
            }
            let t = tok(state, tag, *token)?;
            if t.node == *node {
                t.wait = Wait::Catch;
            }
            state.subscriptions.push(Subscription {
                id: *sub,
                token: *token,
                node: *node,
                kind: SubKind::Message {
                    name: name.clone(),
                    correlation_key: correlation_key.clone(),
                },
            });
            state.next_sub = sub.next();
        }
        Event::SignalSubscribed {
            sub,
            token,
            node,
            name,
        } => {
            if *sub < state.next_sub {
                return Err(EvolveError::DuplicateId { tag, id: sub.0 });
            }
            let t = tok(state, tag, *token)?;
            if t.node == *node {
                t.wait = Wait::Catch;
            }
            state.subscriptions.push(Subscription {
                id: *sub,
                token: *token,
                node: *node,
                kind: SubKind::Signal { name: name.clone() },
            });
            state.next_sub = sub.next();
        }
        Event::SignalBuffered { name, vars } => state.signals.push(BufferedSignal {
            name: name.clone(),
            vars: vars.clone(),
        }),
        Event::SignalDelivered { sub, buffered, .. } => {
            if let Some(i) = buffered {
                let i = *i as usize;
                if i >= state.signals.len() {
                    return Err(EvolveError::UnknownBufferedSignal { tag, index: i });
                }
                state.signals.remove(i);
            }
            close_sub(state, tag, *sub)?;
        }
        Event::DedupClaimed {
            sub,
            token,
            node,
            key,
        } => {
            if *sub < state.next_sub {
                return Err(EvolveError::DuplicateId { tag, id: sub.0 });
            }
            tok(state, tag, *token)?.wait = Wait::Catch;
            state.subscriptions.push(Subscription {
                id: *sub,
                token: *token,
                node: *node,
                kind: SubKind::Dedup { key: key.clone() },
            });
            state.next_sub = sub.next();
            if !state.dedup_claimed.contains(key) {
                state.dedup_claimed.push(key.clone());
            }
        }
        Event::DedupGranted { key } => {
            let claims: Vec<(SubId, TokenId)> = state
                .subscriptions
                .iter()
                .filter(|s| matches!(&s.kind, SubKind::Dedup { key: k } if k == key))
                .map(|s| (s.id, s.token))
                .collect();
            if claims.is_empty() {
                return Err(EvolveError::NoDedupClaim {
                    tag,
                    key: key.clone(),
                });
            }
            for (sub, token) in claims {
                close_sub(state, tag, sub)?;
                tok(state, tag, token)?.wait = Wait::Active;
            }
            state.dedup_held.push(key.clone());
        }
        Event::MessageThrown { number, .. } => {
            if *number != state.messages_thrown {
                return Err(EvolveError::MessageNumber {
                    tag,
                    number: *number,
                    expected: state.messages_thrown,
                });
            }
            state.messages_thrown += 1;
        }
        Event::SignalThrown { number, .. } => {
            if *number != state.signals_thrown {
                return Err(EvolveError::MessageNumber {
                    tag,
                    number: *number,
                    expected: state.signals_thrown,
                });
            }
            state.signals_thrown += 1;
        }
        Event::InstanceSuperseded { key, by } => {
            state.status = Status::Superseded {
                key: key.clone(),
                by: by.clone(),
            };
        }
        Event::TimerFired { sub }
        | Event::DedupWithdrawn { sub }
        | Event::SignalUnsubscribed { sub }
        | Event::TimerCancelled { sub }
        | Event::TimerSkipped { sub }
        | Event::MessageCorrelated { sub, .. }
        | Event::MessageUnsubscribed { sub } => close_sub(state, tag, *sub)?,
    }
    state.version += 1;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ids::{ScopeId, TokenId};
    use windlass_model::NodeIdx;

    fn started() -> InstanceState {
        let e = Event::InstanceStarted {
            process_id: "p".into(),
            definition_key: "p".into(),
            business_key: None,
            vars: windlass_types::Vars::new(),
            has_parent: false,
        };
        evolve(InstanceState::default(), &e).unwrap()
    }

    #[test]
    fn events_before_start_or_a_second_start_are_refused() {
        let err = evolve(InstanceState::default(), &Event::InstanceCompleted).unwrap_err();
        assert_eq!(
            err,
            EvolveError::WrongStatus {
                tag: 26,
                status: "new"
            }
        );
        let s = started();
        let again = Event::InstanceStarted {
            process_id: "p".into(),
            definition_key: "p".into(),
            business_key: None,
            vars: windlass_types::Vars::new(),
            has_parent: false,
        };
        assert!(matches!(
            evolve(s, &again),
            Err(EvolveError::WrongStatus { .. })
        ));
    }

    #[test]
    fn unknown_tokens_and_scopes_and_reused_ids_are_refused() {
        let s = started();
        assert_eq!(
            evolve(s.clone(), &Event::TokenEnded { token: TokenId(4) }).unwrap_err(),
            EvolveError::UnknownToken {
                tag: 5,
                token: TokenId(4)
            }
        );
        let orphan = Event::TokenCreated {
            token: TokenId(0),
            scope: ScopeId(9),
            node: NodeIdx(0),
            inner: false,
        };
        assert_eq!(
            evolve(s.clone(), &orphan).unwrap_err(),
            EvolveError::UnknownScope {
                tag: 3,
                scope: ScopeId(9)
            }
        );
        let ok = Event::TokenCreated {
            token: TokenId(0),
            scope: ScopeId(0),
            node: NodeIdx(0),
            inner: false,
        };
        let s = evolve(s, &ok).unwrap();
        assert_eq!(
            evolve(s.clone(), &ok).unwrap_err(),
            EvolveError::DuplicateId { tag: 3, id: 0 }
        );
        let elem = Event::ElementStarted {
            token: TokenId(0),
            index: 0,
        };
        assert_eq!(
            evolve(s, &elem).unwrap_err(),
            EvolveError::NotABody {
                tag: 20,
                token: TokenId(0)
            }
        );
    }

    #[test]
    fn variables_merge_into_their_scope_and_version_counts_events() {
        let s = started();
        let mut vars = windlass_types::Vars::new();
        vars.insert("a".into(), serde_json::json!(1));
        let s = evolve(
            s,
            &Event::VariablesSet {
                scope: ScopeId(0),
                vars,
            },
        )
        .unwrap();
        assert_eq!(s.root_vars().unwrap().get("a"), Some(&serde_json::json!(1)));
        assert_eq!(s.version, 2);
    }
}
