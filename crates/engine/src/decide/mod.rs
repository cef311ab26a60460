//! `decide`: from state and command to events and effects.
//!
//! The engine works on a copy of the state: every event it decides is
//! applied at once (through [`crate::evolve::apply`]) so later steps of the
//! same command see it, and the events list is exactly what rebuilds that
//! state. Tokens move in a FIFO queue until every token waits; then inclusive
//! joins are re-checked; nothing here iterates a hash map.

mod activity;
mod call;
mod error;
mod gateway;
mod inclusive_join;
mod limits;
mod loops;
mod start;
mod subprocess;
mod task;
mod vars;

use crate::command::Command;
use crate::effect::{Effect, Finish};
use crate::event::Event;
use crate::evolve::{EvolveError, apply};
use crate::ids::{IncidentId, JobKey, ScopeId, TokenId};
use crate::plan::Plan;
use crate::state::{InstanceState, Token, Wait};
use std::collections::VecDeque;
use thiserror::Error;
use windlass_model::{EventResult, NodeKind, ProcessGraph};
use windlass_types::Timestamp;

/// Token moves one command may make before the instance is failed.
pub const MAX_MOVES_PER_COMMAND: usize = 100_000;

/// What `decide` needs besides state and command.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The prepared definition.
    pub plan: &'a Plan,
    /// The command's time (the engine never reads a clock).
    pub now: Timestamp,
    /// The stored definition key recorded in `InstanceStarted`.
    pub definition_key: &'a str,
}

/// The outcome of one command. Reuse one value across commands (see
/// [`Decision::clear`]) to avoid allocations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// Events to append, in order.
    pub events: Vec<Event>,
    /// Effects to carry out after the events are committed.
    pub effects: Vec<Effect>,
}

impl Decision {
    /// Empties both lists, keeping their capacity.
    pub fn clear(&mut self) {
        self.events.clear();
        self.effects.clear();
    }
}

/// A command that cannot be applied (nothing was decided).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecideError {
    /// `Start` on an instance that has started.
    #[error("the instance has already started")]
    AlreadyStarted,
    /// A command other than `Start` on a new or finished instance.
    #[error("the instance is not running")]
    NotRunning,
    /// The job is not (or no longer) pending.
    #[error("no pending job {0}")]
    UnknownJob(JobKey),
    /// The token does not wait for a child instance.
    #[error("token {0} does not wait for a child instance")]
    NotWaitingForChild(TokenId),
    /// No open incident with this id.
    #[error("no open incident {0}")]
    UnknownIncident(IncidentId),
    /// The process has nowhere to start.
    #[error("process '{0}' has no start event and no flow node without incoming flows")]
    NoStartNode(String),
    /// The requested start event does not exist at process level.
    #[error("process '{process}' has no start event '{id}' at process level")]
    StartEventNotFound {
        /// Process id.
        process: String,
        /// Requested start event id.
        id: String,
    },
    /// A value of the command exceeds the value limit (start variables,
    /// variables of a skipped incident); nothing was decided.
    #[error("refused: {0}")]
    ValueLimit(#[from] windlass_types::ValueLimitError),
    /// An internal inconsistency (a bug): the working state must be discarded.
    #[error("internal engine error: {0}")]
    Internal(String),
}

impl From<EvolveError> for DecideError {
    fn from(e: EvolveError) -> Self {
        DecideError::Internal(e.to_string())
    }
}

/// Decides `command` against `state` without changing it.
pub fn decide(
    state: &InstanceState,
    command: &Command,
    ctx: &Ctx<'_>,
) -> Result<Decision, DecideError> {
    let mut work = state.clone();
    let mut out = Decision::default();
    step(&mut work, command, ctx, &mut out)?;
    Ok(out)
}

/// Decides `command` and applies the decided events to `state` in place
/// (the fast path of a runtime that owns the state). Events and effects are
/// appended to `out`. Validation errors leave `state` untouched; after a
/// [`DecideError::Internal`] the state must be rebuilt from the history.
pub fn step(
    state: &mut InstanceState,
    command: &Command,
    ctx: &Ctx<'_>,
    out: &mut Decision,
) -> Result<(), DecideError> {
    let mut ex = Exec {
        st: state,
        plan: ctx.plan,
        g: ctx.plan.graph(),
        now: ctx.now,
        out,
        queue: VecDeque::new(),
    };
    match command {
        Command::Start {
            vars,
            business_key,
            start_event,
            has_parent,
        } => {
            windlass_types::limits::check_vars(vars)?;
            start::start(
                &mut ex,
                ctx.definition_key,
                vars,
                business_key,
                start_event.as_deref(),
                *has_parent,
            )?;
        }
        _ if ex.st.status != crate::state::Status::Running => return Err(DecideError::NotRunning),
        Command::CompleteJob { job, outputs, by } => {
            task::complete_job(&mut ex, *job, outputs, *by)?
        }
        Command::FailJob { job, failure } => task::fail_job(&mut ex, *job, failure)?,
        Command::ChildCompleted { token, outputs } => {
            call::child_completed(&mut ex, *token, outputs)?
        }
        Command::ChildFailed {
            token,
            code,
            message,
        } => {
            call::child_failed(&mut ex, *token, code.clone(), message)?;
        }
        Command::ResolveIncident { incident, action } => {
            if let crate::command::IncidentAction::Skip(vars) = action {
                windlass_types::limits::check_vars(vars)?;
            }
            task::resolve_incident(&mut ex, *incident, action)?
        }
    }
    ex.run()
}

/// The working context of one command.
pub(crate) struct Exec<'a> {
    pub st: &'a mut InstanceState,
    pub plan: &'a Plan,
    pub g: &'a ProcessGraph,
    pub now: Timestamp,
    pub out: &'a mut Decision,
    pub queue: VecDeque<TokenId>,
}

impl Exec<'_> {
    /// Applies and records one event.
    /// Once the instance has finished (failed, say, while evaluating an
    /// output mapping), nothing more happens in this command. An event
    /// carrying a value over the value limit is never recorded: the instance
    /// fails instead, naming the variable and the limit.
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

    /// Records one effect.
    pub fn effect(&mut self, e: Effect) {
        if self.st.is_finished() {
            return;
        }
        self.out.effects.push(e);
    }

    /// A copy of token `id` (small), or an internal error.
    pub fn token(&self, id: TokenId) -> Result<Token, DecideError> {
        self.st
            .token(id)
            .cloned()
            .ok_or_else(|| DecideError::Internal(format!("token {id} vanished")))
    }

    /// The graph node of token `id`.
    pub fn node_of(&self, id: TokenId) -> Result<&windlass_model::Node, DecideError> {
        let t = self
            .st
            .token(id)
            .ok_or_else(|| DecideError::Internal(format!("token {id} vanished")))?;
        Ok(&self.g.nodes[t.node as usize])
    }

    /// Creates a token at `node` in `scope` and queues it.
    pub fn spawn(
        &mut self,
        scope: ScopeId,
        node: u32,
        inner: bool,
    ) -> Result<TokenId, DecideError> {
        let token = self.st.next_token;
        self.emit(Event::TokenCreated {
            token,
            scope,
            node,
            inner,
        })?;
        self.queue.push_back(token);
        Ok(token)
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
        self.emit(Event::InstanceFailed {
            code: code.clone(),
            reason: reason.clone(),
        })?;
        self.out
            .effects
            .push(Effect::InstanceFinished(Finish::Failed { code, reason }));
        self.queue.clear();
        Ok(())
    }

    /// Moves queued tokens until all wait, then re-checks inclusive joins.
    /// A command that moves tokens more than [`MAX_MOVES_PER_COMMAND`] times
    /// (a cycle without a wait state) fails the instance.
    fn run(&mut self) -> Result<(), DecideError> {
        let mut moves = 0usize;
        loop {
            while let Some(t) = self.queue.pop_front() {
                if self.st.is_finished() {
                    self.queue.clear();
                    return Ok(());
                }
                moves += 1;
                if moves > MAX_MOVES_PER_COMMAND {
                    let node = self.node_of(t).map(|n| n.id.clone()).unwrap_or_default();
                    return self.fail(
                        None,
                        format!(
                            "more than {MAX_MOVES_PER_COMMAND} token moves without reaching a wait state \
                             (last at '{node}'): a cycle without a task?"
                        ),
                    );
                }
                if self.st.token(t).is_some_and(|t| t.wait == Wait::Active) {
                    self.advance(t)?;
                }
            }
            if self.st.is_finished() || !inclusive_join::fire_ready(self)? {
                return Ok(());
            }
        }
    }

    /// Acts on a token that has just arrived at its node.
    fn advance(&mut self, id: TokenId) -> Result<(), DecideError> {
        let node = self.node_of(id)?;
        match &node.kind {
            NodeKind::StartEvent { .. }
            | NodeKind::Boundary { .. }
            | NodeKind::IntermediateCatch { .. }
            | NodeKind::IntermediateThrow {
                result: EventResult::None,
            } => activity::leave(self, id),
            NodeKind::IntermediateThrow {
                result:
                    EventResult::Link {
                        target: Some(to), ..
                    },
            } => {
                let to = to.0;
                self.emit(Event::LinkJumped { token: id, to })?;
                self.queue.push_back(id);
                Ok(())
            }
            NodeKind::EndEvent {
                result: EventResult::Terminate,
            } => error::terminate(self, id),
            NodeKind::EndEvent {
                result: EventResult::Error { code },
            } => {
                let code = code.clone();
                error::throw(self, id, code, None)
            }
            NodeKind::EndEvent { .. } => activity::end_token(self, id),
            NodeKind::Task { .. } | NodeKind::SubProcess { .. } | NodeKind::CallActivity { .. } => {
                activity::enter(self, id)
            }
            NodeKind::Gateway { .. } => gateway::arrive(self, id),
            NodeKind::IntermediateThrow { .. } => Err(DecideError::Internal(format!(
                "intermediate throw event '{}' is not supported (the plan should have rejected it)",
                node.id
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
