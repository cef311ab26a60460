//! [`Runtime::start`] and the [`RuntimeHandle`]: deploy, start, wait,
//! complete / fail jobs, resolve incidents, shut down.

use crate::definitions::{DefinitionCache, Deployment};
use crate::error::{RuntimeError, RuntimeResult};
use crate::handlers::Handlers;
use crate::options::RuntimeOptions;
use crate::outbox::parse_job_key;
use crate::recovery::{RecoveryReport, recover};
use crate::shard::msg::ShardMsg;
use crate::shard::{Inbox, Shard};
use crate::shared::{CommitPath, CommitStats, Shared, committer};
use crate::start::{OnConflict, StartRequest};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use windlass_engine::event::{CompletedBy, JobFailure};
use windlass_engine::ids::IncidentId;
use windlass_engine::{Command, IncidentAction};
use windlass_store_api::{InstanceRef, Store, StoreError};
use windlass_types::{PartitionSet, Timestamp, Vars};

/// The runtime. See [`Runtime::start`].
#[derive(Debug)]
pub struct Runtime;

pub(crate) struct Inner<S> {
    pub(crate) shared: Arc<Shared<S>>,
    /// The root of the cancellation tree (root → shard → job): cancelled
    /// by `shutdown`.
    cancel: CancellationToken,
    shard_tasks: Mutex<Vec<JoinHandle<()>>>,
    committer: Mutex<Option<JoinHandle<()>>>,
    /// The message correlator task.
    correlator: Mutex<Option<JoinHandle<()>>>,
    /// The dedup owner task (`dedup/service.rs`).
    dedup: Mutex<Option<JoinHandle<()>>>,
    /// The schedule service task.
    scheduler: Mutex<Option<JoinHandle<()>>>,
    /// The publisher of thrown messages (started with the scheduler).
    publisher: Mutex<Option<JoinHandle<()>>>,
    /// The delivery task of a node (`deliveries.rs`; none on the single
    /// node of its store).
    deliveries: Mutex<Option<JoinHandle<()>>>,
    deploy_lock: tokio::sync::Mutex<()>,
    /// One adoption at a time (`adopt.rs`).
    pub(crate) adopt_lock: tokio::sync::Mutex<()>,
    recovery: RecoveryReport,
}

/// A cloneable handle to a running runtime.
pub struct RuntimeHandle<S> {
    pub(crate) inner: Arc<Inner<S>>,
}

/// A handle that does not keep the runtime alive (held by its own tasks).
pub(crate) struct WeakHandle<S>(std::sync::Weak<Inner<S>>);

impl<S> Clone for WeakHandle<S> {
    fn clone(&self) -> Self {
        WeakHandle(self.0.clone())
    }
}

impl<S> WeakHandle<S> {
    /// The handle, while the runtime exists.
    pub fn upgrade(&self) -> Option<RuntimeHandle<S>> {
        self.0.upgrade().map(|inner| RuntimeHandle { inner })
    }
}

impl<S> Clone for RuntimeHandle<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl Runtime {
    /// Recovers every unfinished instance of `store` (re-dispatching pending
    /// jobs; unless `options.resume_unfinished` is off), spawns the shard tasks (and, with several shards, the
    /// committer) on the current tokio runtime, and returns a handle.
    pub async fn start<S: Store>(
        options: RuntimeOptions,
        store: S,
        handlers: Handlers,
    ) -> RuntimeResult<RuntimeHandle<S>> {
        let store = Arc::new(store);
        let n = options.shards.max(1);
        let cache = DefinitionCache::default();
        let single = options.partitions.is_none();
        let partitions = options.partitions.unwrap_or_else(PartitionSet::all);
        if !single {
            crate::partitions::refuse_unpartitioned_rows(
                store.as_ref(),
                &cache,
                &partitions,
                options.clock.now(),
            )
            .await?;
        }
        let recovered = recover(
            store.as_ref(),
            &cache,
            n,
            options.resume_unfinished,
            &partitions,
            single,
            &partitions,
        )
        .await?;
        let sources = crate::sources::SourceBook::load(store.as_ref(), &cache).await?;
        if let Some(source) = sources.subscribe().borrow().first()
            && !single
        {
            return Err(RuntimeError::Partitioned {
                what: format!(
                    "process '{}' (deployed) has a windlass:source; starting over it",
                    source.process_id
                ),
                served: partitions.to_string(),
            });
        }
        let mut senders = Vec::with_capacity(n);
        let mut intakes = Vec::with_capacity(n);
        let mut inboxes = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, internal) = mpsc::unbounded_channel();
            let (intake_tx, intake) = mpsc::channel(options.intake_capacity.max(1));
            senders.push(tx);
            intakes.push(intake_tx);
            inboxes.push(Inbox { intake, internal });
        }
        let (commit_path, committer_task) = if n == 1 {
            (CommitPath::Direct, None)
        } else {
            let (tx, rx) = mpsc::channel(n);
            let task = tokio::spawn(committer(store.clone(), rx));
            (CommitPath::Merged(tx), Some(task))
        };
        let (correlator_tx, correlator_rx) = mpsc::unbounded_channel();
        let (dedup_tx, dedup_rx) = mpsc::unbounded_channel();
        let (schedules_tx, schedules_rx) = mpsc::unbounded_channel();
        let (publisher_tx, publisher_rx) = mpsc::unbounded_channel();
        let (deliveries_tx, deliveries_rx) = if single {
            (None, None)
        } else {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        };
        let shared = Arc::new(Shared {
            store,
            shards: senders,
            intake: intakes,
            cache,
            handlers,
            clock: options.clock,
            on_finished: options.on_finished,
            group_cap: options.group_cap,
            transient_retry_window: options.transient_retry_window,
            commit_path,
            commits: Default::default(),
            commit_nanos: Default::default(),
            store_failure: watch::Sender::new(None),
            timers: crate::timer_stats::TimerShared::new(options.timer_catch_up),
            correlator: correlator_tx,
            publisher: publisher_tx,
            dedup: dedup_tx,
            schedules: schedules_tx,
            schedule_watch: Default::default(),
            messages_buffered: Default::default(),
            sources,
            served: crate::partitions::Served::new(partitions, single),
            deliveries: deliveries_tx,
            delivery_poll: options.delivery_poll,
        });
        let mut tasks = Vec::with_capacity(n);
        let root = CancellationToken::new();
        // Started first: shards announce their recovered subscriptions to it.
        let correlator = tokio::spawn(
            crate::messages::service::Service::new(shared.clone(), options.message_id_retention)
                .run(correlator_rx, root.child_token()),
        );
        // Started before the shards too: they announce their open claims.
        let dedup = tokio::spawn(
            crate::dedup::service::Service::new(shared.clone()).run(dedup_rx, root.child_token()),
        );
        let parts = inboxes
            .into_iter()
            .zip(recovered.slots)
            .zip(recovered.queues);
        // A node's deliveries from other nodes (`deliveries.rs`).
        let deliveries = deliveries_rx.map(|rx| {
            let task = crate::deliveries::Deliveries::new(
                shared.clone(),
                partitions,
                options.delivery_poll,
                options.delivery_wake.clone(),
            );
            tokio::spawn(task.run(rx, root.child_token()))
        });
        for (index, ((inbox, slots), queue)) in parts.enumerate() {
            let shard = Shard::new(
                index,
                shared.clone(),
                inbox,
                root.child_token(),
                slots,
                queue,
            );
            tasks.push(tokio::spawn(shard.run()));
        }
        let handle = RuntimeHandle {
            inner: Arc::new(Inner {
                shared: shared.clone(),
                cancel: root.clone(),
                shard_tasks: Mutex::new(tasks),
                committer: Mutex::new(committer_task),
                correlator: Mutex::new(Some(correlator)),
                dedup: Mutex::new(Some(dedup)),
                scheduler: Mutex::new(None),
                publisher: Mutex::new(None),
                deliveries: Mutex::new(deliveries),
                deploy_lock: tokio::sync::Mutex::new(()),
                adopt_lock: tokio::sync::Mutex::new(()),
                recovery: recovered.report,
            }),
        };
        // Started last: they start instances and publish through the
        // handle (the shards queue thrown messages for the publisher
        // meanwhile).
        let weak = WeakHandle(Arc::downgrade(&handle.inner));
        let publisher =
            crate::publisher::Publisher::new(shared.clone(), weak.clone(), recovered.markers);
        let task = tokio::spawn(publisher.run(publisher_rx, root.child_token()));
        if let Ok(mut p) = handle.inner.publisher.lock() {
            *p = Some(task);
        }
        let service = crate::schedules::service::Service::new(
            shared,
            weak,
            options.fire_schedules,
            options.timer_catch_up,
        );
        let task = tokio::spawn(service.run(schedules_rx, root.child_token()));
        if let Ok(mut s) = handle.inner.scheduler.lock() {
            *s = Some(task);
        }
        Ok(handle)
    }
}

impl<S: Store> RuntimeHandle<S> {
    pub(crate) fn open(&self) -> RuntimeResult<&Shared<S>> {
        if self.inner.cancel.is_cancelled() {
            return Err(RuntimeError::ShuttingDown);
        }
        Ok(&self.inner.shared)
    }

    /// The message sources of the latest version of every deployed process
    /// that a service outside the runtime honours (Kubernetes watches;
    /// `sources.rs`), updated by every deployment.
    pub fn message_sources(&self) -> watch::Receiver<Vec<crate::DeployedSource>> {
        self.inner.shared.sources.subscribe()
    }

    /// The store (for reads: instance lists, histories).
    pub fn store(&self) -> &S {
        &self.inner.shared.store
    }

    /// How many group commits the shards made and how long they waited
    /// for the store (profiling: the share of time inside `commit`).
    pub fn commit_stats(&self) -> CommitStats {
        self.inner.shared.commit_stats()
    }

    /// How many timers fired, and how many occurrences of repeating timers
    /// were skipped as later than the catch-up window, since the start.
    pub fn timer_stats(&self) -> crate::TimerStats {
        self.inner.shared.timers.stats()
    }

    /// The error of the last failed group commit, if any commit failed
    /// since the start (disk full, I/O error, read-only file).
    pub fn storage_failed(&self) -> Option<Arc<StoreError>> {
        self.inner.shared.store_failure.borrow().clone()
    }

    /// Resolves with the error of the first group commit that fails from
    /// now on (or of the last one that failed already). Drivers that wait
    /// for instances select on it, so a storage failure stops them instead
    /// of leaving them waiting for instances that cannot move.
    pub async fn storage_failure(&self) -> Arc<StoreError> {
        let mut rx = self.inner.shared.store_failure.subscribe();
        loop {
            if let Some(e) = rx.borrow_and_update().clone() {
                return e;
            }
            if rx.changed().await.is_err() {
                // The runtime is gone; nothing can fail any more.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The runtime's levels now (for metrics and dumps): per shard, the
    /// inputs waiting in its intake; timers armed; messages buffered.
    pub fn levels(&self) -> crate::Levels {
        let shared = &self.inner.shared;
        crate::Levels {
            intake: shared
                .intake
                .iter()
                .map(|tx| tx.max_capacity() - tx.capacity())
                .collect(),
            timers_armed: shared.timers.stats().armed,
            messages_buffered: shared
                .messages_buffered
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The time on the runtime's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.shared.clock.now()
    }

    /// What recovery did when this runtime started.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// Deploys every runnable process of a BPMN document (stored with its
    /// source, so recovery can rebuild it). Idempotent per document.
    pub async fn deploy(&self, xml: &str) -> RuntimeResult<Deployment> {
        let shared = self.open()?;
        let _guard = self.inner.deploy_lock.lock().await;
        // A node writes only the schedule rows of its partitions: the
        // processes' schedules, deployed and stored, must all be served.
        let stored: Vec<(String, String)> = if shared.served.is_single() {
            Vec::new()
        } else {
            shared
                .store
                .schedules()
                .await?
                .into_iter()
                .map(|r| (r.id, r.process_id))
                .collect()
        };
        let check = |def: &crate::definitions::ProcessDef| {
            shared.served.check_definition(def)?;
            shared.served.check_schedules(def, &stored)
        };
        let dep = shared
            .cache
            .deploy(xml, shared.store.as_ref(), shared.clock.now(), check)
            .await?;
        // Their message and signal start events, if the latest version.
        let defs = dep
            .processes
            .iter()
            .filter_map(|(_, key, version)| Some((shared.cache.cached(key)?, *version)))
            .collect();
        shared.tell_correlator(crate::messages::ServiceMsg::Deployed(defs));
        // Their schedules, if the latest version (answered once committed).
        let latest: Vec<_> = dep
            .processes
            .iter()
            .filter(|(pid, key, _)| shared.cache.latest_key(pid).as_deref() == Some(key.as_str()))
            .filter_map(|(_, key, _)| shared.cache.cached(key))
            .collect();
        // Their sources outside the runtime (Kubernetes watches).
        shared.sources.deployed(&latest);
        let (reply, rx) = oneshot::channel();
        let msg = crate::schedules::ScheduleMsg::Deployed {
            defs: latest,
            now: shared.clock.now(),
            reply,
        };
        shared
            .schedules
            .send(msg)
            .map_err(|_| RuntimeError::ShuttingDown)?;
        rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
        Ok(dep)
    }

    /// Starts an instance; returns once its start is committed (its first
    /// jobs are then being dispatched) with the ref of the new run, or with
    /// [`OnConflict::UseExisting`] the live run's.
    pub async fn start_instance(&self, req: StartRequest) -> RuntimeResult<InstanceRef> {
        let mut msg = self.prepare_start(req).await?;
        let instance = msg.instance.clone();
        let (tx, rx) = oneshot::channel();
        msg.reply = Some(tx);
        self.send(&instance, ShardMsg::Start(Box::new(msg))).await?;
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }

    /// A schedule's start: like [`RuntimeHandle::start_instance`], with
    /// `changes` (the schedule's row) written in the same batch as the
    /// creation. Without an instance id in `req` and without a
    /// `windlass:instanceId` template, the id is `default_id`.
    pub(crate) async fn start_with_schedule(
        &self,
        mut req: StartRequest,
        default_id: Option<&str>,
        changes: Vec<windlass_store_api::ScheduleChange>,
    ) -> RuntimeResult<InstanceRef> {
        if req.instance_id.is_none()
            && let Some(id) = default_id
        {
            let def = self.resolve_definition(&req.definition).await?;
            if def.plan.graph().extensions.instance_id.is_none() {
                req.instance_id = Some(id.to_string());
            }
        }
        let mut msg = self.prepare_start(req).await?;
        msg.schedules = changes;
        let instance = msg.instance.clone();
        let (tx, rx) = oneshot::channel();
        msg.reply = Some(tx);
        self.send(&instance, ShardMsg::Start(Box::new(msg))).await?;
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }

    /// Starts an instance without waiting for its commit (throughput
    /// drivers); waits only while the shard's intake is full. A start that
    /// fails later is logged (and reported by
    /// [`RuntimeHandle::storage_failure`] when its commit failed); the
    /// instance then never appears. Returns the ref the run is created
    /// under; with a chosen id whose latest run is newer than the proposed
    /// run id (a concurrent start got there first), the shard gives the run
    /// a fresh id that only [`RuntimeHandle::start_instance`] reports.
    /// [`OnConflict::UseExisting`] needs the shard's answer and is refused
    /// here.
    pub async fn start_detached(&self, req: StartRequest) -> RuntimeResult<InstanceRef> {
        if req.on_conflict == OnConflict::UseExisting {
            return Err(RuntimeError::Unsupported(
                "start_detached cannot use on_conflict use-existing (the live run is known \
                 only from the shard's answer); use start_instance"
                    .into(),
            ));
        }
        let msg = self.prepare_start(req).await?;
        let instance = msg.instance.clone();
        self.send(&instance, ShardMsg::Start(Box::new(msg))).await?;
        Ok(instance)
    }

    /// Sends to the instance's shard, waiting while its intake is full.
    /// Refuses an instance outside the served partitions
    /// ([`RuntimeError::NotOwner`]).
    pub(crate) async fn send(&self, instance: &InstanceRef, msg: ShardMsg) -> RuntimeResult<()> {
        let shared = self.open()?;
        shared.served.check(&instance.id.0)?;
        if shared.submit(&instance.id, msg).await {
            Ok(())
        } else {
            Err(RuntimeError::ShuttingDown)
        }
    }

    async fn command(&self, instance: InstanceRef, cmd: Command) -> RuntimeResult<()> {
        let (tx, rx) = oneshot::channel();
        let msg = ShardMsg::Command {
            instance: instance.clone(),
            cmd,
            reply: Some(tx),
            outbox_done: None,
            counted: false,
        };
        self.send(&instance, msg).await?;
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }

    /// Sends signal `name` to one instance (Cadence's SignalWorkflow): its
    /// first open signal subscription for `name` takes it, else the
    /// instance keeps it, in order, until one opens (see
    /// `InstanceState::signals`). Returns once committed.
    pub async fn signal(
        &self,
        instance: &InstanceRef,
        name: &str,
        vars: Vars,
    ) -> RuntimeResult<()> {
        windlass_types::limits::check_vars(&vars)?;
        let cmd = Command::Signal {
            name: name.to_string(),
            vars,
        };
        self.command(instance.clone(), cmd).await
    }

    /// Throws BPMN broadcast signal `name`: every open signal subscription
    /// for it in every live instance takes it (nothing is kept), and every
    /// process (latest version) with a signal start event for it starts an
    /// instance there. Returns how many instances took it or were started,
    /// once every shard has committed its part. Each shard's part is one commit: a crash during a broadcast
    /// can leave it delivered on some shards only, and the call then fails.
    ///
    /// On a node serving some partitions the broadcast is committed as one
    /// row per partition, which the node serving each partition delivers
    /// to its waiting instances shortly after (`broadcast_parts.rs`): the
    /// count is then the instances started, and the variables are limited
    /// to [`MAX_NODE_BROADCAST_VARS_BYTES`](crate::MAX_NODE_BROADCAST_VARS_BYTES).
    pub async fn broadcast(&self, name: &str, vars: Vars) -> RuntimeResult<usize> {
        let shared = self.open()?;
        windlass_types::limits::check_vars(&vars)?;
        if !shared.served.is_single() {
            return self.broadcast_parts(name, vars).await;
        }
        let mut answers = Vec::with_capacity(shared.intake.len());
        for tx in &shared.intake {
            let (reply, rx) = oneshot::channel();
            let msg = ShardMsg::Broadcast {
                name: name.to_string(),
                vars: vars.clone(),
                reply,
                once: None,
            };
            tx.send(msg).await.map_err(|_| RuntimeError::ShuttingDown)?;
            answers.push(rx);
        }
        let mut total = 0;
        for rx in answers {
            total += rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
        }
        total += self.start_for_signal(name, vars).await?;
        Ok(total)
    }

    /// Completes the job with idempotency key `job_key` (external workers,
    /// people). Returns once committed; a job that is no longer open is
    /// refused with [`RuntimeError::Rejected`]. Outputs over the value limit
    /// are not taken: the engine records the attempt as failed (retries, then
    /// an incident) and the caller gets [`RuntimeError::ValueLimit`].
    pub async fn complete_job(&self, job_key: &str, outputs: Vars) -> RuntimeResult<()> {
        let (instance, job) = parse_job_key(job_key)?;
        let over_limit = windlass_types::limits::check_vars(&outputs).err();
        let cmd = Command::CompleteJob {
            job,
            outputs,
            by: CompletedBy::External,
        };
        self.command(instance, cmd).await?;
        match over_limit {
            Some(e) => Err(RuntimeError::ValueLimit(e)),
            None => Ok(()),
        }
    }

    /// A sign of life from the external worker of job `job_key`: the job's
    /// `timeout` starts again (without heartbeats it runs from dispatch;
    /// when it passes, the attempt fails as a retryable technical failure).
    /// Answered at once; [`RuntimeError::JobNotOpen`] when the job is not
    /// open (answered, cancelled, timed out: the worker should stop).
    pub async fn heartbeat(&self, job_key: &str) -> RuntimeResult<()> {
        let (instance, job) = parse_job_key(job_key)?;
        let (reply, rx) = oneshot::channel();
        let msg = ShardMsg::Heartbeat {
            instance: instance.clone(),
            job,
            reply,
        };
        self.send(&instance, msg).await?;
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }

    /// Fails an attempt of the job with key `job_key` (retries, BPMN errors
    /// and incidents follow the engine's rules).
    pub async fn fail_job(&self, job_key: &str, failure: JobFailure) -> RuntimeResult<()> {
        let (instance, job) = parse_job_key(job_key)?;
        self.command(instance, Command::FailJob { job, failure })
            .await
    }

    /// Resolves an open incident of `instance` (retry or skip).
    pub async fn resolve_incident(
        &self,
        instance: &InstanceRef,
        incident: IncidentId,
        action: IncidentAction,
    ) -> RuntimeResult<()> {
        let cmd = Command::ResolveIncident { incident, action };
        self.command(instance.clone(), cmd).await
    }

    /// Cancels `instance` (`Command::Cancel`): handlers catching
    /// `windlass:cancelled` run as cleanup, everything else stops (open
    /// jobs are cancelled, their handlers' tokens fire; children are
    /// terminated); it ends `Cancelled` once no token is left. A finished
    /// instance, or one already being cancelled, is refused with
    /// [`RuntimeError::Rejected`].
    pub async fn cancel(&self, instance: &InstanceRef, reason: &str) -> RuntimeResult<()> {
        let cmd = Command::Cancel {
            reason: reason.to_string(),
        };
        self.command(instance.clone(), cmd).await
    }

    /// Terminates `instance` at once (`Command::Terminate`): no handler
    /// runs; it ends `Terminated`.
    pub async fn terminate(&self, instance: &InstanceRef, reason: &str) -> RuntimeResult<()> {
        let cmd = Command::Terminate {
            reason: reason.to_string(),
        };
        self.command(instance.clone(), cmd).await
    }

    /// Suspends `instance` (`Command::Suspend`): answers, messages and
    /// signals are still recorded, but no job of it is dispatched (retries
    /// and recovered jobs included) and its timers are held until
    /// [`RuntimeHandle::resume`]. The flag is in its history, so it stays
    /// suspended across restarts.
    pub async fn suspend(&self, instance: &InstanceRef, reason: &str) -> RuntimeResult<()> {
        let cmd = Command::Suspend {
            reason: reason.to_string(),
        };
        self.command(instance.clone(), cmd).await
    }

    /// Resumes a suspended `instance` (`Command::Resume`): the jobs held
    /// meanwhile are dispatched and the timers that fell due fire.
    pub async fn resume(&self, instance: &InstanceRef) -> RuntimeResult<()> {
        self.command(instance.clone(), Command::Resume).await
    }

    /// Graceful shutdown: stops intake, lets every shard finish its queue
    /// (in-flight commits and synchronous handler answers), cancels running
    /// handler futures and retry timers, and returns when every task has
    /// ended. Work not finished stays durable in the outbox for the next
    /// start.
    pub async fn shutdown(&self) -> RuntimeResult<()> {
        self.inner.cancel.cancel();
        let tasks: Vec<JoinHandle<()>> = match self.inner.shard_tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let mut panicked = None;
        for t in tasks {
            if let Err(e) = t.await
                && e.is_panic()
            {
                panicked = Some(e.to_string());
            }
        }
        for service in [
            &self.inner.scheduler,
            &self.inner.publisher,
            &self.inner.correlator,
            &self.inner.dedup,
            &self.inner.deliveries,
        ] {
            let task = service.lock().ok().and_then(|mut c| c.take());
            if let Some(c) = task
                && let Err(e) = c.await
                && e.is_panic()
            {
                panicked = Some(e.to_string());
            }
        }
        let committer = self.inner.committer.lock().ok().and_then(|mut c| c.take());
        if let Some(c) = committer {
            c.abort();
            let _ = c.await;
        }
        match panicked {
            Some(p) => Err(RuntimeError::TaskPanicked(p)),
            None => Ok(()),
        }
    }

    /// True once every task of the runtime has ended.
    pub fn is_stopped(&self) -> bool {
        let shards_done = self
            .inner
            .shard_tasks
            .lock()
            .map(|t| t.iter().all(|h| h.is_finished()))
            .unwrap_or(true);
        let committer_done = self
            .inner
            .committer
            .lock()
            .map(|c| c.as_ref().is_none_or(|h| h.is_finished()))
            .unwrap_or(true);
        let services_done = [
            &self.inner.correlator,
            &self.inner.dedup,
            &self.inner.scheduler,
            &self.inner.publisher,
            &self.inner.deliveries,
        ]
        .iter()
        .all(|s| {
            s.lock()
                .map(|c| c.as_ref().is_none_or(|h| h.is_finished()))
                .unwrap_or(true)
        });
        shards_done && committer_done && services_done
    }
}
