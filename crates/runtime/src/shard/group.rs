//! One group commit: decide every queued input against the owned states,
//! collect the events and outbox rows of all of them into ONE batch, commit
//! it, then carry out the effects (or, if the commit failed, reload the
//! affected instances from the store so memory never silently diverges).

use super::msg::{Input, ShardMsg, StartMsg};
use super::{Shard, Slot};
use crate::error::{RuntimeError, RuntimeResult};
use crate::job::JobOutcome;
use crate::keys::{child_done_key, child_id, job_key, parent_token, start_child_key};
use crate::payload::{self, ChildDone, KIND_CHILD_DONE, KIND_JOB, KIND_START_CHILD};
use tokio::sync::oneshot;
use windlass_engine::codec::encode_event;
use windlass_engine::{Command, Ctx, DecideError, Effect, Finish, step};
use windlass_store_api::{
    Batch, InstanceRef, InstanceRow, InstanceUpdate, OutboxChange, OutboxRow, Store,
};
use windlass_types::Timestamp;

/// Who to answer after the commit.
pub(super) enum Reply {
    None,
    Start(oneshot::Sender<RuntimeResult<InstanceRef>>),
    Cmd(oneshot::Sender<RuntimeResult<()>>),
}

/// One decided input, carried out after the commit.
pub(super) struct Done {
    pub instance: InstanceRef,
    pub effects: Vec<Effect>,
    pub reply: Reply,
}

/// The group being built.
pub(super) struct Group {
    pub now: Timestamp,
    pub batch: Batch,
    pub done: Vec<Done>,
    /// Instances whose in-memory state must be rebuilt from the store.
    pub broken: Vec<InstanceRef>,
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
        };
        for _ in 0..n {
            let Some(input) = self.queue.pop_front() else {
                break;
            };
            self.take(input, &mut g).await;
        }
        let Group {
            now,
            batch,
            done,
            broken,
        } = g;
        if batch.is_empty() {
            self.after_commit(done, now).await;
        } else {
            match self.shared.commit(batch).await {
                Ok(()) => self.after_commit(done, now).await,
                Err(e) => self.commit_failed(done, e).await,
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

    async fn take(&mut self, input: Input, g: &mut Group) {
        match input {
            Input::Msg(ShardMsg::Start(s)) => self.take_start(*s, g),
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
                let result = self.take_command(&instance, &cmd, outbox_done, g);
                match (result, reply) {
                    (Ok(effects), reply) => g.done.push(Done {
                        instance,
                        effects,
                        reply: reply.map_or(Reply::None, Reply::Cmd),
                    }),
                    (Err(e), Some(reply)) => {
                        let _ = reply.send(Err(e));
                    }
                    (Err(e), None) => tracing::debug!(%instance, "command dropped: {e}"),
                }
            }
            Input::Msg(ShardMsg::Dispatch(row)) => self.take_dispatch(row, g).await,
            Input::Msg(ShardMsg::Wait {
                instance,
                settled,
                reply,
            }) => self.add_waiter(instance, settled, reply),
            Input::Msg(ShardMsg::Shutdown) => self.closing = true,
            Input::Outcome {
                instance,
                job,
                outcome,
            } => {
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
                match self.take_command(&instance, &cmd, None, g) {
                    Ok(effects) => g.done.push(Done {
                        instance,
                        effects,
                        reply: Reply::None,
                    }),
                    Err(e) => tracing::debug!(%instance, %job, "job outcome dropped: {e}"),
                }
            }
            Input::Due { instance, request } => {
                if let Some(slot) = self.slots.get_mut(&instance) {
                    slot.inflight = slot.inflight.saturating_sub(1);
                    g.done.push(Done {
                        instance,
                        effects: vec![Effect::RunJob(request)],
                        reply: Reply::None,
                    });
                }
            }
        }
    }

    fn take_start(&mut self, s: StartMsg, g: &mut Group) {
        let StartMsg {
            instance,
            def,
            vars,
            business_key,
            parent,
            reply,
            outbox_done,
        } = s;
        let answer = |reply: Option<oneshot::Sender<_>>, r: RuntimeResult<InstanceRef>| {
            if let Some(reply) = reply {
                let _ = reply.send(r);
            }
        };
        if self.slots.contains_key(&instance) {
            if let Some(key) = outbox_done {
                g.batch.outbox(OutboxChange::Complete(key));
            }
            return answer(reply, Err(RuntimeError::InstanceExists(instance)));
        }
        let mut slot = Slot {
            state: Default::default(),
            def,
            seq: 0,
            inflight: 0,
            parent,
            uncommitted: true,
        };
        let cmd = Command::Start {
            vars,
            business_key: business_key.clone(),
            start_event: None,
            has_parent: slot.parent.is_some(),
        };
        self.decision.clear();
        let ctx = Ctx {
            plan: &slot.def.plan,
            now: g.now,
            definition_key: &slot.def.key,
        };
        if let Err(e) = step(&mut slot.state, &cmd, &ctx, &mut self.decision) {
            return answer(
                reply,
                Err(RuntimeError::Rejected {
                    instance,
                    reason: e.to_string(),
                }),
            );
        }
        let events = match self.encode_events(&instance) {
            Ok(ev) => ev,
            Err(e) => return answer(reply, Err(e)),
        };
        slot.seq = events.len() as u64;
        g.batch.create(
            InstanceRow {
                instance: instance.clone(),
                definition_key: slot.def.key.clone(),
                status: slot.status(),
                business_key,
                parent: slot.parent.clone(),
                created_at: g.now,
                updated_at: g.now,
                last_seq: 0,
            },
            events,
        );
        if let Some(key) = outbox_done {
            g.batch.outbox(OutboxChange::Complete(key));
        }
        let effects = std::mem::take(&mut self.decision.effects);
        outbox_for_effects(&instance, &slot, &effects, g);
        self.slots.insert(instance.clone(), slot);
        g.done.push(Done {
            instance,
            effects,
            reply: reply.map_or(Reply::None, Reply::Start),
        });
    }

    /// Decides a command for a live instance and adds its events and outbox
    /// rows to the batch; returns the effects to carry out after the commit.
    fn take_command(
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
                reason: e.to_string(),
            });
        }
        if let Command::CompleteJob { job, .. } | Command::FailJob { job, .. } = cmd {
            g.batch
                .outbox(OutboxChange::Complete(job_key(instance, job)));
        }
        let events = match self.encode_events(instance) {
            Ok(ev) => ev,
            Err(e) => {
                g.broken.push(instance.clone());
                return Err(e);
            }
        };
        let Some(slot) = self.slots.get_mut(instance) else {
            return Err(RuntimeError::UnknownInstance(instance.clone()));
        };
        if !events.is_empty() {
            let n = events.len() as u64;
            g.batch.append(
                instance.clone(),
                slot.seq,
                events,
                InstanceUpdate {
                    status: slot.status(),
                    updated_at: g.now,
                },
            );
            slot.seq += n;
        }
        let effects = std::mem::take(&mut self.decision.effects);
        outbox_for_effects(instance, slot, &effects, g);
        Ok(effects)
    }

    fn encode_events(&mut self, instance: &InstanceRef) -> RuntimeResult<Vec<Vec<u8>>> {
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
        let what = format!("outbox row {}", row.key);
        let Some(instance) = row.instance.clone() else {
            tracing::warn!("{what} names no instance; completing it");
            g.batch.outbox(OutboxChange::Complete(row.key));
            return;
        };
        if row.kind == KIND_JOB || row.kind.starts_with("job:") {
            let request = match payload::decode_job(&row.payload, &what) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("{e}; left in the outbox");
                    return;
                }
            };
            let open = self
                .slots
                .get(&instance)
                .is_some_and(|s| s.state.job_is_open(&request.key));
            if open {
                g.done.push(Done {
                    instance,
                    effects: vec![Effect::RunJob(Box::new(request))],
                    reply: Reply::None,
                });
            } else {
                g.batch.outbox(OutboxChange::Complete(row.key));
            }
        } else if row.kind == KIND_START_CHILD {
            let sc: payload::StartChild = match payload::decode(&row.payload, &what) {
                Ok(sc) => sc,
                Err(e) => return tracing::error!("{e}; left in the outbox"),
            };
            let parent = InstanceRef::new(sc.parent_id.clone(), sc.parent_run.clone());
            self.start_child(parent, instance, sc, row.key, g).await;
        } else if row.kind == KIND_CHILD_DONE {
            let cd: ChildDone = match payload::decode(&row.payload, &what) {
                Ok(cd) => cd,
                Err(e) => return tracing::error!("{e}; left in the outbox"),
            };
            let cmd = child_command(cd);
            match self.take_command(&instance, &cmd, Some(row.key), g) {
                Ok(effects) => g.done.push(Done {
                    instance,
                    effects,
                    reply: Reply::None,
                }),
                Err(e) => tracing::debug!("{what}: {e}"),
            }
        } else {
            tracing::warn!("{what} has unknown kind '{}'; left in the outbox", row.kind);
        }
    }

    /// Starts (on this shard) the child `child` of `parent`, completing the
    /// start-child row in the same commit; a child that cannot start fails
    /// the call activity.
    pub(super) async fn start_child(
        &mut self,
        parent: InstanceRef,
        child: InstanceRef,
        sc: payload::StartChild,
        row_key: String,
        g: &mut Group,
    ) {
        let parent_def = self
            .shared
            .cache
            .get_or_load(&sc.parent_definition, self.shared.store.as_ref())
            .await;
        let def = match parent_def {
            Ok(pd) => {
                let key = pd.sibling_key(&sc.process_id);
                self.shared
                    .cache
                    .get_or_load(&key, self.shared.store.as_ref())
                    .await
            }
            Err(e) => Err(e),
        };
        match def {
            Ok(def) => self.take_start(
                StartMsg {
                    instance: child,
                    def,
                    vars: sc.vars,
                    business_key: None,
                    parent: Some(parent),
                    reply: None,
                    outbox_done: Some(row_key),
                },
                g,
            ),
            Err(e) => {
                let cmd = Command::ChildFailed {
                    token: sc.token,
                    code: None,
                    message: format!("called process '{}' cannot start: {e}", sc.process_id),
                };
                let msg = ShardMsg::Command {
                    instance: parent.clone(),
                    cmd,
                    reply: None,
                    outbox_done: None,
                    counted: true,
                };
                // The start-child row is consumed by the parent's failure.
                g.batch.outbox(OutboxChange::Complete(row_key));
                if !self.shared.route(&parent.id, msg) {
                    tracing::warn!(%parent, "parent shard stopped; child failure not delivered");
                }
            }
        }
    }
}

/// The command a child's notice becomes in its parent.
pub(super) fn child_command(cd: ChildDone) -> Command {
    if cd.completed {
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
fn outbox_for_effects(instance: &InstanceRef, slot: &Slot, effects: &[Effect], g: &mut Group) {
    for effect in effects {
        match effect {
            Effect::RunJob(req) => {
                g.batch.outbox(OutboxChange::Insert(OutboxRow {
                    key: job_key(instance, &req.key),
                    kind: payload::job_kind(req),
                    instance: Some(instance.clone()),
                    payload: payload::encode_job(req),
                    due_at: req.not_before.unwrap_or(g.now),
                    attempt: req.key.attempt,
                    lease: None,
                }));
            }
            Effect::CancelJob(job) => {
                g.batch
                    .outbox(OutboxChange::Complete(job_key(instance, job)));
            }
            Effect::StartChild {
                token,
                process_id,
                vars,
            } => {
                let child = InstanceRef::new(child_id(instance, *token), "1");
                let sc = payload::StartChild {
                    parent_id: instance.id.0.clone(),
                    parent_run: instance.run.0.clone(),
                    parent_definition: slot.def.key.clone(),
                    process_id: process_id.clone(),
                    token: *token,
                    vars: vars.clone(),
                };
                g.batch.outbox(OutboxChange::Insert(OutboxRow {
                    key: start_child_key(&child),
                    kind: KIND_START_CHILD.to_string(),
                    instance: Some(child),
                    payload: payload::encode(&sc),
                    due_at: g.now,
                    attempt: 1,
                    lease: None,
                }));
            }
            Effect::InstanceFinished(finish) => {
                // Only a child (a run with a parent) notifies; parse its id
                // only then.
                let Some(parent) = &slot.parent else {
                    continue;
                };
                let Some(token) = parent_token(&instance.id.0) else {
                    continue;
                };
                let cd = match finish {
                    Finish::Completed(vars) => ChildDone {
                        token,
                        completed: true,
                        outputs: vars.clone(),
                        code: None,
                        message: String::new(),
                    },
                    Finish::Failed { code, reason } => ChildDone {
                        token,
                        completed: false,
                        outputs: Default::default(),
                        code: code.clone(),
                        message: reason.clone(),
                    },
                };
                g.batch.outbox(OutboxChange::Insert(OutboxRow {
                    key: child_done_key(instance),
                    kind: KIND_CHILD_DONE.to_string(),
                    instance: Some(parent.clone()),
                    payload: payload::encode(&cd),
                    due_at: g.now,
                    attempt: 1,
                    lease: None,
                }));
            }
            Effect::CancelChild { .. } | Effect::IncidentRaised { .. } => {}
        }
    }
}
