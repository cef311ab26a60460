//! [`Exec`]: the working context of one command — the state being changed,
//! the decided events and effects, and the queue of steps. Element modules
//! change the instance only through it.

use super::{DecideError, InternalError, Step};
use crate::effect::{Effect, Finish};
use crate::event::{Event, IncidentSite};
use crate::evolve::apply;
use crate::ids::{JobKey, ScopeId, TokenId};
use crate::plan::Plan;
use crate::state::{InstanceState, Token, Wait};
use std::collections::VecDeque;
use windlass_model::{NodeIdx, ProcessGraph};
use windlass_types::Timestamp;

/// The working context of one command.
pub(crate) struct Exec<'a> {
    pub st: &'a mut InstanceState,
    pub plan: &'a Plan,
    pub g: &'a ProcessGraph,
    pub now: Timestamp,
    pub out: &'a mut super::Decision,
    /// Steps still to run: arrivals at the back, continuations at the front.
    pub queue: VecDeque<Step>,
    /// How many continuations the step running now has put at the front
    /// of the queue (so the next one goes after them: produced order).
    pub continued: usize,
    /// Whether a join of the current round fired.
    pub joins_fired: bool,
}

impl Exec<'_> {
    /// Applies and records one event.
    /// Once the instance has finished (failed, say, while evaluating an
    /// output mapping), nothing more happens in this command.
    pub fn emit(&mut self, e: Event) -> Result<(), DecideError> {
        if self.st.is_finished() {
            return Ok(());
        }
        if let Err(limit) = crate::value_limits::check_event(&e) {
            return self.fail(None, format!("a value was not recorded: {limit}"));
        }
        apply(self.st, &e)?;
        self.out.events.push(e);
        Ok(())
    }

    /// [`emit`](Self::emit) for an event whose values the caller has just
    /// checked against the value limit (a start's variables, a job's
    /// outputs and what its mappings made of them), so they are not
    /// measured a second time.
    pub fn emit_checked(&mut self, e: Event) -> Result<(), DecideError> {
        if self.st.is_finished() {
            return Ok(());
        }
        apply(self.st, &e)?;
        self.out.events.push(e);
        Ok(())
    }

    /// Records one effect. While the instance is suspended, `RunJob` and
    /// `StartChild` are held instead (the state lists them; resume asks for
    /// them).
    pub fn effect(&mut self, e: Effect) {
        if self.st.is_finished() {
            return;
        }
        if self.st.is_suspended() && matches!(e, Effect::RunJob(_) | Effect::StartChild { .. }) {
            return;
        }
        self.out.effects.push(e);
    }

    /// Queues token `id` to act at the node it has moved to.
    pub fn arrive(&mut self, id: TokenId) {
        self.queue.push_back(Step::Arrive(id));
    }

    /// Queues a continuation of the current step: it runs right after the
    /// step returns (after the step's earlier continuations), before
    /// anything queued earlier.
    pub fn then(&mut self, step: Step) {
        if self.st.is_finished() {
            return;
        }
        // Put it at the front, then behind the step's earlier continuations
        // (rarely more than one, so a few swaps beat `VecDeque::insert`).
        self.queue.push_front(step);
        let earlier = self.continued.min(self.queue.len() - 1);
        for i in 0..earlier {
            self.queue.swap(i, i + 1);
        }
        self.continued = earlier + 1;
    }

    /// A copy of token `id` (small), or an internal error.
    pub fn token(&self, id: TokenId) -> Result<Token, DecideError> {
        self.st
            .token(id)
            .cloned()
            .ok_or_else(|| InternalError::TokenVanished(id).into())
    }

    /// The graph node of token `id`.
    pub fn node_of(&self, id: TokenId) -> Result<&windlass_model::Node, DecideError> {
        let t = self
            .st
            .token(id)
            .ok_or_else(|| DecideError::from(InternalError::TokenVanished(id)))?;
        Ok(self.g.node(t.node))
    }

    /// Creates a token at `node` in `scope` and queues it.
    pub fn spawn(
        &mut self,
        scope: ScopeId,
        node: NodeIdx,
        inner: bool,
    ) -> Result<TokenId, DecideError> {
        let token = self.st.next_token;
        self.emit(Event::TokenCreated {
            token,
            scope,
            node,
            inner,
        })?;
        self.arrive(token);
        Ok(token)
    }

    /// Raises an incident on token `id` (it waits for `ResolveIncident`):
    /// an expression at the token could not be evaluated, or a value was
    /// refused. The message names the element and the expression.
    pub fn incident(&mut self, id: TokenId, message: String) -> Result<(), DecideError> {
        let incident = self.st.next_incident;
        self.emit(Event::IncidentRaised {
            incident,
            token: id,
            message: message.clone(),
        })?;
        self.effect(Effect::IncidentRaised { incident, message });
        Ok(())
    }

    /// Raises an incident on token `id` at `site` of its work (after its
    /// work, where [`Exec::incident`] is within it): resolving it takes the
    /// work up there (`job::resolve_incident`).
    pub fn incident_at(
        &mut self,
        id: TokenId,
        message: String,
        site: IncidentSite,
    ) -> Result<(), DecideError> {
        let incident = self.st.next_incident;
        self.emit(Event::IncidentRaisedAt {
            incident,
            token: id,
            message: message.clone(),
            site,
        })?;
        self.effect(Effect::IncidentRaised { incident, message });
        Ok(())
    }

    /// The value of an evaluation while opening token `id`'s event
    /// subscriptions (a boundary event's, an event-based gateway's catch
    /// event's or a listener's timer or correlation key), or — when it
    /// failed — `None` after closing what the token had opened and raising
    /// an incident at [`IncidentSite::Subscriptions`] (its resolution opens
    /// them all again). The caller stops opening.
    pub fn eval_or_subscriptions_incident<T>(
        &mut self,
        id: TokenId,
        r: Result<T, String>,
    ) -> Result<Option<T>, DecideError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(msg) => {
                self.close_subscriptions(id)?;
                self.incident_at(id, msg, IncidentSite::Subscriptions)?;
                Ok(None)
            }
        }
    }

    /// True when token `id` waits for an incident to be resolved.
    pub fn in_incident(&self, id: TokenId) -> bool {
        self.st
            .token(id)
            .is_some_and(|t| matches!(t.wait, Wait::Incident { .. }))
    }

    /// The value of an evaluation at token `id`, or — when it failed — an
    /// incident on the token and `None` (the caller stops there; the
    /// incident's resolution takes the token on).
    pub fn eval_or_incident<T>(
        &mut self,
        id: TokenId,
        r: Result<T, String>,
    ) -> Result<Option<T>, DecideError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(msg) => {
                self.incident(id, msg)?;
                Ok(None)
            }
        }
    }

    /// Closes every open subscription of token `id` (`TimerCancelled`): its
    /// catch event or activity is left, ends or is cancelled.
    pub fn close_subscriptions(&mut self, id: TokenId) -> Result<(), DecideError> {
        let open: Vec<Event> = self.st.subscriptions_of(id).map(close_event).collect();
        for e in open {
            self.emit(e)?;
        }
        Ok(())
    }

    /// Ends the instance as failed.
    pub fn fail(&mut self, code: Option<String>, reason: String) -> Result<(), DecideError> {
        if self.st.is_finished() {
            return Ok(());
        }
        let pending: Vec<Effect> = self
            .st
            .tokens
            .iter()
            .filter_map(|t| match t.wait {
                Wait::Job { attempt } => Some(Effect::CancelJob(JobKey {
                    node: t.node,
                    token: t.id,
                    attempt,
                })),
                Wait::Child => Some(Effect::CancelChild { token: t.id }),
                _ => None,
            })
            .collect();
        self.out.effects.extend(pending);
        let open: Vec<Event> = self.st.subscriptions.iter().map(close_event).collect();
        for e in open {
            self.emit(e)?;
        }
        self.emit(Event::InstanceFailed {
            code: code.clone(),
            reason: reason.clone(),
        })?;
        self.out
            .effects
            .push(Effect::InstanceFinished(Finish::Failed { code, reason }));
        self.queue.clear();
        self.continued = 0;
        Ok(())
    }
}

/// The event that closes subscription `s` without it firing.
fn close_event(s: &crate::state::Subscription) -> Event {
    match s.kind {
        crate::state::SubKind::Timer { .. } => Event::TimerCancelled { sub: s.id },
        crate::state::SubKind::Message { .. } => Event::MessageUnsubscribed { sub: s.id },
        crate::state::SubKind::Signal { .. } => Event::SignalUnsubscribed { sub: s.id },
        crate::state::SubKind::Dedup { .. } => Event::DedupWithdrawn { sub: s.id },
    }
}
