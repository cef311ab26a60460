//! `decide`: from state and command to events and effects.
//!
//! The engine works on a copy of the state: every event it decides is
//! applied at once (through [`crate::evolve::apply`]) so later steps of the
//! same command see it, and the events list is exactly what rebuilds that
//! state. Nothing here iterates a hash map.
//!
//! # Shape: a dispatcher with leaves
//! Work travels through one queue of `Step`s that only this module
//! dispatches. Element modules (`task`, `gateway`, `subprocess`, `call`,
//! `loops`, `throw`, `inclusive_join`, `start`) call only downward — into
//! `job`, `flow`, `cancel`, `vars` and `Exec` — and hand everything that
//! would call back up to the queue:
//!
//! - a token that moves to a node is queued at the back (`Step::Arrive`);
//! - a continuation — a scope instance that may have emptied
//!   (`Step::ScopeEmptied`), a complex gateway's decision job that
//!   completed (`Step::GatewayDecided`) — goes to the **front**, in the
//!   order its step produced it. Every continuation is produced in tail
//!   position (a complex join ending its late tokens produces several, all
//!   for the same scope instance; the first closes it, the rest find it
//!   closed), so it runs exactly where a direct call would have run, and the
//!   event order is unchanged (`tests/golden.rs` compares the bytes);
//! - once every token waits, one round of inclusive / complex joins is
//!   queued (`Step::FireJoin`); another round follows while one fires.
//!
//! Module calls (all downward): `task → job → throw → cancel → flow → vars`,
//! `gateway → job, flow`, `inclusive_join → gateway, flow`,
//! `loops → cancel, flow`, `call → throw, flow, vars`, `subprocess → flow`,
//! `timer → cancel, flow, vars`, `dedup → cancel`, `job → timer, dedup` (an incident at a timer
//! catch event is resolved there), `control → throw, cancel, flow, job,
//! call` (cancel, suspend, resume), `escalation → throw, cancel, event_sub,
//! flow`, `compensation → compensable, cancel, event_sub, flow`; `flow`,
//! `subprocess` and `loops` record completed activities through the leaf
//! `compensable`.
//! The one cycle left is the BPMN one and it runs through this dispatcher:
//! a token ends (`flow`), its scope instance empties (`Step::ScopeEmptied`
//! here), the owning sub-process or loop body completes (`subprocess`,
//! `loops`), and its token leaves or ends (`flow`) — completion bubbling up
//! the scope tree, as the standard describes it. `tests/decide_layers.rs`
//! fails on any cycle between the sibling modules.

mod call;
mod cancel;
mod compensable;
mod compensation;
mod control;
mod dedup;
mod error;
mod escalation;
mod event_gateway;
mod event_sub;
mod exec;
mod flow;
mod gateway;
mod inclusive_join;
mod job;
mod limits;
mod listeners;
mod loops;
mod message;
mod message_throw;
mod signal;
mod signal_throw;
pub(crate) mod start;
mod subprocess;
mod task;
mod throw;
mod timer;
mod vars;

pub use error::{DecideError, InternalError};

pub(crate) use exec::Exec;

use crate::command::Command;
use crate::effect::Effect;
use crate::event::{Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use crate::plan::Plan;
use crate::state::{InstanceState, Wait};
use std::collections::VecDeque;
use windlass_model::{EventResult, EventTrigger, GatewayKind, NodeIdx, NodeKind, ScopeIdx};
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

/// One unit of work in a command's queue (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The token has moved to its node and acts there (if still active).
    Arrive(TokenId),
    /// A token of this scope instance ended: close it if none is left.
    ScopeEmptied(ScopeId),
    /// A complex gateway's decision job completed: split.
    GatewayDecided(TokenId),
    /// Fire the inclusive / complex join at this node of this scope
    /// instance if nothing can reach it any more.
    FireJoin(ScopeId, NodeIdx),
    /// An incident on an activity whose work never started (a script that
    /// failed or whose result was refused, an input mapping of a task, call
    /// activity or sub-process that failed) is retried: start the
    /// activity's work again.
    RestartTask(TokenId),
    /// An incident on a gateway's conditions is resolved: evaluate them
    /// again and leave.
    Resplit(TokenId),
    /// An incident on a node's dedup key is resolved: render the key again
    /// and claim it (or act at the node when the instance holds it).
    Readmit(TokenId),
    /// An incident on opening the token's event subscriptions is resolved:
    /// open them again and go on (`resubscribe`).
    Resubscribe(TokenId),
    /// An incident on a complex gateway's activation condition is
    /// resolved: the token arrives at the join again.
    Rejoin(TokenId),
    /// This scope instance (of this graph scope) has opened: park the
    /// listeners of its event sub-processes' timer, message and signal
    /// start events.
    OpenListeners(ScopeId, ScopeIdx),
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
        continued: 0,
        joins_fired: false,
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
        Command::CompleteJob { job, outputs, by } => job::complete(&mut ex, *job, outputs, *by)?,
        Command::FailJob { job, failure } => job::fail(&mut ex, *job, failure)?,
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
        Command::ChildNotStarted { token, message } => {
            call::child_not_started(&mut ex, *token, message)?
        }
        Command::ChildEscalated {
            token,
            number,
            code,
        } => escalation::from_child(&mut ex, *token, *number, code)?,
        Command::ResolveIncident { incident, action } => {
            if let crate::command::IncidentAction::Skip(vars) = action {
                windlass_types::limits::check_vars(vars)?;
            }
            job::resolve_incident(&mut ex, *incident, action)?
        }
        Command::Terminate { reason } => cancel::terminate_instance(&mut ex, reason)?,
        Command::FireTimer { sub } | Command::SkipTimer { sub } if ex.st.is_suspended() => {
            return Err(DecideError::Suspended(*sub));
        }
        Command::FireTimer { sub } => timer::fire(&mut ex, *sub)?,
        Command::CorrelateMessage {
            sub,
            message_id,
            vars,
        } => {
            windlass_types::limits::check_vars(vars)?;
            message::correlate(&mut ex, *sub, message_id.as_deref(), vars)?
        }
        Command::Signal { name, vars } => {
            windlass_types::limits::check_vars(vars)?;
            signal::send(&mut ex, name, vars)?
        }
        Command::BroadcastSignal { name, vars } => {
            windlass_types::limits::check_vars(vars)?;
            signal::broadcast(&mut ex, name, vars)?
        }
        Command::SkipTimer { sub } => timer::skip(&mut ex, *sub)?,
        Command::Cancel { reason } => control::cancel_instance(&mut ex, reason)?,
        Command::Suspend { reason } => control::suspend(&mut ex, reason)?,
        Command::Resume => control::resume(&mut ex)?,
        Command::Reset {
            from_run,
            at_seq,
            reason,
        } => control::reset(&mut ex, from_run, *at_seq, reason)?,
        Command::GrantDedup { key } => dedup::grant(&mut ex, key)?,
        Command::Supersede { key, by } => dedup::supersede(&mut ex, key, by)?,
    }
    run(&mut ex)
}

/// Runs queued steps until every token waits and no join can fire. A
/// command that moves tokens more than [`MAX_MOVES_PER_COMMAND`] times (a
/// cycle without a wait state) fails the instance.
fn run(ex: &mut Exec<'_>) -> Result<(), DecideError> {
    let mut moves = 0usize;
    // Whether a round of joins is queued, and whether one of them fired.
    let mut join_round = false;
    ex.joins_fired = false;
    loop {
        while let Some(step) = ex.queue.pop_front() {
            if ex.st.is_finished() {
                ex.queue.clear();
                return Ok(());
            }
            if let Step::Arrive(t) = step {
                moves += 1;
                if moves > MAX_MOVES_PER_COMMAND {
                    let node = ex.node_of(t).map(|n| n.id.clone()).unwrap_or_default();
                    return ex.fail(
                        None,
                        format!(
                            "more than {MAX_MOVES_PER_COMMAND} token moves without reaching a wait state \
                             (last at '{node}'): a cycle without a task?"
                        ),
                    );
                }
            }
            ex.continued = 0;
            dispatch(ex, step)?;
        }
        if ex.st.is_finished() || (join_round && !ex.joins_fired) {
            return Ok(());
        }
        let candidates = inclusive_join::candidates(ex);
        if candidates.is_empty() {
            return Ok(());
        }
        ex.queue.extend(
            candidates
                .into_iter()
                .map(|(scope, gw)| Step::FireJoin(scope, gw)),
        );
        join_round = true;
        ex.joins_fired = false;
    }
}

/// The one place that turns a step into a call.
fn dispatch(ex: &mut Exec<'_>, step: Step) -> Result<(), DecideError> {
    match step {
        Step::Arrive(t) => {
            if ex.st.token(t).is_some_and(|t| t.wait == Wait::Active) && dedup::admitted(ex, t)? {
                arrive(ex, t)?;
            }
            Ok(())
        }
        Step::ScopeEmptied(scope) => scope_emptied(ex, scope),
        Step::GatewayDecided(t) => gateway::split_after_decision(ex, t),
        Step::Resplit(t) => gateway::resplit(ex, t),
        Step::Readmit(t) => {
            if dedup::admitted(ex, t)? {
                arrive(ex, t)?;
            }
            Ok(())
        }
        Step::RestartTask(id) => start_work(ex, id),
        Step::Resubscribe(id) => resubscribe(ex, id),
        Step::Rejoin(id) => arrive(ex, id),
        Step::OpenListeners(scope, gs) => listeners::open(ex, scope, gs),
        Step::FireJoin(scope, gw) => {
            if inclusive_join::fire(ex, scope, gw)? {
                ex.joins_fired = true;
            }
            Ok(())
        }
    }
}

/// Starts the work of the activity token `id` has started (its boundary
/// events already open): its loop body, else its sub-process, call or task.
fn start_work(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if node.looping.is_some() && !t.inner {
        return loops::start_body(ex, id);
    }
    match &node.kind {
        NodeKind::SubProcess { scope, .. } => subprocess::enter(ex, id, *scope),
        NodeKind::CallActivity {
            called_element,
            binding,
        } => call::start(ex, id, called_element, *binding),
        _ => {
            let name = vars::resolve_name(ex, node, t.scope);
            task::start(ex, id, name)
        }
    }
}

/// An incident on opening token `id`'s event subscriptions was resolved:
/// open them again — the catch events after its event-based gateway, its
/// listener's start event, or its activity's boundary events (then the
/// activity's work starts).
fn resubscribe(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.node_of(id)?;
    if matches!(
        node.kind,
        NodeKind::Gateway {
            kind: GatewayKind::EventBased,
            ..
        }
    ) {
        return gateway::wait_for_events(ex, id);
    }
    if event_sub::is_listener_token(ex, id) {
        return listeners::reopen(ex, id);
    }
    if open_boundaries(ex, id)? {
        start_work(ex, id)?;
    }
    Ok(())
}

/// Acts on a token that has just arrived at its node.
fn arrive(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let node = ex.node_of(id)?;
    match &node.kind {
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Timer(_),
        } => timer::arrive_at_catch(ex, id),
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Message { .. },
        } => message::arrive_at_catch(ex, id),
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Signal { .. },
        } => signal::arrive_at_catch(ex, id),
        NodeKind::StartEvent { .. }
        | NodeKind::Boundary { .. }
        | NodeKind::IntermediateCatch { .. }
        | NodeKind::IntermediateThrow {
            result: EventResult::None,
        } => flow::leave(ex, id),
        NodeKind::IntermediateThrow {
            result: EventResult::Link {
                target: Some(to), ..
            },
        } => {
            let to = *to;
            ex.emit(Event::LinkJumped { token: id, to })?;
            ex.queue.push_back(Step::Arrive(id));
            Ok(())
        }
        NodeKind::EndEvent {
            result: EventResult::Terminate,
        } => cancel::terminate(ex, id),
        NodeKind::IntermediateThrow {
            result: EventResult::Message { .. },
        }
        | NodeKind::EndEvent {
            result: EventResult::Message { .. },
        } => message_throw::arrive(ex, id),
        NodeKind::IntermediateThrow {
            result: EventResult::Signal { .. },
        }
        | NodeKind::EndEvent {
            result: EventResult::Signal { .. },
        } => signal_throw::arrive(ex, id),
        NodeKind::IntermediateThrow {
            result: EventResult::Escalation { .. },
        }
        | NodeKind::EndEvent {
            result: EventResult::Escalation { .. },
        } => escalation::arrive(ex, id),
        NodeKind::EndEvent {
            result: EventResult::Error { code },
        } => {
            let code = code.clone();
            throw::throw(ex, id, code, None)
        }
        NodeKind::IntermediateThrow {
            result: EventResult::Compensation { .. },
        }
        | NodeKind::EndEvent {
            result: EventResult::Compensation { .. },
        } => compensation::arrive(ex, id),
        NodeKind::EndEvent {
            result: EventResult::Cancel,
        } => compensation::cancel_transaction(ex, id),
        NodeKind::EndEvent { .. } => flow::end_token(ex, id),
        NodeKind::Task { .. } | NodeKind::SubProcess { .. } | NodeKind::CallActivity { .. } => {
            enter_activity(ex, id)
        }
        NodeKind::Gateway { .. } => gateway::arrive(ex, id),
        NodeKind::IntermediateThrow { .. } => Err(DecideError::unexpected(
            node,
            "a supported intermediate throw event (the plan should have rejected it)",
        )),
    }
}

/// Opens the timer, message and signal boundary events of the activity token
/// `id` has started. False when a signal the instance kept interrupted the
/// activity at once (the token is gone; nothing more to start) or a timer
/// or correlation key failed (an incident holds the token).
fn open_boundaries(ex: &mut Exec<'_>, id: TokenId) -> Result<bool, DecideError> {
    if !timer::open_boundaries(ex, id)? {
        return Ok(false);
    }
    message::open_boundaries(ex, id)?;
    if ex.in_incident(id) {
        return Ok(false);
    }
    signal::open_boundaries(ex, id)?;
    Ok(!ex.st.is_finished() && ex.st.token(id).is_some())
}

/// A token arrived at an activity: its loop body, else the activity itself.
fn enter_activity(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if !t.inner && node.looping.is_some() {
        // Boundary events belong to the whole looping activity (its body).
        if !open_boundaries(ex, id)? {
            return Ok(());
        }
        return loops::start_body(ex, id);
    }
    let name = vars::resolve_name(ex, node, t.scope);
    ex.emit(Event::ActivityStarted {
        token: id,
        node: t.node,
        name: name.clone(),
    })?;
    if !t.inner && !open_boundaries(ex, id)? {
        return Ok(());
    }
    match &node.kind {
        NodeKind::Task { .. } => task::start(ex, id, name),
        NodeKind::SubProcess { scope, .. } => subprocess::enter(ex, id, *scope),
        NodeKind::CallActivity {
            called_element,
            binding,
        } => call::start(ex, id, called_element, *binding),
        _ => Err(DecideError::unexpected(node, "an activity")),
    }
}

/// A token of scope instance `scope` ended: when none is left but the
/// listeners of its event sub-processes (closed now), the scope completes —
/// the process, a sub-process run or a loop element. A scope that is
/// already closed (several tokens ended in one step) is done.
fn scope_emptied(ex: &mut Exec<'_>, scope: ScopeId) -> Result<(), DecideError> {
    if !event_sub::only_listeners_left(ex, scope)? {
        return Ok(());
    }
    let Some(s) = ex.st.scope(scope) else {
        return Ok(());
    };
    match (s.kind, s.owner) {
        (ScopeKind::Process, _) => flow::complete_process(ex),
        (ScopeKind::SubProcess(_) | ScopeKind::EventSubProcess(_), Some(owner)) => {
            subprocess::complete(ex, scope, owner)
        }
        (ScopeKind::Element(index), Some(owner)) => loops::element_done(ex, owner, scope, index),
        (ScopeKind::Compensation, Some(_)) => compensation::emptied(ex, scope),
        _ => Err(InternalError::ScopeWithoutOwner(scope).into()),
    }
}

#[cfg(test)]
mod tests;
