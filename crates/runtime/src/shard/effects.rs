//! After the commit: answer requesters, hand jobs to handlers, start
//! children, notify parents and listeners, evict finished instances. After a
//! failed commit: answer with the error and rebuild the affected instances
//! from the store.

use super::Shard;
use super::dedup_notes::DedupNotes;
use super::group::{Done, Reply, child_command, child_done};
use super::msg::{Input, ShardMsg, StartMsg, WaitAnswer};
use super::redrive::{MAX_REDRIVES, Redrive, backoff, instance_key};
use crate::error::RuntimeError;
use crate::handlers::Resolved;
use crate::job::{HandlerResult, Job, JobOutcome};
use crate::messages::DeliveryResult;
use crate::outbox::{
    CancelChild, StartChild, ThrownMessage, ThrownSignal, broadcast_key, cancel_child_key,
    child_done_key, child_escalated_key, child_ref, job_key, parent_token, publish_key,
    start_child_key,
};
use crate::publisher::Thrown;
use crate::timer::sleep_until;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use windlass_engine::event::CompletedBy;
use windlass_engine::ids::TokenId;
use windlass_engine::{Command, Effect, Finish, JobRequest, replay_encoded};
use windlass_store_api::{ErrorClass, InstanceRef, Store, StoreError};
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
                Reply::Delivery(delivery) => {
                    self.message_notes
                        .delivered(&self.shared, delivery, DeliveryResult::Correlated)
                }
                Reply::Broadcast(tx, n) => {
                    let _ = tx.send(Ok(n));
                }
            }
            if let Some(slot) = self.slots.get_mut(&d.instance) {
                slot.uncommitted = false;
                slot.store_error = None;
            }
            for effect in d.effects {
                let span = self.effect_span(&d.instance, &effect);
                self.carry_out(&d.instance, effect, now, d.recovered)
                    .instrument(span)
                    .await;
            }
            if !self.parked.is_empty() {
                self.release_parked(&d.instance, now);
            }
        }
    }

    async fn carry_out(
        &mut self,
        instance: &InstanceRef,
        effect: Effect,
        now: Timestamp,
        recovered: bool,
    ) {
        match effect {
            Effect::RunJob(req) => self.dispatch_job(instance, req, now, recovered),
            Effect::StartChild {
                token,
                process_id,
                binding,
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
                    binding,
                    token,
                    vars,
                };
                let child = child_ref(instance, token);
                self.route_child_start(instance.clone(), child, sc).await;
            }
            Effect::InstanceFinished(finish) => self.finish(instance, finish),
            Effect::EscalateToParent { number, code } => {
                self.escalate_to_parent(instance, number, code)
            }
            Effect::IncidentRaised { incident, message } => {
                tracing::info!(%instance, incident = incident.0, "incident: {message}");
            }
            Effect::CancelJob(job) => {
                tracing::debug!(%instance, %job, "job cancelled");
                self.cancel_job(instance, job);
            }
            Effect::CancelChild { token } => self.cancel_child(instance, token),
            Effect::PublishMessage {
                number,
                name,
                correlation_key,
                vars,
                ttl_millis,
            } => {
                let thrown = ThrownMessage {
                    number,
                    name,
                    correlation_key,
                    vars,
                    ttl_millis,
                };
                self.publish(instance, &thrown);
            }
            Effect::BroadcastSignal { number, name, vars } => {
                let thrown = ThrownSignal { number, name, vars };
                self.broadcast_thrown(instance, thrown);
            }
        }
    }

    /// Hands a message `instance` threw to the publisher, counted in the
    /// instance's in-flight work until the publisher answers
    /// (`ShardMsg::Published`).
    pub(super) fn publish(&mut self, instance: &InstanceRef, thrown: &ThrownMessage) {
        let key = publish_key(instance, thrown.number);
        let what = Thrown::Message(thrown.message(instance));
        self.hand_to_publisher(instance, key, what);
    }

    /// Hands a signal `instance` threw to the publisher to broadcast, like
    /// [`Shard::publish`].
    pub(super) fn broadcast_thrown(&mut self, instance: &InstanceRef, thrown: ThrownSignal) {
        let key = broadcast_key(instance, thrown.number);
        let what = Thrown::Signal {
            name: thrown.name,
            vars: thrown.vars,
        };
        self.hand_to_publisher(instance, key, what);
    }

    fn hand_to_publisher(&mut self, instance: &InstanceRef, key: String, thrown: Thrown) {
        if let Some(slot) = self.slots.get_mut(instance) {
            slot.inflight += 1;
        }
        let p = crate::publisher::Publish {
            instance: instance.clone(),
            key,
            thrown,
        };
        if self.shared.publisher.send(p).is_err() {
            // Shutting down: the row stays pending for the next start.
            if let Some(slot) = self.slots.get_mut(instance) {
                slot.inflight = slot.inflight.saturating_sub(1);
            }
        }
    }

    /// Sends the child start to the child's shard (or takes it here).
    async fn route_child_start(&mut self, parent: InstanceRef, child: InstanceRef, sc: StartChild) {
        if !self.shared.served.serves(child.id.as_str()) {
            // Another node's child: its `start-child` row, committed with
            // the parent's events, is that node's to take (and its callee
            // to resolve).
            tracing::debug!(%child, "child start left in the outbox for the node serving it");
            return;
        }
        let key = start_child_key(&child);
        let def = crate::callee::callee(&self.shared, &sc).await;
        let msg = match def {
            Ok(def) => ShardMsg::Start(Box::new(StartMsg {
                schedules: Vec::new(),
                outbox: Vec::new(),
                instance: child.clone(),
                chosen: false,
                on_conflict: Default::default(),
                def,
                vars: sc.vars,
                business_key: None,
                parent: Some(parent.clone()),
                reply: None,
                outbox_done: Some(key),
                start_event: None,
                messages: Vec::new(),
            })),
            Err(e) => ShardMsg::Command {
                instance: parent.clone(),
                cmd: crate::callee::not_started(&sc, &e),
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

    /// The call activity `token` of `instance` was interrupted: its child is
    /// terminated on the child's shard, consuming the `cancel-child` row
    /// committed with the parent's events. A terminated child sends no
    /// notice, so the parent stops counting one.
    fn cancel_child(&mut self, instance: &InstanceRef, token: TokenId) {
        if let Some(slot) = self.slots.get_mut(instance) {
            // A child held while suspended never started: it was not
            // counted (its row is still consumed below).
            let held = slot
                .state
                .held
                .contains(&windlass_engine::state::Held::Child(token));
            if !held {
                slot.inflight = slot.inflight.saturating_sub(1);
            }
        }
        let child = child_ref(instance, token);
        tracing::debug!(%instance, %child, "terminating the child of an interrupted call activity");
        let msg = ShardMsg::Command {
            instance: child.clone(),
            cmd: Command::Terminate {
                reason: CancelChild::interrupted_in(instance).reason,
            },
            reply: None,
            outbox_done: Some(cancel_child_key(&child)),
            counted: false,
        };
        if !self.shared.route_delivery(&child.id, msg) {
            tracing::warn!(%child, "shard stopped; the child termination stays in the outbox");
        }
    }

    fn finish(&mut self, instance: &InstanceRef, finish: Finish) {
        let Some(slot) = self.drop_slot(instance) else {
            return;
        };
        if !self.parked.is_empty() {
            self.parked.remove(instance);
        }
        let status = slot.status();
        DedupNotes::release(&self.shared, instance, &slot.def.process_id, &slot.state);
        if let Some(parent) = &slot.parent
            && let Some(token) = parent_token(&instance.id.0)
            && let Some(cd) = child_done(token, finish)
        {
            let msg = ShardMsg::Command {
                instance: parent.clone(),
                cmd: child_command(cd),
                reply: None,
                outbox_done: Some(child_done_key(instance)),
                counted: true,
            };
            if !self.shared.route_delivery(&parent.id, msg) {
                tracing::warn!(%instance, "parent shard stopped; notice stays in the outbox");
            }
        }
        crate::metrics::finished(&slot.def.process_id, status);
        if let Some(listener) = &self.shared.on_finished {
            listener(instance, status);
        }
        if slot.parent.is_none() && self.shared.schedule_watch.wants(&instance.id) {
            let _ = self
                .shared
                .schedules
                .send(crate::schedules::ScheduleMsg::Finished(instance.id.clone()));
        }
        self.finished(instance, status);
    }

    /// Delivers an escalation `instance` sent up to its parent's shard,
    /// consuming its `child-escalated` row in the parent's commit. Not
    /// counted in the parent's in-flight work: the child still runs.
    fn escalate_to_parent(&mut self, instance: &InstanceRef, number: u32, code: Option<String>) {
        let Some(parent) = self.slots.get(instance).and_then(|s| s.parent.clone()) else {
            return;
        };
        let Some(token) = parent_token(&instance.id.0) else {
            return;
        };
        let msg = ShardMsg::Command {
            instance: parent.clone(),
            cmd: Command::ChildEscalated {
                token,
                number,
                code,
            },
            reply: None,
            outbox_done: Some(child_escalated_key(instance, number)),
            counted: false,
        };
        if !self.shared.route_delivery(&parent.id, msg) {
            tracing::warn!(%instance, "parent shard stopped; escalation stays in the outbox");
        }
    }

    /// Hands a job to its handler now, or at its `not_before`. A
    /// `recovered` job (interrupted by a stop or crash) that no handler is
    /// bound to stays pending in the outbox for a start with the right
    /// handlers, instead of becoming a "no handler" incident: a resume never
    /// makes an instance worse.
    ///
    /// Only a job still open in the instance's state after the whole group
    /// is handed over: a later input of the same group (or of the group that
    /// took a retry's `Due`) may have cancelled it, and a cancelled job never
    /// runs. A job of a suspended instance is parked until it is resumed
    /// (`parked.rs`).
    pub(super) fn dispatch_job(
        &mut self,
        instance: &InstanceRef,
        req: Box<JobRequest>,
        now: Timestamp,
        recovered: bool,
    ) {
        let Some(slot) = self.slots.get_mut(instance) else {
            return;
        };
        if !slot.state.job_is_open(&req.key) {
            tracing::debug!(%instance, job = %req.key, "not dispatched: the job was cancelled");
            return;
        }
        if slot.state.is_suspended() {
            let work = super::parked::Parked::Job {
                request: req,
                recovered,
            };
            return self.park(instance, work);
        }
        if let Some(at) = req.not_before
            && at > now
        {
            slot.inflight += 1;
            let job = (instance.clone(), req.key);
            let instance = instance.clone();
            let wake = sleep_until(self.shared.clock.clone(), at);
            let abort = self.tasks.spawn(async move {
                wake.await;
                Some(Input::Due {
                    instance,
                    request: req,
                    recovered,
                })
            });
            self.running.insert(
                job,
                super::Running {
                    abort,
                    cancel: None,
                },
            );
            return;
        }
        let template = slot
            .def
            .templates
            .get(req.key.node.0 as usize)
            .and_then(|t| t.as_deref());
        let job_ref = req.key;
        let timeout = req.timeout_millis;
        let settings_source = slot
            .def
            .plan
            .graph()
            .node(req.key.node)
            .task()
            .settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.source().to_string()))
            .collect();
        let kind = req
            .kind
            .clone()
            .or_else(|| {
                req.task_type
                    .map(|t| windlass_engine::unbound::element_name(t).to_string())
            })
            .unwrap_or_else(|| "gatewayDecision".to_string());
        let job = Job {
            instance: instance.clone(),
            key: job_key(instance, &req.key),
            request: *req,
            settings_source,
            // Not a child of the shard's shutdown token: a handler that
            // ends its work when its job is cancelled answers "cancelled",
            // and a shutdown must not commit that as the job's outcome
            // (the shard still drains answers while it closes). Running
            // jobs are cancelled and their tasks aborted once the shard
            // has stopped committing (`Shard::run`); they stay open in the
            // outbox for the next start.
            cancel: CancellationToken::new(),
        };
        let dispatched = std::time::Instant::now();
        let answer = match self.shared.handlers.resolve(&job, template) {
            Resolved::Handler(h) => h.handle(&job),
            Resolved::NoOp => HandlerResult::Ready(JobOutcome::Completed {
                outputs: Default::default(),
                by: CompletedBy::NoOp,
            }),
            Resolved::Missing(why) if recovered => {
                tracing::info!(%instance, job = %job.key, "left pending: {why}");
                return;
            }
            Resolved::Missing(why) => HandlerResult::Ready(JobOutcome::technical(why, false)),
        };
        match answer {
            HandlerResult::Ready(outcome) => {
                crate::metrics::job_answered(kind, dispatched.elapsed().as_secs_f64());
                slot.inflight += 1;
                self.queue.push_back(Input::Outcome {
                    instance: job.instance,
                    job: job_ref,
                    outcome,
                    spawned: false,
                });
            }
            HandlerResult::Pending(fut) => {
                slot.inflight += 1;
                let instance = job.instance;
                let key = (instance.clone(), job_ref);
                // The timeout is a time of the injected clock, like retries.
                let deadline = timeout.map(|ms| {
                    let at = now.plus_millis(i64::try_from(ms).unwrap_or(i64::MAX));
                    (ms, sleep_until(self.shared.clock.clone(), at))
                });
                let abort = self.tasks.spawn(async move {
                    let outcome = match deadline {
                        Some((ms, wake)) => tokio::select! {
                            outcome = fut => outcome,
                            () = wake => {
                                JobOutcome::technical(format!("job timed out after {ms} ms"), true)
                            }
                        },
                        None => fut.await,
                    };
                    crate::metrics::job_answered(kind, dispatched.elapsed().as_secs_f64());
                    Some(Input::Outcome {
                        instance,
                        job: job_ref,
                        outcome,
                        spawned: true,
                    })
                });
                self.running.insert(
                    key,
                    super::Running {
                        abort,
                        cancel: Some(job.cancel),
                    },
                );
            }
            HandlerResult::External => {
                // No task runs for it: its token fires if the job is
                // cancelled before a worker answers; its timeout is a
                // deadline renewed by heartbeats (`external.rs`).
                self.wait_external(job.instance, job_ref, job.cancel, timeout, now);
            }
        }
    }

    /// A failed group commit: every requester of the group gets the error,
    /// every affected instance is rebuilt from the store, and then, by the
    /// error's class, its pending work is re-driven or it remembers the
    /// error (see `shard/redrive.rs`).
    pub(super) async fn commit_failed(
        &mut self,
        done: Vec<Done>,
        err: Arc<StoreError>,
        consumed: Vec<String>,
    ) {
        let class = err.class();
        tracing::error!(
            ?class,
            "group commit failed, reloading the affected instances: {err}"
        );
        // One instance's conflict does not fail the others (`isolation.rs`).
        let mut done = done;
        let culprit = super::isolation::culprit(&err, &done);
        let (again, rebuilt) = self.take_replays(&mut done, culprit.as_ref());
        if !again.is_empty() {
            tracing::warn!(
                culprit = culprit.as_ref().map(tracing::field::display),
                replayed = again.len(),
                "the failed group's other inputs are decided again without the instance that failed it"
            );
        }
        let mut affected: Vec<InstanceRef> = Vec::with_capacity(done.len());
        for d in done {
            match d.reply {
                Reply::None => {}
                Reply::Start(tx) => {
                    let _ = tx.send(Err(RuntimeError::Store(err.clone())));
                }
                Reply::Cmd(tx) => {
                    let _ = tx.send(Err(RuntimeError::Store(err.clone())));
                }
                Reply::Delivery(delivery) => self.message_notes.delivered(
                    &self.shared,
                    delivery,
                    DeliveryResult::Failed(err.clone()),
                ),
                Reply::Broadcast(tx, _) => {
                    let _ = tx.send(Err(RuntimeError::Store(err.clone())));
                }
            }
            if !affected.contains(&d.instance) {
                affected.push(d.instance);
            }
        }
        for instance in &affected {
            self.reload(instance).await;
        }
        for instance in rebuilt.iter().filter(|i| !affected.contains(i)) {
            self.reload(instance).await;
        }
        self.queue_again(again);
        if class == ErrorClass::Permanent {
            self.shared.commit_failed(&err);
            for instance in &affected {
                self.give_up(instance, &err);
            }
            return;
        }
        let mut r = Redrive::default();
        let mut worst = 0;
        for instance in affected {
            if !self.slots.contains_key(&instance) {
                continue;
            }
            match self.strike(&instance_key(&instance), class) {
                Some(n) => {
                    worst = worst.max(n);
                    r.instances.push(instance);
                }
                None => {
                    self.shared.commit_failed(&err);
                    self.give_up(&instance, &err);
                }
            }
        }
        for key in consumed {
            match self.strike(&key, class) {
                Some(n) => {
                    worst = worst.max(n);
                    r.keys.push(key);
                }
                None => {
                    self.shared.commit_failed(&err);
                    tracing::error!(
                        key,
                        "outbox row not re-driven after {MAX_REDRIVES} failed commits; it stays pending until the next start"
                    );
                }
            }
        }
        if !r.instances.is_empty() || !r.keys.is_empty() {
            self.schedule_redrive(r, backoff(worst));
        }
    }

    /// `instance` remembers `err` until a later good commit: its waiters
    /// (now or later) get the error instead of hanging; its pending work
    /// runs at the next start.
    fn give_up(&mut self, instance: &InstanceRef, err: &Arc<StoreError>) {
        if let Some(slot) = self.slots.get_mut(instance) {
            slot.store_error = Some(err.clone());
        }
        // A finished-waiter too: the instance cannot move on until the
        // next start.
        if let Some(list) = self.waiters.remove(instance) {
            for w in list {
                let _ = w.reply.send(WaitAnswer::StoreFailed(err.clone()));
            }
        }
    }

    /// Rebuilds an instance's state from the store (dropping it if its
    /// creation was never committed). Work decided but not committed is lost
    /// from memory; its outbox rows are still pending, so it is re-driven
    /// (see `commit_failed`) or dispatched again at the next start. Its
    /// in-flight count is recomputed: waiting children, tasks working for
    /// its jobs and handler answers queued for it.
    pub(super) async fn reload(&mut self, instance: &InstanceRef) {
        let Some(slot) = self.slots.get_mut(instance) else {
            return;
        };
        if slot.uncommitted {
            self.drop_slot(instance);
            return;
        }
        let history = match self.shared.store.history(instance).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(%instance, "cannot reload, evicting it until restart: {e}");
                self.drop_slot(instance);
                return;
            }
        };
        let state = match replay_encoded(history.iter().map(|h| (h.seq, h.payload.as_slice()))) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(%instance, seq = e.seq, "cannot reload, evicting it: {}", e.cause);
                self.drop_slot(instance);
                return;
            }
        };
        self.timers.arm_all(instance, &state);
        self.message_notes.announce(&self.shared, instance, &state);
        if let Some(slot) = self.slots.get(instance) {
            DedupNotes::announce(&self.shared, instance, &slot.def.process_id, &state);
        }
        if let Some(slot) = self.slots.get_mut(instance) {
            slot.seq = history.last().map_or(0, |h| h.seq);
            slot.state = state;
        }
        let own = self.own_work(instance);
        if let Some(slot) = self.slots.get_mut(instance) {
            slot.inflight = (slot.state.children_waiting().count() as u32).saturating_add(own);
        }
    }
}
