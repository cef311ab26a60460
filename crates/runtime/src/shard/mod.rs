//! A shard: the one writer of its instances. It owns their states (no locks),
//! takes every queued input (up to `group_cap`), decides each, commits ONE
//! batch, and only then carries out the effects. Synchronous handler answers
//! go straight back into its queue; asynchronous ones and retry timers run in
//! its own `JoinSet`, cancelled on shutdown.

mod effects;
mod group;
pub(crate) mod msg;
mod slot;

use crate::shared::Shared;
use msg::{Input, ShardMsg, WaitAnswer};
pub(crate) use slot::{FastHash, Slot, SlotMap};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use windlass_engine::Decision;
use windlass_store_api::{InstanceRef, Store};

/// A waiter for an instance.
pub(crate) struct Waiter {
    settled: bool,
    reply: oneshot::Sender<WaitAnswer>,
}

/// One shard task's state.
pub(crate) struct Shard<S> {
    shared: Arc<Shared<S>>,
    slots: SlotMap,
    rx: mpsc::UnboundedReceiver<ShardMsg>,
    queue: VecDeque<Input>,
    tasks: JoinSet<Option<Input>>,
    waiters: HashMap<InstanceRef, Vec<Waiter>, FastHash>,
    decision: Decision,
    closing: bool,
}

impl<S: Store> Shard<S> {
    /// A shard with recovered instances and initial work.
    pub fn new(
        shared: Arc<Shared<S>>,
        rx: mpsc::UnboundedReceiver<ShardMsg>,
        slots: SlotMap,
        queue: VecDeque<Input>,
    ) -> Self {
        Shard {
            shared,
            slots,
            rx,
            queue,
            tasks: JoinSet::new(),
            waiters: HashMap::default(),
            decision: Decision::default(),
            closing: false,
        }
    }

    /// The shard loop: runs until shut down, then drains its queue, cancels
    /// its tasks and returns.
    pub async fn run(mut self) {
        loop {
            if self.queue.is_empty() {
                if self.closing {
                    break;
                }
                tokio::select! {
                    m = self.rx.recv() => match m {
                        Some(m) => self.queue.push_back(Input::Msg(m)),
                        None => break,
                    },
                    Some(r) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                        if let Ok(Some(input)) = r {
                            self.queue.push_back(input);
                        }
                    }
                }
            }
            let cap = self.shared.group_cap.max(1);
            while self.queue.len() < cap {
                match self.rx.try_recv() {
                    Ok(m) => self.queue.push_back(Input::Msg(m)),
                    Err(_) => break,
                }
            }
            while let Some(r) = self.tasks.try_join_next() {
                if let Ok(Some(input)) = r {
                    self.queue.push_back(input);
                }
            }
            self.group(cap).await;
            self.answer_waiters();
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        // Dropping the waiters' senders tells them the runtime stopped.
        self.waiters.clear();
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

    /// Answers every waiter whose condition holds.
    fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let slots = &self.slots;
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
            if slot.inflight == 0 {
                let status = slot.status();
                list.retain_mut(|w| {
                    if w.settled {
                        let (tx, _) = oneshot::channel();
                        let reply = std::mem::replace(&mut w.reply, tx);
                        let _ = reply.send(WaitAnswer::Settled(status));
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
