//! One group commit: decide every queued input against the owned states,
//! collect the events and outbox rows of all of them into ONE batch, commit
//! it, then carry out the effects (or, if the commit failed, reload the
//! affected instances from the store so memory never silently diverges).

use super::isolation::Replay;
use super::msg::{Input, ShardMsg, StartMsg};
use super::redrive;
use super::{Shard, Slot};
use crate::error::{RuntimeError, RuntimeResult};
use crate::job::JobOutcome;
use crate::outbox::{
    CancelChild, ChildDone, ChildEscalation, OutboxEntry, StartChild, ThrownMessage, ThrownSignal,
    child_ref, job_key, job_row, parent_token,
};
use tokio::sync::oneshot;
use tracing::Instrument;
use windlass_engine::codec::encode_event;
use windlass_engine::ids::TokenId;
use windlass_engine::state::Held;
use windlass_engine::tally::NodeTally;
use windlass_engine::{Command, Ctx, DecideError, Effect, Finish, JobKey, step};
use windlass_store_api::{Batch, InstanceRef, InstanceUpdate, OutboxChange, OutboxRow, Store};
use windlass_types::Timestamp;

/// Who to answer after the commit.
pub(super) enum Reply {
    None,
    Start(oneshot::Sender<RuntimeResult<InstanceRef>>),
    Cmd(oneshot::Sender<RuntimeResult<()>>),
    /// A message delivery: the correlator's number.
    Delivery(u64),
    /// A broadcast: how many instances of this shard took it.
    Broadcast(oneshot::Sender<RuntimeResult<usize>>, usize),
}

/// One decided input, carried out after the commit.
pub(super) struct Done {
    pub instance: InstanceRef,
    pub effects: Vec<Effect>,
    pub reply: Reply,
    /// Its jobs were interrupted by a stop or crash (recovered outbox rows):
    /// with no handler bound they stay pending instead of becoming incidents.
    pub recovered: bool,
    /// The input again, when the group's commit fails because of another
    /// instance and this one can simply be decided once more
    /// (`isolation.rs`); `None`: the failure path re-drives it instead.
    pub replay: Option<Replay>,
}

/// The group being built.
pub(super) struct Group {
    pub now: Timestamp,
    pub batch: Batch,
    pub done: Vec<Done>,
    /// Instances whose in-memory state must be rebuilt from the store.
    pub broken: Vec<InstanceRef>,
    /// Keys of the outbox rows this group consumes (delivered child starts,
    /// notices, terminations, recovered rows): re-driven if it fails.
    pub consumed: Vec<String>,
    /// Broadcasts answered once the group is committed (with how many
    /// instances took them), or told its commit failed.
    pub acks: Vec<(oneshot::Sender<RuntimeResult<usize>>, usize)>,
}

impl<S: Store> Shard<S> {
    /// Takes up to `cap` inputs, commits them as one batch, carries out
    /// the effects.
    pub(super) async fn group(&mut self, cap: usize) {
        let n = self.queue.len().min(cap);
        let mut g = Group {
            now: self.shared.clock.now(),
            batch: self.sized_batch(n),
            done: Vec::with_capacity(n),
            broken: Vec::new(),
            consumed: Vec::new(),
            acks: Vec::new(),
        };
        for _ in 0..n {
            let Some(input) = self.queue.pop_front() else {
                break;
            };
            self.take(input, &mut g).await;
        }
        self.timers.write_rows(&mut g);
        let Group {
            now,
            batch,
            done,
            broken,
            consumed,
            acks,
        } = g;
        if batch.is_empty() {
            self.timers.committed(&self.slots, &self.shared.timers);
            self.message_notes.committed(&self.slots, &self.shared);
            self.dedup_notes.committed(&self.slots, &self.shared);
            self.after_commit(done, now).await;
            for (tx, n) in acks {
                let _ = tx.send(Ok(n));
            }
        } else {
            match self.shared.commit(batch).await {
                Ok(()) => {
                    self.replay_rounds = 0;
                    // What a real commit wrote no longer counts failures
                    // (an empty batch proves nothing).
                    if !self.strikes.is_empty() {
                        for key in &consumed {
                            self.cleared(key);
                        }
                        for d in &done {
                            self.cleared(&redrive::instance_key(&d.instance));
                        }
                    }
                    self.timers.committed(&self.slots, &self.shared.timers);
                    self.message_notes.committed(&self.slots, &self.shared);
                    self.dedup_notes.committed(&self.slots, &self.shared);
                    self.after_commit(done, now).await;
                    for (tx, n) in acks {
                        let _ = tx.send(Ok(n));
                    }
                }
                Err(e) => {
                    self.timers.commit_failed();
                    self.message_notes.commit_failed();
                    self.dedup_notes.commit_failed();
                    for (tx, _) in acks {
                        let _ = tx.send(Err(RuntimeError::Store(e.clone())));
                    }
                    self.commit_failed(done, e, consumed).await
                }
            }
        }
        for instance in broken {
            self.reload(&instance).await;
        }
    }

    /// An empty batch with room for what the next `n` inputs usually write
    /// (a start creates a run and inserts an outbox row; anything else
    /// appends and inserts or completes one), so the group does not grow
    /// its vectors input by input.
    fn sized_batch(&self, n: usize) -> Batch {
        let starts = self
            .queue
            .iter()
            .take(n)
            .filter(|i| matches!(i, Input::Msg(ShardMsg::Start(_))))
            .count();
        let mut batch = Batch::new();
        batch.creates.reserve(starts);
        batch.appends.reserve(n.saturating_sub(starts));
        batch.outbox.reserve(n);
        batch
    }

    /// Decides one input inside its instance's log span (`spans.rs`).
    async fn take(&mut self, input: Input, g: &mut Group) {
        let span = self.input_span(&input);
        self.take_one(input, g).instrument(span).await
    }

    async fn take_one(&mut self, input: Input, g: &mut Group) {
        let Some(input) = self.unless_released(input) else {
            return;
        };
        match &input {
            Input::Msg(ShardMsg::Command {
                outbox_done: Some(key),
                ..
            }) => g.consumed.push(key.clone()),
            Input::Msg(ShardMsg::Start(s)) => {
                if let Some(key) = &s.outbox_done {
                    g.consumed.push(key.clone());
                }
            }
            Input::Msg(ShardMsg::Dispatch(row)) => g.consumed.push(row.key.clone()),
            _ => {}
        }
        match input {
            Input::Msg(ShardMsg::Start(s)) => self.take_start_msg(*s, g).await,
            Input::Msg(ShardMsg::SignalWithStart {
                start,
                signal,
                reply,
            }) => self.take_signal_with_start(*start, signal, reply, g).await,
            Input::Msg(ShardMsg::Reset(m)) => self.take_reset(*m, g).await,
            Input::Msg(ShardMsg::Command {
                instance,
                cmd,
                reply,
                outbox_done,
                counted,
            }) => {
                if counted && let Some(slot) = self.slots.get_mut(&instance) {
                    slot.inflight = slot.inflight.saturating_sub(1);
                }
                // A command consuming an outbox row is re-driven from its row.
                let replayable = outbox_done.is_none();
                let result = self.take_command(&instance, &cmd, outbox_done, g);
                match (result, reply) {
                    (Ok(effects), reply) => g.done.push(Done {
                        instance,
                        effects,
                        reply: reply.map_or(Reply::None, Reply::Cmd),
                        recovered: false,
                        replay: replayable.then_some(Replay::Command(cmd)),
                    }),
                    (Err(e), Some(reply)) => {
                        let _ = reply.send(Err(e));
                    }
                    (Err(e), None) => tracing::debug!("command dropped: {e}"),
                }
            }
            Input::Msg(ShardMsg::Dispatch(row)) => self.take_dispatch(row, g).await,
            Input::Msg(ShardMsg::Deliver(d)) => self.take_delivery(*d, g),
            Input::Msg(ShardMsg::Dedup {
                instance,
                scope,
                cmd,
            }) => self.take_dedup_order(instance, scope, cmd, g),
            Input::Msg(ShardMsg::Broadcast {
                name,
                vars,
                reply,
                once,
            }) => {
                self.take_broadcast(&name, vars, reply, once, g).await;
            }
            Input::Msg(ShardMsg::Wait {
                instance,
                settled,
                reply,
            }) => self.add_waiter(instance, settled, reply),
            Input::Msg(ShardMsg::Adopt(adopted)) => self.adopt(*adopted),
            Input::Msg(ShardMsg::Release { partitions, reply }) => {
                self.take_release(partitions, reply);
            }
            Input::Outcome {
                instance,
                job,
                outcome,
                spawned,
            } => {
                if spawned && !self.finish_running(&instance, job) {
                    return;
                }
                let Some(slot) = self.slots.get_mut(&instance) else {
                    return;
                };
                slot.inflight = slot.inflight.saturating_sub(1);
                let cmd = match outcome {
                    JobOutcome::Completed { outputs, by } => {
                        Command::CompleteJob { job, outputs, by }
                    }
                    JobOutcome::Failed(failure) => Command::FailJob { job, failure },
                };
                match self.take_unanswered(instance, &cmd, None, g) {
                    // Its answer is decided again rather than the job run
                    // again when another instance fails the commit.
                    Ok(()) => {
                        if let Some(done) = g.done.last_mut() {
                            done.replay = Some(Replay::Command(cmd));
                        }
                    }
                    Err(e) => tracing::debug!(%job, "job outcome dropped: {e}"),
                }
            }
            Input::Redrive(r) => {
                for row in self.redrive_rows(r).await {
                    if self.released_row(&row) {
                        continue;
                    }
                    g.consumed.push(row.key.clone());
                    let span = self.row_span(&row);
                    self.take_dispatch(row, g).instrument(span).await;
                }
            }
            Input::Timer { instance, sub } => self.take_timer(instance, sub, g),
            Input::Expired {
                instance,
                job,
                generation,
            } => self.take_expired(instance, job, generation, g),
            Input::Msg(ShardMsg::Published {
                instance,
                key,
                published,
                markers,
            }) => {
                if let Some(slot) = self.slots.get_mut(&instance) {
                    slot.inflight = slot.inflight.saturating_sub(1);
                }
                if published {
                    g.batch.outbox(OutboxChange::Complete(key));
                    for marker in markers {
                        g.batch.outbox(OutboxChange::Complete(marker));
                    }
                }
            }
            Input::Msg(ShardMsg::Heartbeat {
                instance,
                job,
                reply,
            }) => {
                let _ = reply.send(self.take_heartbeat(&instance, job, g.now));
            }
            Input::Due {
                instance,
                request,
                recovered,
            } => {
                if !self.finish_running(&instance, request.key) {
                    return;
                }
                if let Some(slot) = self.slots.get_mut(&instance) {
                    slot.inflight = slot.inflight.saturating_sub(1);
                    g.done.push(Done {
                        instance,
                        effects: vec![Effect::RunJob(request)],
                        reply: Reply::None,
                        recovered,
                        replay: None,
                    });
                }
            }
        }
    }

    /// Decides `cmd` for `instance` with nobody waiting for the answer
    /// (a job outcome, a timer, a deadline, an outbox row, an owner's
    /// order): its effects are carried out after the group's commit. A
    /// refusal comes back for the caller to log or act on.
    pub(super) fn take_unanswered(
        &mut self,
        instance: InstanceRef,
        cmd: &Command,
        outbox_done: Option<String>,
        g: &mut Group,
    ) -> RuntimeResult<()> {
        let effects = self.take_command(&instance, cmd, outbox_done, g)?;
        g.done.push(Done {
            instance,
            effects,
            reply: Reply::None,
            recovered: false,
            replay: None,
        });
        Ok(())
    }

    /// Decides a command for a live instance and adds its events and outbox
    /// rows to the batch; returns the effects to carry out after the commit.
    pub(super) fn take_command(
        &mut self,
        instance: &InstanceRef,
        cmd: &Command,
        outbox_done: Option<String>,
        g: &mut Group,
    ) -> RuntimeResult<Vec<Effect>> {
        if let Some(key) = outbox_done {
            // A child's notice is consumed whether or not the parent still
            // waits for it, so it is never delivered twice.
            g.batch.outbox(OutboxChange::Complete(key));
        }
        let Some(slot) = self.slots.get_mut(instance) else {
            return Err(RuntimeError::UnknownInstance(instance.clone()));
        };
        self.decision.clear();
        let ctx = Ctx {
            plan: &slot.def.plan,
            now: g.now,
            definition_key: &slot.def.key,
        };
        if let Err(e) = step(&mut slot.state, cmd, &ctx, &mut self.decision) {
            if matches!(e, DecideError::Internal(_)) {
                g.broken.push(instance.clone());
            }
            return Err(RuntimeError::Rejected {
                instance: instance.clone(),
                reason: e,
            });
        }
        if let Command::CompleteJob { job, .. } | Command::FailJob { job, .. } = cmd
            && has_row(&slot.state, job)
        {
            g.batch
                .outbox(OutboxChange::Complete(job_key(instance, job)));
            if !self.external.is_empty() {
                self.drop_external(&(instance.clone(), *job), false);
            }
        }
        let events = match self.encode_events(instance) {
            Ok(ev) => ev,
            Err(e) => {
                g.broken.push(instance.clone());
                return Err(e);
            }
        };
        self.timers.decided(instance, &self.decision.events);
        self.message_notes.decided(instance, &self.decision.events);
        let Some(slot) = self.slots.get_mut(instance) else {
            return Err(RuntimeError::UnknownInstance(instance.clone()));
        };
        self.dedup_notes
            .decided(instance, &slot.def.process_id, &self.decision.events);
        if !events.is_empty() {
            let n = events.len() as u64;
            g.batch.append(
                instance.clone(),
                slot.seq,
                events,
                InstanceUpdate {
                    status: slot.status(),
                    updated_at: g.now,
                    tally: NodeTally::of(&slot.state).encode(),
                },
            );
            slot.seq += n;
        }
        let effects = std::mem::take(&mut self.decision.effects);
        outbox_for_effects(instance, slot, &effects, g);
        Ok(effects)
    }

    pub(super) fn encode_events(&mut self, instance: &InstanceRef) -> RuntimeResult<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(self.decision.events.len());
        for e in &self.decision.events {
            out.push(encode_event(e).map_err(|err| RuntimeError::Corrupt {
                what: format!("instance {instance}"),
                detail: err.to_string(),
            })?);
        }
        Ok(out)
    }

    /// A recovered outbox row: re-dispatch the job, start the child, or
    /// deliver the child's notice; stale rows are completed.
    async fn take_dispatch(&mut self, row: OutboxRow, g: &mut Group) {
        if row.instance.is_none() {
            tracing::warn!("outbox row {} names no instance; completing it", row.key);
            g.batch.outbox(OutboxChange::Complete(row.key));
            return;
        }
        let entry = match OutboxEntry::decode(&row) {
            Ok(entry) => entry,
            Err(e) => return tracing::error!("{e}; left in the outbox"),
        };
        match entry {
            OutboxEntry::Job { instance, request } => {
                let open = self
                    .slots
                    .get(&instance)
                    .is_some_and(|s| s.state.job_is_open(&request.key));
                if open {
                    g.done.push(Done {
                        instance,
                        effects: vec![Effect::RunJob(request)],
                        reply: Reply::None,
                        recovered: true,
                        replay: None,
                    });
                } else {
                    g.batch.outbox(OutboxChange::Complete(row.key));
                }
            }
            OutboxEntry::StartChild { child, start } => {
                self.start_child(start.parent(), child, *start, row.key, g)
                    .await;
            }
            OutboxEntry::ChildDone { parent, done, .. } => {
                // The child counted in the parent's in-flight work until its
                // notice (as a live notice's `counted` command).
                if let Some(slot) = self.slots.get_mut(&parent)
                    && slot.state.children_waiting().any(|t| t.id == done.token)
                {
                    slot.inflight = slot.inflight.saturating_sub(1);
                }
                let cmd = child_command(*done);
                if let Err(e) = self.take_unanswered(parent.clone(), &cmd, Some(row.key), g) {
                    tracing::debug!("outbox row of {parent}: {e}");
                }
            }
            OutboxEntry::Publish { instance, message } => {
                // Completed when the publisher has published it (the row
                // key is not consumed here).
                g.consumed.retain(|k| *k != row.key);
                self.publish(&instance, &message);
            }
            OutboxEntry::Broadcast { instance, signal } => {
                // Completed when the publisher has broadcast it.
                g.consumed.retain(|k| *k != row.key);
                self.broadcast_thrown(&instance, *signal);
            }
            OutboxEntry::ChildEscalated { parent, escalation } => {
                // Consumed whether or not the parent takes it.
                let cmd = escalation.command();
                if let Err(e) = self.take_unanswered(parent.clone(), &cmd, Some(row.key), g) {
                    tracing::debug!("outbox row of {parent}: {e}");
                }
            }
            // Consumed in this group's commit, with the deliveries.
            OutboxEntry::SignalTo { signal, .. } => self.take_signal_part(*signal, row.key, g),
            OutboxEntry::CancelChild { child, cancel } => {
                // Completed whether or not the child still runs (finished,
                // or never started: see `docs/runtime.md`).
                let cmd = Command::Terminate {
                    reason: cancel.reason,
                };
                if let Err(e) = self.take_unanswered(child.clone(), &cmd, Some(row.key), g) {
                    tracing::debug!("outbox row of {child}: {e}");
                }
            }
        }
    }

    /// Starts (on this shard) the child `child` of `parent`, completing the
    /// start-child row in the same commit; a child that cannot start fails
    /// the call activity.
    pub(super) async fn start_child(
        &mut self,
        parent: InstanceRef,
        child: InstanceRef,
        sc: StartChild,
        row_key: String,
        g: &mut Group,
    ) {
        let def = crate::callee::callee(&self.shared, &sc).await;
        match def {
            Ok(def) => self.take_start(
                StartMsg {
                    instance: child,
                    chosen: false,
                    on_conflict: Default::default(),
                    def,
                    vars: sc.vars,
                    business_key: None,
                    parent: Some(parent),
                    reply: None,
                    outbox_done: Some(row_key),
                    start_event: None,
                    messages: Vec::new(),
                    schedules: Vec::new(),
                    outbox: Vec::new(),
                },
                g,
            ),
            Err(e) => {
                let cmd = crate::callee::not_started(&sc, &e);
                // The start-child row is consumed by the parent's failure.
                g.batch.outbox(OutboxChange::Complete(row_key));
                if let Command::ChildNotStarted { token, message } = &cmd
                    && !self.shared.served.serves(parent.id.as_str())
                {
                    // Another node's parent: the failure goes to it as the
                    // child's notice, in this commit (`deliveries.rs`).
                    let entry = OutboxEntry::ChildDone {
                        child,
                        parent,
                        done: Box::new(ChildDone {
                            token: *token,
                            completed: false,
                            outputs: Default::default(),
                            code: None,
                            message: message.clone(),
                            not_started: true,
                        }),
                    };
                    g.batch.outbox(OutboxChange::Insert(entry.to_row(g.now)));
                    return;
                }
                let msg = ShardMsg::Command {
                    instance: parent.clone(),
                    cmd,
                    reply: None,
                    outbox_done: None,
                    counted: true,
                };
                if !self.shared.route(&parent.id, msg) {
                    tracing::warn!(%parent, "parent shard stopped; child failure not delivered");
                }
            }
        }
    }
}

/// The command a child's notice becomes in its parent.
pub(super) fn child_command(cd: ChildDone) -> Command {
    if cd.not_started {
        Command::ChildNotStarted {
            token: cd.token,
            message: cd.message,
        }
    } else if cd.completed {
        Command::ChildCompleted {
            token: cd.token,
            outputs: cd.outputs,
        }
    } else {
        Command::ChildFailed {
            token: cd.token,
            code: cd.code,
            message: cd.message,
        }
    }
}

/// Outbox rows for effects, written in the same batch as their events.
pub(super) fn outbox_for_effects(
    instance: &InstanceRef,
    slot: &Slot,
    effects: &[Effect],
    g: &mut Group,
) {
    for effect in effects {
        let entry = match effect {
            Effect::RunJob(req) => {
                g.batch
                    .outbox(OutboxChange::Insert(job_row(instance, req, g.now)));
                continue;
            }
            Effect::CancelJob(job) => {
                if has_row(&slot.state, job) {
                    g.batch
                        .outbox(OutboxChange::Complete(job_key(instance, job)));
                }
                continue;
            }
            Effect::StartChild {
                token,
                process_id,
                binding,
                vars,
            } => OutboxEntry::StartChild {
                child: child_ref(instance, *token),
                start: Box::new(StartChild {
                    parent_id: instance.id.0.clone(),
                    parent_run: instance.run.0.clone(),
                    parent_definition: slot.def.key.clone(),
                    process_id: process_id.clone(),
                    binding: *binding,
                    token: *token,
                    vars: vars.clone(),
                }),
            },
            Effect::InstanceFinished(finish) => {
                // Only a child (a run with a parent) notifies; parse its id
                // only then.
                let Some(parent) = &slot.parent else {
                    continue;
                };
                let Some(token) = parent_token(&instance.id.0) else {
                    continue;
                };
                // A terminated child does not notify (see `child_done`).
                let Some(done) = child_done(token, finish.clone()) else {
                    continue;
                };
                OutboxEntry::ChildDone {
                    child: instance.clone(),
                    parent: parent.clone(),
                    done: Box::new(done),
                }
            }
            Effect::EscalateToParent { number, code } => {
                let (Some(parent), Some(token)) = (&slot.parent, parent_token(&instance.id.0))
                else {
                    continue;
                };
                OutboxEntry::ChildEscalated {
                    parent: parent.clone(),
                    escalation: Box::new(ChildEscalation {
                        child_id: instance.id.0.clone(),
                        child_run: instance.run.0.clone(),
                        token,
                        number: *number,
                        code: code.clone(),
                    }),
                }
            }
            Effect::CancelChild { token } => OutboxEntry::CancelChild {
                child: child_ref(instance, *token),
                cancel: CancelChild::interrupted_in(instance),
            },
            Effect::IncidentRaised { .. } => continue,
            Effect::PublishMessage {
                number,
                name,
                correlation_key,
                vars,
                ttl_millis,
            } => OutboxEntry::Publish {
                instance: instance.clone(),
                message: Box::new(ThrownMessage {
                    number: *number,
                    name: name.clone(),
                    correlation_key: correlation_key.clone(),
                    vars: vars.clone(),
                    ttl_millis: *ttl_millis,
                }),
            },
            Effect::BroadcastSignal { number, name, vars } => OutboxEntry::Broadcast {
                instance: instance.clone(),
                signal: Box::new(ThrownSignal {
                    number: *number,
                    name: name.clone(),
                    vars: vars.clone(),
                }),
            },
        };
        g.batch.outbox(OutboxChange::Insert(entry.to_row(g.now)));
    }
}

/// Whether job `job` has an outbox row: not when the engine held it (it was
/// decided while the instance was suspended and not asked for since).
fn has_row(state: &windlass_engine::InstanceState, job: &JobKey) -> bool {
    !state
        .held
        .iter()
        .any(|h| matches!(h, Held::Job { key, .. } if key == job))
}

/// A finished child's notice for the call activity `token`; none for a
/// terminated child: the runtime terminates a child when its parent's call
/// activity was interrupted, so nobody waits for the notice (an operator's
/// terminate of a child leaves its parent waiting: cancel it instead).
pub(super) fn child_done(token: TokenId, finish: Finish) -> Option<ChildDone> {
    Some(match finish {
        Finish::Completed(outputs) => ChildDone {
            token,
            completed: true,
            outputs,
            code: None,
            message: String::new(),
            not_started: false,
        },
        Finish::Failed { code, reason } => ChildDone {
            token,
            completed: false,
            outputs: Default::default(),
            code,
            message: reason,
            not_started: false,
        },
        Finish::Terminated { .. } => return None,
        // Cancelled by itself (an operator): the parent's call activity
        // sees the cancel as the error `windlass:cancelled`. A child its
        // parent cancels is terminated instead, and sends nothing.
        Finish::Cancelled { reason } => ChildDone {
            token,
            completed: false,
            outputs: Default::default(),
            code: Some(windlass_engine::CANCEL_CODE.to_string()),
            message: format!("cancelled: {reason}"),
            not_started: false,
        },
        // A superseded child fails its parent's call activity (no error
        // code: nothing catches it by name).
        Finish::Superseded { key, by } => ChildDone {
            token,
            completed: false,
            outputs: Default::default(),
            code: None,
            message: format!("superseded by '{by}' (dedup key '{key}')"),
            not_started: false,
        },
    })
}
