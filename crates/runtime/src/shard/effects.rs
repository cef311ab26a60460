//! After the commit: answer requesters, hand jobs to handlers, start
//! children, notify parents and listeners, evict finished instances. After a
//! failed commit: answer with the error and rebuild the affected instances
//! from the store.

use super::Shard;
use super::group::{Done, Reply, child_command};
use super::msg::{Input, ShardMsg, StartMsg};
use crate::error::RuntimeError;
use crate::job::{HandlerResult, Job, JobOutcome};
use crate::keys::{child_done_key, child_id, job_key, parent_token, start_child_key};
use crate::payload::{ChildDone, StartChild};
use std::time::Duration;
use windlass_engine::{Effect, Finish, JobRequest, replay_encoded};
use windlass_store_api::{InstanceRef, Store, StoreError};
use windlass_types::Timestamp;

impl<S: Store> Shard<S> {
    pub(super) async fn after_commit(&mut self, done: Vec<Done>, now: Timestamp) {
        for d in done {
            match d.reply {
                Reply::None => {}
                Reply::Start(tx) => {
                    if let Some(slot) = self.slots.get_mut(&d.instance) {
                        slot.uncommitted = false;
                    }
                    let _ = tx.send(Ok(d.instance.clone()));
                }
                Reply::Cmd(tx) => {
                    let _ = tx.send(Ok(()));
                }
            }
            if let Some(slot) = self.slots.get_mut(&d.instance) {
                slot.uncommitted = false;
            }
            for effect in d.effects {
                self.carry_out(&d.instance, effect, now).await;
            }
        }
    }

    async fn carry_out(&mut self, instance: &InstanceRef, effect: Effect, now: Timestamp) {
        match effect {
            Effect::RunJob(req) => self.dispatch_job(instance, req, now),
            Effect::StartChild {
                token,
                process_id,
                vars,
            } => {
                let Some(slot) = self.slots.get_mut(instance) else {
                    return;
                };
                slot.inflight += 1;
                let sc = StartChild {
                    parent_id: instance.id.0.clone(),
                    parent_run: instance.run.0.clone(),
                    parent_definition: slot.def.key.clone(),
                    process_id,
                    token,
                    vars,
                };
                let child = InstanceRef::new(child_id(instance, token), "1");
                self.route_child_start(instance.clone(), child, sc).await;
            }
            Effect::InstanceFinished(finish) => self.finish(instance, finish),
            Effect::IncidentRaised { incident, message } => {
                tracing::info!(%instance, incident = incident.0, "incident: {message}");
            }
            Effect::CancelJob(job) => tracing::debug!(%instance, %job, "job cancelled"),
            Effect::CancelChild { token } => tracing::warn!(
                %instance,
                token = token.0,
                "cancelling a child instance is not implemented yet; the child runs on"
            ),
        }
    }

    /// Sends the child start to the child's shard (or takes it here).
    async fn route_child_start(&mut self, parent: InstanceRef, child: InstanceRef, sc: StartChild) {
        let key = start_child_key(&child);
        let def = match self
            .shared
            .cache
            .get_or_load(&sc.parent_definition, self.shared.store.as_ref())
            .await
        {
            Ok(pd) => {
                let k = pd.sibling_key(&sc.process_id);
                self.shared
                    .cache
                    .get_or_load(&k, self.shared.store.as_ref())
                    .await
            }
            Err(e) => Err(e),
        };
        let msg = match def {
            Ok(def) => ShardMsg::Start(Box::new(StartMsg {
                instance: child.clone(),
                def,
                vars: sc.vars,
                business_key: None,
                parent: Some(parent.clone()),
                reply: None,
                outbox_done: Some(key),
            })),
            Err(e) => ShardMsg::Command {
                instance: parent.clone(),
                cmd: child_command(ChildDone {
                    token: sc.token,
                    completed: false,
                    outputs: Default::default(),
                    code: None,
                    message: format!("called process '{}' cannot start: {e}", sc.process_id),
                }),
                reply: None,
                outbox_done: Some(key),
                counted: true,
            },
        };
        let target = match &msg {
            ShardMsg::Start(_) => &child.id,
            _ => &parent.id,
        };
        if !self.shared.route(target, msg) {
            tracing::warn!(%child, "shard stopped; the child start stays in the outbox");
        }
    }

    fn finish(&mut self, instance: &InstanceRef, finish: Finish) {
        let Some(slot) = self.slots.remove(instance) else {
            return;
        };
        let status = slot.status();
        if let Some(parent) = &slot.parent
            && let Some(token) = parent_token(&instance.id.0)
        {
            let cd = match finish {
                Finish::Completed(outputs) => ChildDone {
                    token,
                    completed: true,
                    outputs,
                    code: None,
                    message: String::new(),
                },
                Finish::Failed { code, reason } => ChildDone {
                    token,
                    completed: false,
                    outputs: Default::default(),
                    code,
                    message: reason,
                },
            };
            let msg = ShardMsg::Command {
                instance: parent.clone(),
                cmd: child_command(cd),
                reply: None,
                outbox_done: Some(child_done_key(instance)),
                counted: true,
            };
            if !self.shared.route(&parent.id, msg) {
                tracing::warn!(%instance, "parent shard stopped; notice stays in the outbox");
            }
        }
        if let Some(listener) = &self.shared.on_finished {
            listener(instance, status);
        }
        self.finished(instance, status);
    }

    /// Hands a job to its handler now, or at its `not_before`.
    pub(super) fn dispatch_job(
        &mut self,
        instance: &InstanceRef,
        req: Box<JobRequest>,
        now: Timestamp,
    ) {
        let Some(slot) = self.slots.get_mut(instance) else {
            return;
        };
        if let Some(at) = req.not_before
            && at > now
        {
            slot.inflight += 1;
            let delay = Duration::from_millis(u64::try_from(at.0 - now.0).unwrap_or(0));
            let instance = instance.clone();
            self.tasks.spawn(async move {
                tokio::time::sleep(delay).await;
                Some(Input::Due {
                    instance,
                    request: req,
                })
            });
            return;
        }
        let template = slot
            .def
            .templates
            .get(req.key.node.0 as usize)
            .and_then(|t| t.as_deref());
        let job_ref = req.key;
        let timeout = req.timeout_millis;
        let job = Job {
            instance: instance.clone(),
            key: job_key(instance, &req.key),
            request: *req,
        };
        match self.shared.handlers.run(&job, template) {
            HandlerResult::Ready(outcome) => {
                slot.inflight += 1;
                self.queue.push_back(Input::Outcome {
                    instance: job.instance,
                    job: job_ref,
                    outcome,
                });
            }
            HandlerResult::Pending(fut) => {
                slot.inflight += 1;
                let instance = job.instance;
                self.tasks.spawn(async move {
                    let outcome = match timeout {
                        Some(ms) => tokio::time::timeout(Duration::from_millis(ms), fut)
                            .await
                            .unwrap_or_else(|_| {
                                JobOutcome::technical(format!("job timed out after {ms} ms"), true)
                            }),
                        None => fut.await,
                    };
                    Some(Input::Outcome {
                        instance,
                        job: job_ref,
                        outcome,
                    })
                });
            }
            HandlerResult::External => {}
        }
    }

    pub(super) async fn commit_failed(&mut self, done: Vec<Done>, err: StoreError) {
        tracing::error!("group commit failed, reloading the affected instances: {err}");
        let mut affected = Vec::with_capacity(done.len());
        for d in done {
            match d.reply {
                Reply::None => {}
                Reply::Start(tx) => {
                    let _ = tx.send(Err(RuntimeError::Store(err.clone())));
                }
                Reply::Cmd(tx) => {
                    let _ = tx.send(Err(RuntimeError::Store(err.clone())));
                }
            }
            affected.push(d.instance);
        }
        for instance in affected {
            self.reload(&instance).await;
        }
    }

    /// Rebuilds an instance's state from the store (dropping it if its
    /// creation was never committed). Work decided but not committed is lost
    /// from memory; its outbox rows are still pending, so it is dispatched
    /// again at the next start.
    pub(super) async fn reload(&mut self, instance: &InstanceRef) {
        let Some(slot) = self.slots.get_mut(instance) else {
            return;
        };
        if slot.uncommitted {
            self.slots.remove(instance);
            return;
        }
        let history = match self.shared.store.history(instance).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(%instance, "cannot reload, evicting it until restart: {e}");
                self.slots.remove(instance);
                return;
            }
        };
        let state = match replay_encoded(history.iter().map(|h| (h.seq, h.payload.as_slice()))) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(%instance, seq = e.seq, "cannot reload, evicting it: {}", e.cause);
                self.slots.remove(instance);
                return;
            }
        };
        if let Some(slot) = self.slots.get_mut(instance) {
            slot.seq = history.last().map_or(0, |h| h.seq);
            slot.inflight = state.children_waiting().count() as u32;
            slot.state = state;
        }
    }
}
