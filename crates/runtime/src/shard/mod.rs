//! A shard: the one writer of its instances. It owns their states (no locks),
//! takes every queued input (up to `group_cap`), decides each, commits ONE
//! batch, and only then carries out the effects. Synchronous handler answers
//! go straight back into its queue; asynchronous ones and retry timers run in
//! its own `JoinSet`, stopped when the engine cancels their job and on
//! shutdown.

mod adopt;
mod create;
mod dedup_notes;
mod deliver;
mod effects;
mod external;
mod group;
mod isolation;
mod message_notes;
pub(crate) mod msg;
mod parked;
pub(crate) mod redrive;
mod release;
mod reset;
mod slot;
pub(crate) mod spans;
mod start;
mod timers;

use crate::outbox::child_ref;
use crate::shared::Shared;
use dedup_notes::DedupNotes;
use message_notes::MessageNotes;
use msg::{Input, ShardMsg, WaitAnswer};
pub(crate) use slot::{FastHash, Slot, SlotMap};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use timers::Timers;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use windlass_engine::{Decision, JobKey};
use windlass_store_api::{InstanceId, InstanceRef, RunId, Store};

/// A waiter for an instance.
pub(crate) struct Waiter {
    settled: bool,
    reply: oneshot::Sender<WaitAnswer>,
}

/// A spawned task working for one job: a running handler future (with the
/// token its handler was given) or a retry timer.
pub(crate) struct Running {
    abort: AbortHandle,
    cancel: Option<CancellationToken>,
}

/// A job of an instance (the key of [`Shard::running`]).
pub(crate) type JobOf = (InstanceRef, JobKey);

/// Where a shard's messages come from.
pub(crate) struct Inbox {
    /// From the handle (starts, commands, waits): bounded, so a caller
    /// waits while the shard is behind instead of growing its memory.
    pub intake: mpsc::Receiver<ShardMsg>,
    /// From the shards (child starts and notices): unbounded, so shards
    /// never wait on each other; bounded in practice by the work in flight.
    pub internal: mpsc::UnboundedReceiver<ShardMsg>,
}

/// One shard task's state.
pub(crate) struct Shard<S> {
    /// Which shard it is (of `shared.intake.len()`).
    index: usize,
    shared: Arc<Shared<S>>,
    slots: SlotMap,
    inbox: Inbox,
    /// Cancelled when the runtime shuts down (a child of the root token);
    /// every job's token is a child of it.
    cancel: CancellationToken,
    queue: VecDeque<Input>,
    tasks: JoinSet<Option<Input>>,
    /// The spawned tasks of jobs, so `Effect::CancelJob` can stop them.
    running: HashMap<JobOf, Running, FastHash>,
    waiters: HashMap<InstanceRef, Vec<Waiter>, FastHash>,
    /// Failed commits in a row per instance or outbox key being re-driven
    /// (empty while commits succeed).
    strikes: HashMap<String, redrive::Strikes, FastHash>,
    /// Failed group commits in a row whose other instances' inputs were
    /// decided again (`isolation.rs`); bounded by `redrive::MAX_REDRIVES`.
    replay_rounds: u32,
    decision: Decision,
    /// The armed timers (one wait on the clock for the earliest).
    timers: Timers,
    /// Per instance id held in `slots`: its latest run there (live, or
    /// finished but not yet evicted; creations of the current group
    /// included). What a start of a chosen id checks first
    /// (`shard/start.rs`); an entry whose slot is gone is stale and ignored.
    runs: HashMap<InstanceId, RunId, FastHash>,
    /// Message subscriptions opened and closed, told to the correlator
    /// after the commit.
    message_notes: MessageNotes,
    dedup_notes: DedupNotes,
    /// Jobs handed to external workers (no task runs for them): their
    /// tokens, so `Effect::CancelJob` can still tell the handler, and their
    /// deadlines (`external.rs`).
    external: HashMap<JobOf, external::ExternalJob, FastHash>,
    /// Work held for suspended instances (`parked.rs`).
    parked: HashMap<InstanceRef, Vec<parked::Parked>, FastHash>,
    /// Partitions the runtime gave up: inputs about their instances are
    /// dropped (`release.rs`).
    released: windlass_types::PartitionSet,
    /// Orders to let go of partitions, carried out after the group's
    /// commit.
    releasing: Vec<(windlass_types::PartitionSet, oneshot::Sender<usize>)>,
    closing: bool,
}

impl<S: Store> Shard<S> {
    /// A shard with recovered instances and initial work.
    pub fn new(
        index: usize,
        shared: Arc<Shared<S>>,
        inbox: Inbox,
        cancel: CancellationToken,
        slots: SlotMap,
        queue: VecDeque<Input>,
    ) -> Self {
        let timers = Timers::from_slots(&slots);
        let mut runs: HashMap<InstanceId, RunId, FastHash> = HashMap::default();
        for r in slots.keys() {
            let newer = runs
                .get(&r.id)
                .is_none_or(|known| known.run_order() < r.run.run_order());
            if newer {
                runs.insert(r.id.clone(), r.run.clone());
            }
        }
        let message_notes = MessageNotes::default();
        for (instance, slot) in &slots {
            message_notes.announce(&shared, instance, &slot.state);
            DedupNotes::announce(&shared, instance, &slot.def.process_id, &slot.state);
        }
        Shard {
            index,
            runs,
            shared,
            timers,
            message_notes,
            dedup_notes: DedupNotes::default(),
            slots,
            inbox,
            cancel,
            queue,
            tasks: JoinSet::new(),
            running: HashMap::default(),
            waiters: HashMap::default(),
            strikes: HashMap::default(),
            replay_rounds: 0,
            decision: Decision::default(),
            external: HashMap::default(),
            parked: HashMap::default(),
            released: windlass_types::PartitionSet::none(),
            releasing: Vec::new(),
            closing: false,
        }
    }

    /// The next message already sent, shards' first.
    fn try_next_msg(&mut self) -> Option<ShardMsg> {
        self.inbox
            .internal
            .try_recv()
            .ok()
            .or_else(|| self.inbox.intake.try_recv().ok())
    }

    /// The shard loop: runs until its token is cancelled, then drains what
    /// was sent before, cancels its tasks and returns.
    pub async fn run(mut self) {
        loop {
            if self.queue.is_empty() {
                if self.closing {
                    match self.try_next_msg() {
                        Some(m) => self.queue.push_back(Input::Msg(m)),
                        None => break,
                    }
                } else {
                    tokio::select! {
                        biased;
                        m = self.inbox.internal.recv() => match m {
                            Some(m) => self.queue.push_back(Input::Msg(m)),
                            None => break,
                        },
                        m = self.inbox.intake.recv() => match m {
                            Some(m) => self.queue.push_back(Input::Msg(m)),
                            None => break,
                        },
                        () = self.cancel.cancelled() => self.closing = true,
                        () = timers::wake_at(self.shared.clock.clone(), self.timers.next_due()),
                            if self.timers.next_due().is_some() => {}
                        Some(r) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                            if let Ok(Some(input)) = r {
                                self.queue.push_back(input);
                            }
                        }
                    }
                }
            }
            let cap = self.shared.group_cap.max(1);
            if !self.closing {
                let now = self.shared.clock.now();
                self.timers.take_due(now, &mut self.queue, cap);
            }
            while self.queue.len() < cap {
                match self.try_next_msg() {
                    Some(m) => self.queue.push_back(Input::Msg(m)),
                    None => break,
                }
            }
            while let Some(r) = self.tasks.try_join_next() {
                if let Ok(Some(input)) = r {
                    self.queue.push_back(input);
                }
            }
            self.group(cap).await;
            self.answer_waiters();
            if !self.releasing.is_empty() {
                self.release_now();
            }
        }
        for (_, r) in self.running.drain() {
            if let Some(c) = r.cancel {
                c.cancel();
            }
        }
        for (_, e) in self.external.drain() {
            e.cancel.cancel();
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        // Dropping the waiters' senders tells them the runtime stopped.
        self.waiters.clear();
    }

    /// Removes a slot (finished, or evicted) and its entry in `runs`.
    fn drop_slot(&mut self, instance: &InstanceRef) -> Option<Slot> {
        let slot = self.slots.remove(instance)?;
        if self.runs.get(&instance.id) == Some(&instance.run) {
            self.runs.remove(&instance.id);
        }
        Some(slot)
    }

    /// Stops the task working for `job` (its handler future is aborted and
    /// its token cancelled; a retry timer is dropped) and uncounts it.
    fn cancel_job(&mut self, instance: &InstanceRef, job: JobKey) {
        if !self.external.is_empty() {
            self.drop_external(&(instance.clone(), job), true);
        }
        let Some(r) = self.running.remove(&(instance.clone(), job)) else {
            return;
        };
        if let Some(c) = r.cancel {
            c.cancel();
        }
        r.abort.abort();
        if let Some(slot) = self.slots.get_mut(instance) {
            slot.inflight = slot.inflight.saturating_sub(1);
        }
    }

    /// Takes a spawned job task's answer off the books; false when the job
    /// was cancelled meanwhile (already uncounted: the answer is dropped).
    fn finish_running(&mut self, instance: &InstanceRef, job: JobKey) -> bool {
        self.running.remove(&(instance.clone(), job)).is_some()
    }

    /// Registers a waiter (answered after the next group).
    fn add_waiter(
        &mut self,
        instance: InstanceRef,
        settled: bool,
        reply: oneshot::Sender<WaitAnswer>,
    ) {
        self.waiters
            .entry(instance)
            .or_default()
            .push(Waiter { settled, reply });
    }

    /// Answers every waiter whose condition holds. A settled-waiter is
    /// answered when the instance has nothing of its own in flight (running
    /// children aside), with the children it waits for.
    fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let slots = &self.slots;
        let now = self.shared.clock.now();
        self.waiters.retain(|instance, list| {
            let Some(slot) = slots.get(instance) else {
                for w in list.drain(..) {
                    let _ = w.reply.send(WaitAnswer::NotLive);
                }
                return false;
            };
            if let Some(err) = &slot.store_error {
                for w in list.drain(..) {
                    let _ = w.reply.send(WaitAnswer::StoreFailed(err.clone()));
                }
                return false;
            }
            // Running children count in `inflight` (one each) but live on
            // their own shards: the handle waits for them in turn.
            let children: Vec<InstanceRef> = slot
                .state
                .children_waiting()
                .map(|t| child_ref(instance, t.id))
                .collect();
            let own = slot.inflight.saturating_sub(children.len() as u32);
            // A timer that is due must fire (and its consequences run)
            // before the instance counts as settled.
            // A suspended instance's timers are held: they do not fire.
            let due = !slot.state.is_suspended() && Timers::has_due(&slot.state, now);
            if own == 0 && !due {
                let status = slot.status();
                let seq = slot.seq;
                list.retain_mut(|w| {
                    if w.settled {
                        let (tx, _) = oneshot::channel();
                        let reply = std::mem::replace(&mut w.reply, tx);
                        let _ = reply.send(WaitAnswer::Settled {
                            status,
                            seq,
                            children: children.clone(),
                        });
                        false
                    } else {
                        true
                    }
                });
            }
            !list.is_empty()
        });
    }

    /// Answers an instance's waiters when it finished.
    fn finished(&mut self, instance: &InstanceRef, status: windlass_store_api::InstanceStatus) {
        if let Some(list) = self.waiters.remove(instance) {
            for w in list {
                let _ = w.reply.send(WaitAnswer::Finished(status));
            }
        }
    }
}
