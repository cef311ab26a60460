//! A shard letting go of the instances of partitions its runtime gives up
//! (`crate::release`): after the commit of the group the order came in,
//! their slots, timers, waiters and parked work are dropped and the tasks
//! working for their jobs are stopped (their rows stay pending: the next
//! owner runs them again, as after a takeover). From the order on, any
//! input about an instance of those partitions is dropped untouched — an
//! outbox row it would consume stays pending for the next owner — and a
//! caller waiting for an answer, or for the instance, is told another node
//! serves it ([`RuntimeError::NotOwner`](crate::RuntimeError::NotOwner)).

use super::msg::{Input, ShardMsg};
use super::{JobOf, Shard};
use windlass_store_api::{InstanceRef, PartitionSet, Store};

impl<S: Store> Shard<S> {
    /// True when `row` belongs to an instance of a partition let go (a
    /// re-driven row read back from the store).
    pub(super) fn released_row(&self, row: &windlass_store_api::OutboxRow) -> bool {
        row.instance
            .as_ref()
            .is_some_and(|r| self.released.has_instance(&r.id.0))
    }

    /// Takes the order to let go of `partitions`: inputs about them are
    /// dropped from now on; the instances go after the group's commit.
    pub(super) fn take_release(
        &mut self,
        partitions: PartitionSet,
        reply: tokio::sync::oneshot::Sender<usize>,
    ) {
        self.released = self.released.union(&partitions);
        self.releasing.push((partitions, reply));
    }

    /// Lets go of the instances of the partitions ordered so far (after
    /// the group's commit) and answers the orders.
    pub(super) fn release_now(&mut self) {
        for (partitions, reply) in std::mem::take(&mut self.releasing) {
            let within = |r: &InstanceRef| partitions.has_instance(&r.id.0);
            let gone: Vec<InstanceRef> = self.slots.keys().filter(|r| within(r)).cloned().collect();
            let jobs: Vec<JobOf> = self
                .running
                .keys()
                .chain(self.external.keys())
                .filter(|(r, _)| within(r))
                .cloned()
                .collect();
            for (instance, job) in jobs {
                // Its token fires: a handler stops, a remote worker is told
                // on its next heartbeat (the next owner hands the job out).
                self.cancel_job(&instance, job);
            }
            for r in &gone {
                self.drop_slot(r);
                self.parked.remove(r);
                self.strikes.remove(&super::redrive::instance_key(r));
            }
            // Their waiters wait at the next owner.
            self.waiters.retain(|r, list| {
                if within(r) {
                    for w in list.drain(..) {
                        let _ = w.reply.send(super::msg::WaitAnswer::Moved);
                    }
                }
                !within(r)
            });
            self.runs.retain(|id, _| !partitions.has_instance(&id.0));
            self.timers.forget(&partitions);
            let _ = reply.send(gone.len());
        }
    }

    /// Drops `input` when it is about an instance of a partition let go,
    /// answering its caller [`RuntimeError::NotOwner`](crate::RuntimeError::NotOwner);
    /// hands it back otherwise.
    pub(super) fn unless_released(&self, input: Input) -> Option<Input> {
        if self.released.is_empty() {
            return Some(input);
        }
        let Some(id) = instance_of(&input).filter(|id| self.released.has_instance(id)) else {
            return Some(input);
        };
        let id = id.to_string();
        let refused = || {
            self.shared
                .served
                .check(&id)
                .err()
                .unwrap_or(crate::RuntimeError::ShuttingDown)
        };
        match input {
            Input::Msg(ShardMsg::Command {
                reply: Some(reply), ..
            })
            | Input::Msg(ShardMsg::Heartbeat { reply, .. }) => {
                let _ = reply.send(Err(refused()));
            }
            Input::Msg(ShardMsg::Start(s)) => {
                if let Some(reply) = s.reply {
                    let _ = reply.send(Err(refused()));
                }
            }
            Input::Msg(ShardMsg::SignalWithStart { reply, .. }) => {
                let _ = reply.send(Err(refused()));
            }
            Input::Msg(ShardMsg::Reset(m)) => {
                let _ = m.reply.send(Err(refused()));
            }
            Input::Msg(ShardMsg::Wait { reply, .. }) => {
                let _ = reply.send(super::msg::WaitAnswer::Moved);
            }
            _ => {}
        }
        None
    }
}

/// The id of the instance `input` is about, if it is about one. Message
/// deliveries and dedup orders are left out: they exist only on the single
/// node of a store, which never gives partitions up.
fn instance_of(input: &Input) -> Option<&str> {
    let r = match input {
        Input::Msg(m) => match m {
            ShardMsg::Start(s) => &s.instance,
            ShardMsg::SignalWithStart { start, .. } => &start.instance,
            ShardMsg::Reset(m) => &m.instance,
            ShardMsg::Command { instance, .. }
            | ShardMsg::Heartbeat { instance, .. }
            | ShardMsg::Published { instance, .. }
            | ShardMsg::Wait { instance, .. } => instance,
            ShardMsg::Dispatch(row) => row.instance.as_ref()?,
            ShardMsg::Deliver(_)
            | ShardMsg::Dedup { .. }
            | ShardMsg::Broadcast { .. }
            | ShardMsg::Adopt(_)
            | ShardMsg::Release { .. } => return None,
        },
        Input::Outcome { instance, .. }
        | Input::Timer { instance, .. }
        | Input::Expired { instance, .. }
        | Input::Due { instance, .. } => instance,
        Input::Redrive(_) => return None,
    };
    Some(r.id.as_str())
}
