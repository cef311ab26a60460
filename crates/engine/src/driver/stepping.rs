//! The stepping driver: one instance and the children of its call
//! activities, held in memory, settled after every operation from outside.
//!
//! *Settling* applies queued commands until every instance of the tree has
//! none left and no timer is due at the driver's clock. The tree is settled
//! depth first, as [`super::run`] always did: a child started by a call
//! activity settles before its parent goes on, and a child's end comes back
//! to its parent as `ChildCompleted` / `ChildFailed` at the back of the
//! parent's queue. A child its parent cancels (`CancelChild`) is sent
//! `Command::Terminate` and sends no notice, as the runtime does.
//!
//! Time: the driver keeps one clock for the whole tree. It moves only
//! forward: by [`Driver::advance`] / [`Driver::advance_to`], to a due
//! timer's due time, and to a job's `not_before` (retry backoff): the clock
//! jumps there at once when the retry is asked for, so retries run without
//! waiting. A timer that falls due by such a jump fires when the tree has
//! nothing else queued, at the jumped (later) time.
//!
//! Messages: [`Driver::publish`] hands a message to the first open message
//! subscription of the tree that matches it, or buffers it; settling also
//! delivers buffered messages once a matching subscription opens (rules in
//! `mailbox.rs`).
//!
//! Dedup keys: the tree's claims are granted, kept waiting or superseded by
//! the driver's own owner (`dedup_book.rs`), with the runtime's rules.

use super::dedup_book::{DedupBook, instance_name};
use super::mailbox::{Mailbox, Message, Published};
use super::{DriverError, JobOutcome, MAX_DEPTH, MAX_STEPS, Resolver, Responder, RunReport};
use super::{RunStatus, StepRecord};
use crate::command::Command;
use crate::decide::{Ctx, Decision, step};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::{SubId, TokenId};
use crate::plan::Plan;
use crate::state::{InstanceState, Status};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use windlass_model::NodeKind;
use windlass_types::{Timestamp, Vars};

/// The reason a child instance is terminated with when its parent cancels
/// the call activity waiting for it.
pub const CANCELLED_BY_PARENT: &str = "cancelled by its parent";

/// One instance of the tree.
#[derive(Debug)]
struct Inst {
    plan: Arc<Plan>,
    state: InstanceState,
    history: Vec<Event>,
    steps: Vec<StepRecord>,
    /// Resolved names of started activities, by token.
    names: BTreeMap<TokenId, Option<String>>,
    queue: VecDeque<Command>,
    /// The parent instance and its token waiting at the call activity.
    parent: Option<(usize, TokenId)>,
    /// The root of its tree: itself for an instance started from outside,
    /// its parent's root for a child.
    root: usize,
    /// How a newer claim names this instance when it supersedes a waiting
    /// one (`roots.rs`); `None`: `instance #i of the tree`.
    label: Option<String>,
    /// The parent was told of this instance's end, or must not be (the
    /// parent cancelled it).
    quiet: bool,
    depth: usize,
}

impl Inst {
    fn finished(&self) -> bool {
        self.state.is_finished()
    }
}

/// A due timer of the tree: ordered by due time, then instance (in the
/// order they were started, the root first), then subscription id.
type DueTimer = (Timestamp, usize, SubId);

/// The command that delivers `m` to subscription `sub`.
fn correlate(sub: SubId, m: Message) -> Command {
    Command::CorrelateMessage {
        sub,
        message_id: m.message_id,
        vars: m.vars,
    }
}

/// An instance tree driven in memory: started and settled by
/// [`Driver::start`], then moved on by operations from outside (the clock,
/// terminate, any command), settling after each. Status, executed counts and
/// variables can be read at any point.
pub struct Driver<'a> {
    now: Timestamp,
    insts: Vec<Inst>,
    /// Completed tasks by root (`roots.rs`): each root's tree counts its own.
    executed: BTreeMap<usize, BTreeMap<String, u32>>,
    mailbox: Mailbox,
    dedup: DedupBook,
    /// Processes a message or broadcast signal may start (`triggers.rs`).
    starters: Vec<Arc<windlass_model::ProcessGraph>>,
    resolve: &'a mut Resolver<'a>,
    respond: &'a mut Responder<'a>,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("now", &self.now)
            .field("instances", &self.insts.len())
            .field("executed", &self.executed)
            .finish_non_exhaustive()
    }
}

impl<'a> Driver<'a> {
    /// Starts an instance of `plan` with `vars` at `now` and settles it
    /// (children of call activities resolved with `resolve`, jobs answered by
    /// `respond`).
    pub fn start(
        plan: &Arc<Plan>,
        vars: Vars,
        now: Timestamp,
        resolve: &'a mut Resolver<'a>,
        respond: &'a mut Responder<'a>,
    ) -> Result<Self, DriverError> {
        let mut d = Driver {
            now,
            insts: Vec::new(),
            executed: BTreeMap::new(),
            mailbox: Mailbox::default(),
            dedup: DedupBook::default(),
            starters: Vec::new(),
            resolve,
            respond,
        };
        d.spawn(Arc::clone(plan), vars, None, 0, None);
        d.drain(0)?;
        d.settle()?;
        Ok(d)
    }

    /// The driver's clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Moves the clock `ms` milliseconds on, firing every timer that falls
    /// due (see [`Driver::advance_to`]).
    pub fn advance(&mut self, ms: u64) -> Result<(), DriverError> {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        self.advance_to(self.now.plus_millis(ms))
    }

    /// Moves the clock to `t` (never back: an earlier `t` changes nothing).
    /// Every timer of the tree due at or before `t` fires in due order (ties:
    /// instance order, then subscription id), the clock standing at its due
    /// time, and the tree settles after each fire; a timer opened by a fire
    /// fires in the same call when it is due by `t`.
    pub fn advance_to(&mut self, t: Timestamp) -> Result<(), DriverError> {
        while let Some((due, inst, sub)) = self.next_due(t) {
            self.now = self.now.max(due);
            self.insts[inst].queue.push_back(Command::FireTimer { sub });
            self.settle()?;
        }
        self.now = self.now.max(t);
        // Buffered messages whose time-to-live has passed by now expire.
        self.settle()
    }

    /// Terminates the root instance (`Command::Terminate`): every token is
    /// cancelled, children included, and the instance ends terminated.
    pub fn terminate(&mut self, reason: &str) -> Result<(), DriverError> {
        self.send(Command::Terminate {
            reason: reason.to_string(),
        })
    }

    /// Cancels the root instance (`Command::Cancel`): handlers catching
    /// [`crate::CANCEL_CODE`] run as cleanup, every other token is cancelled
    /// (children terminated); the instance ends cancelled once no token is
    /// left.
    pub fn cancel(&mut self, reason: &str) -> Result<(), DriverError> {
        self.send(Command::Cancel {
            reason: reason.to_string(),
        })
    }

    /// Suspends the root instance (`Command::Suspend`): jobs and child
    /// instances it asks for are held and its timers do not fire (they stay
    /// due) until [`Driver::resume`]. Its children are not suspended.
    pub fn suspend(&mut self, reason: &str) -> Result<(), DriverError> {
        self.send(Command::Suspend {
            reason: reason.to_string(),
        })
    }

    /// Resumes the root instance (`Command::Resume`): the held jobs and
    /// children are asked for, and timers that fell due meanwhile fire.
    pub fn resume(&mut self) -> Result<(), DriverError> {
        self.send(Command::Resume)
    }

    /// Applies `command` to the root instance and settles. A command the
    /// engine refuses (say, to a finished instance) is an error and changes
    /// nothing.
    pub fn send(&mut self, command: Command) -> Result<(), DriverError> {
        self.send_to(Root::FIRST, command)
    }

    /// Publishes `message` at the driver's clock: the first open message
    /// subscription of the tree that matches it (name and correlation key;
    /// instance order, then subscription id) takes it and the tree settles;
    /// otherwise it starts an instance at the message start event with its
    /// name of each known process (`triggers.rs`); otherwise it is buffered
    /// for a subscription that opens later (see `mailbox.rs` for
    /// time-to-live and message ids).
    pub fn publish(&mut self, message: Message) -> Result<Published, DriverError> {
        self.publish_starting(message, None).map(|(p, _)| p)
    }

    /// [`Driver::publish`], naming the instances it starts `label` (see
    /// `triggers.rs`); returns them too.
    pub fn publish_starting(
        &mut self,
        message: Message,
        label: Option<&str>,
    ) -> Result<(Published, Vec<Root>), DriverError> {
        if self.mailbox.is_duplicate(&message) {
            return Ok((Published::Duplicate, Vec::new()));
        }
        let Some((inst, sub)) = self.subscriber(&message) else {
            let started =
                self.start_triggered(Trigger::Message, &message.name, &message.vars, label)?;
            if !started.is_empty() {
                return Ok((Published::Started(started.len()), started));
            }
            let kept = self.mailbox.keep(message, self.now);
            return Ok((
                if kept {
                    Published::Buffered
                } else {
                    Published::Dropped
                },
                Vec::new(),
            ));
        };
        self.insts[inst].queue.push_back(correlate(sub, message));
        self.settle()?;
        Ok((Published::Correlated, Vec::new()))
    }

    /// Sends signal `name` to the root instance (`Command::Signal`): the
    /// oldest subscription for it takes it, or the instance keeps it until
    /// one opens.
    pub fn signal(&mut self, name: &str, vars: Vars) -> Result<(), DriverError> {
        self.send(Command::Signal {
            name: name.to_string(),
            vars,
        })
    }

    /// Broadcasts signal `name` to the whole tree (`Command::BroadcastSignal`
    /// to every unfinished instance, in start order): every subscription
    /// for it waiting now takes it; nothing is kept. Then it starts an
    /// instance at the signal start event with its name of each known
    /// process (`triggers.rs`).
    pub fn broadcast(&mut self, name: &str, vars: Vars) -> Result<(), DriverError> {
        self.broadcast_starting(name, vars, None).map(|_| ())
    }

    /// [`Driver::broadcast`], naming the instances it starts `label` (see
    /// `triggers.rs`); returns them.
    pub fn broadcast_starting(
        &mut self,
        name: &str,
        vars: Vars,
        label: Option<&str>,
    ) -> Result<Vec<Root>, DriverError> {
        for inst in self.insts.iter_mut().filter(|i| !i.finished()) {
            inst.queue.push_back(Command::BroadcastSignal {
                name: name.to_string(),
                vars: vars.clone(),
            });
        }
        self.settle()?;
        self.start_triggered(Trigger::Signal, name, &vars, label)
    }

    /// The buffered messages (published, nothing took them yet), oldest
    /// first.
    pub fn buffered(&self) -> impl Iterator<Item = &Message> {
        self.mailbox.buffered()
    }

    /// The first open message subscription of the tree `m` matches.
    fn subscriber(&self, m: &Message) -> Option<(usize, SubId)> {
        self.insts
            .iter()
            .enumerate()
            .filter(|(_, inst)| !inst.finished())
            .find_map(|(i, inst)| {
                inst.state
                    .message_subscriptions()
                    .find(|(_, name, key)| m.matches(name, *key))
                    .map(|(sub, _, _)| (i, sub))
            })
    }

    /// The open timers of the tree, in firing order: (due time, instance
    /// index in start order with the root 0, subscription).
    pub fn timers(&self) -> Vec<(Timestamp, usize, SubId)> {
        let mut all: Vec<DueTimer> = self
            .insts
            .iter()
            .enumerate()
            .filter(|(_, inst)| !inst.finished() && !inst.state.is_suspended())
            .flat_map(|(i, inst)| inst.state.timers().map(move |(sub, due)| (due, i, sub)))
            .collect();
        all.sort();
        all
    }

    /// The root instance's status now.
    pub fn status(&self) -> RunStatus {
        self.status_of(Root::FIRST)
    }

    /// Completed task-type activities by resolved, normalised name, child
    /// instances included.
    pub fn executed(&self) -> &BTreeMap<String, u32> {
        self.executed_of(Root::FIRST)
    }

    /// The root instance's process variables now.
    pub fn variables(&self) -> Vars {
        self.variables_of(Root::FIRST)
    }

    /// The root instance's state.
    pub fn state(&self) -> &InstanceState {
        self.state_of(Root::FIRST)
    }

    /// The root instance's history so far.
    pub fn history(&self) -> &[Event] {
        &self.insts[0].history
    }

    /// A report of the root instance as it is now.
    pub fn report(&self) -> RunReport {
        let root = &self.insts[0];
        RunReport {
            status: self.status(),
            executed: self.executed().clone(),
            variables: self.variables(),
            history: root.history.clone(),
            state: root.state.clone(),
            steps: root.steps.clone(),
        }
    }

    /// The report of the root instance, consuming the driver.
    pub fn into_report(mut self) -> RunReport {
        let status = self.status();
        let variables = self.variables();
        let executed = self.executed.remove(&0).unwrap_or_default();
        let root = self.insts.swap_remove(0);
        RunReport {
            status,
            executed,
            variables,
            history: root.history,
            state: root.state,
            steps: root.steps,
        }
    }

    fn spawn(
        &mut self,
        plan: Arc<Plan>,
        vars: Vars,
        parent: Option<(usize, TokenId)>,
        depth: usize,
        label: Option<String>,
    ) -> usize {
        let has_parent = parent.is_some();
        let index = self.insts.len();
        let root = parent.map_or(index, |(p, _)| self.insts[p].root);
        self.insts.push(Inst {
            plan,
            state: InstanceState::default(),
            history: Vec::new(),
            steps: Vec::new(),
            names: BTreeMap::new(),
            queue: VecDeque::from([Command::Start {
                vars,
                business_key: None,
                start_event: None,
                has_parent,
            }]),
            parent,
            root,
            label,
            quiet: false,
            depth,
        });
        index
    }

    /// The first timer due at or before `limit`, if any.
    fn next_due(&self, limit: Timestamp) -> Option<DueTimer> {
        self.timers()
            .into_iter()
            .next()
            .filter(|(due, _, _)| *due <= limit)
    }

    /// Drains every queue, then fires the timers due at the clock, then
    /// delivers buffered messages a subscription now waits for, until
    /// nothing is left.
    fn settle(&mut self) -> Result<(), DriverError> {
        loop {
            if let Some(i) = self.insts.iter().position(|inst| !inst.queue.is_empty()) {
                self.drain(i)?;
                continue;
            }
            if let Some((_, inst, sub)) = self.next_due(self.now) {
                self.insts[inst].queue.push_back(Command::FireTimer { sub });
                continue;
            }
            self.mailbox.expire(self.now);
            let waiting = self
                .mailbox
                .buffered()
                .enumerate()
                .find_map(|(i, m)| self.subscriber(m).map(|to| (i, to)));
            let Some((i, (inst, sub))) = waiting else {
                return Ok(());
            };
            if let Some(m) = self.mailbox.take(i) {
                self.insts[inst].queue.push_back(correlate(sub, m));
            }
        }
    }

    /// Applies instance `i`'s queued commands until its queue is empty, then
    /// tells its parent when it has ended.
    fn drain(&mut self, i: usize) -> Result<(), DriverError> {
        while let Some(cmd) = self.insts[i].queue.pop_front() {
            self.apply(i, cmd)?;
        }
        self.notify_parent(i);
        Ok(())
    }

    /// Queues the end of instance `i` for its parent, once.
    fn notify_parent(&mut self, i: usize) {
        let inst = &self.insts[i];
        if inst.quiet || !inst.finished() {
            return;
        }
        let Some((parent, token)) = inst.parent else {
            return;
        };
        let notice = match &inst.state.status {
            Status::Completed => Command::ChildCompleted {
                token,
                outputs: inst.state.root_vars().cloned().unwrap_or_default(),
            },
            Status::Failed { code, reason } => Command::ChildFailed {
                token,
                code: code.clone(),
                message: reason.clone(),
            },
            Status::Terminated { reason } => Command::ChildFailed {
                token,
                code: None,
                message: format!("terminated: {reason}"),
            },
            Status::Cancelled { reason } => Command::ChildFailed {
                token,
                code: Some(crate::CANCEL_CODE.to_string()),
                message: format!("cancelled: {reason}"),
            },
            Status::Superseded { key, by } => Command::ChildFailed {
                token,
                code: None,
                message: format!("superseded by '{by}' (dedup key '{key}')"),
            },
            Status::New | Status::Running => return,
        };
        self.insts[i].quiet = true;
        self.insts[parent].queue.push_back(notice);
    }

    /// Decides one command for instance `i` and carries out its effects.
    fn apply(&mut self, i: usize, cmd: Command) -> Result<(), DriverError> {
        let inst = &mut self.insts[i];
        if inst.steps.len() >= MAX_STEPS {
            return Err(DriverError::TooManySteps(MAX_STEPS));
        }
        if inst.finished() && matches!(cmd, Command::BroadcastSignal { .. }) {
            // A thrown signal queued before the instance ended: a broadcast
            // reaches only the instances still running.
            return Ok(());
        }
        let plan = Arc::clone(&inst.plan);
        let graph = plan.graph();
        let mut decision = Decision::default();
        let ctx = Ctx {
            plan: &plan,
            now: self.now,
            definition_key: &graph.id,
        };
        match step(&mut inst.state, &cmd, &ctx, &mut decision) {
            Err(crate::DecideError::NoDedupClaim(key)) => {
                // A second grant for a second claim that the first grant
                // closed: the instance holds the key and keeps it.
                if matches!(&cmd, Command::GrantDedup { .. })
                    && !inst.finished()
                    && inst.state.dedup_held.contains(&key)
                {
                    return Ok(());
                }
                // The claim closed meanwhile (its token was interrupted): the
                // key goes to the next claim, as the runtime's owner does.
                let process = graph.id.clone();
                for (to, cmd) in self.dedup.release(&process, &key, i) {
                    self.insts[to].queue.push_back(cmd);
                }
                return Ok(());
            }
            r => r?,
        }
        inst.steps.push(StepRecord {
            command: cmd,
            now: self.now,
            first_event: inst.history.len(),
            event_count: decision.events.len(),
            effects: decision.effects.clone(),
        });
        for e in &decision.events {
            match e {
                Event::ActivityStarted { token, name, .. } => {
                    inst.names.insert(*token, name.clone());
                }
                Event::ActivityCompleted { token, node } => {
                    if matches!(graph.node(*node).kind, NodeKind::Task { .. })
                        && let Some(Some(name)) = inst.names.get(token)
                    {
                        *self
                            .executed
                            .entry(inst.root)
                            .or_default()
                            .entry(name.clone())
                            .or_insert(0) += 1;
                    }
                }
                _ => {}
            }
        }
        let claims: Vec<String> = decision
            .events
            .iter()
            .filter_map(|e| match e {
                Event::DedupClaimed { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect();
        inst.history.append(&mut decision.events);
        for key in claims {
            let by = self.insts[i]
                .label
                .clone()
                .unwrap_or_else(|| instance_name(i));
            for (to, cmd) in self.dedup.claim(&graph.id, &key, i, &by) {
                self.insts[to].queue.push_back(cmd);
            }
        }
        for effect in decision.effects.drain(..) {
            self.carry_out(i, &plan, effect)?;
        }
        Ok(())
    }

    /// Instance `i` ended: it releases every dedup key it claimed.
    fn release_dedup(&mut self, i: usize) {
        let process = self.insts[i].plan.graph().id.clone();
        let keys = self.insts[i].state.dedup_claimed.clone();
        for key in keys {
            for (to, cmd) in self.dedup.release(&process, &key, i) {
                self.insts[to].queue.push_back(cmd);
            }
        }
    }

    fn carry_out(&mut self, i: usize, plan: &Arc<Plan>, effect: Effect) -> Result<(), DriverError> {
        match effect {
            Effect::RunJob(req) => {
                if let Some(t) = req.not_before {
                    self.now = self.now.max(t);
                }
                let node = plan.graph().node(req.key.node);
                let answer = match (self.respond)(&req, node) {
                    JobOutcome::Complete { outputs, by } => Command::CompleteJob {
                        job: req.key,
                        outputs,
                        by,
                    },
                    JobOutcome::Fail(failure) => Command::FailJob {
                        job: req.key,
                        failure,
                    },
                    JobOutcome::Leave => return Ok(()),
                };
                self.insts[i].queue.push_back(answer);
            }
            // The driver runs one set of files, each process once: the
            // resolver picks by id (the binding has no other version to
            // choose).
            Effect::StartChild {
                token,
                process_id,
                vars,
                ..
            } => {
                let depth = self.insts[i].depth + 1;
                if depth > MAX_DEPTH {
                    return Err(DriverError::TooDeep(MAX_DEPTH));
                }
                match (self.resolve)(&process_id) {
                    Ok(child_plan) => {
                        let child = self.spawn(child_plan, vars, Some((i, token)), depth, None);
                        self.drain(child)?;
                    }
                    // As in a runtime: an incident on the call activity
                    // naming the process (retry once it is deployed).
                    Err(e) => self.insts[i].queue.push_back(Command::ChildNotStarted {
                        token,
                        message: format!("called process '{process_id}' cannot start: {e}"),
                    }),
                }
            }
            Effect::CancelJob(key) => {
                // An answer already queued for a cancelled job is dropped,
                // as a runtime drops a late answer.
                self.insts[i].queue.retain(|c| {
                    !matches!(c, Command::CompleteJob { job, .. } | Command::FailJob { job, .. } if *job == key)
                });
            }
            Effect::CancelChild { token } => {
                self.insts[i].queue.retain(|c| {
                    !matches!(c, Command::ChildCompleted { token: t, .. } | Command::ChildFailed { token: t, .. } | Command::ChildEscalated { token: t, .. } if *t == token)
                });
                let child = self
                    .insts
                    .iter()
                    .rposition(|c| c.parent == Some((i, token)) && !c.finished());
                if let Some(child) = child {
                    self.insts[child].quiet = true;
                    self.insts[child].queue.push_back(Command::Terminate {
                        reason: CANCELLED_BY_PARENT.to_string(),
                    });
                    self.drain(child)?;
                }
            }
            Effect::InstanceFinished(_) => self.release_dedup(i),
            Effect::EscalateToParent { number, code } => {
                // The parent takes it after the child's command, as a
                // runtime delivers it after the commit.
                if let Some((parent, token)) = self.insts[i].parent {
                    self.insts[parent].queue.push_back(Command::ChildEscalated {
                        token,
                        number,
                        code,
                    });
                }
            }
            Effect::IncidentRaised { .. } => {}
            Effect::PublishMessage {
                name,
                correlation_key,
                vars,
                ttl_millis,
                ..
            } => {
                // Published once the tree's queues are drained, as a
                // runtime publishes after the commit: `settle` offers it to
                // the subscriptions open then, else it stays buffered for
                // its time-to-live, like a runtime's thrown message. No
                // message id: nothing here publishes twice.
                let message = Message {
                    name,
                    correlation_key,
                    message_id: None,
                    vars,
                    ttl_millis,
                };
                self.mailbox.keep(message, self.now);
            }
            Effect::BroadcastSignal { name, vars, .. } => {
                // Every instance of the tree (the thrower included) takes
                // it after the thrower's command, as a runtime broadcasts
                // after the commit. Signal start events start nothing
                // here: the driver runs one instance tree.
                for inst in self.insts.iter_mut().filter(|i| !i.finished()) {
                    inst.queue.push_back(Command::BroadcastSignal {
                        name: name.clone(),
                        vars: vars.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The driver's status of an instance: from its state, with the messages of
/// its open incidents when it waits.
fn status_from(state: &InstanceState, history: &[Event]) -> RunStatus {
    match &state.status {
        Status::Completed => RunStatus::Completed,
        Status::Failed { reason, .. } => RunStatus::Failed {
            reason: reason.clone(),
        },
        Status::Terminated { reason } => RunStatus::Terminated {
            reason: reason.clone(),
        },
        Status::Cancelled { reason } => RunStatus::Cancelled {
            reason: reason.clone(),
        },
        Status::Superseded { key, by } => RunStatus::Superseded {
            key: key.clone(),
            by: by.clone(),
        },
        Status::New | Status::Running => RunStatus::Waiting {
            incidents: history
                .iter()
                .filter_map(|e| match e.incident_raised() {
                    Some((incident, _, message))
                        if state.incidents().any(|(i, _)| i == incident) =>
                    {
                        Some(message.to_string())
                    }
                    _ => None,
                })
                .collect(),
        },
    }
}

mod roots;
mod triggers;
pub use roots::Root;
use triggers::Trigger;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
