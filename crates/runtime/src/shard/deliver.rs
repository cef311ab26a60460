//! Inputs from the message correlator and broadcasts: a message for one
//! open subscription (`Command::CorrelateMessage`, with the message row's
//! change in the same batch) and a BPMN broadcast signal to every waiting
//! instance of the shard — or, on a node, to the waiting instances of the
//! partitions whose broadcast parts it takes (`outbox/signal_to.rs`).

use super::Shard;
use super::group::{Done, Group, Reply};
use super::msg::{BroadcastOnce, Delivery, Input, ShardMsg};
use super::spans;
use crate::error::{RuntimeError, RuntimeResult};
use crate::messages::DeliveryResult;
use crate::outbox::SignalTo;
use crate::outbox::broadcast_seen::Seen;
use std::sync::Arc;
use tokio::sync::oneshot;
use windlass_engine::Command;
use windlass_store_api::{InstanceRef, OutboxChange, PartitionSet, Store};

impl<S: Store> Shard<S> {
    /// A message from the correlator: decided as `CorrelateMessage`; on
    /// success the message row's changes join the batch and the correlator
    /// hears after the commit; a refusal is answered at once.
    pub(super) fn take_delivery(&mut self, d: Delivery, g: &mut Group) {
        let Delivery {
            instance,
            sub,
            message_id,
            vars,
            changes,
            delivery,
        } = d;
        let cmd = Command::CorrelateMessage {
            sub,
            message_id,
            vars,
        };
        match self.take_command(&instance, &cmd, None, g) {
            Ok(effects) => {
                for ch in changes {
                    g.batch.message(ch);
                }
                g.done.push(Done {
                    instance,
                    effects,
                    reply: Reply::Delivery(delivery),
                    recovered: false,
                    replay: None,
                });
            }
            Err(e) => self.message_notes.delivered(
                &self.shared,
                delivery,
                DeliveryResult::Refused(e.to_string()),
            ),
        }
    }

    /// A BPMN broadcast signal: every live instance of this shard with an
    /// open subscription to `name` takes it, in this one group; the reply
    /// (how many took it) goes out after the commit. With `once` (a thrown
    /// signal, `outbox/broadcast_seen.rs`): a shard whose marker for it
    /// exists answers 0 and delivers nothing; otherwise instances of covered
    /// partitions are skipped and the marker is written in the same commit.
    pub(super) async fn take_broadcast(
        &mut self,
        name: &str,
        vars: windlass_types::Vars,
        reply: oneshot::Sender<RuntimeResult<usize>>,
        once: Option<Arc<BroadcastOnce>>,
        g: &mut Group,
    ) {
        if let Some(once) = &once {
            let seen = Seen::Shard {
                broadcast: once.id.clone(),
                shard: self.index,
                of: self.shared.intake.len(),
            };
            match self.shared.store.outbox_entry(&seen.key()).await {
                Ok(Some(_)) => {
                    let _ = reply.send(Ok(0));
                    return;
                }
                Ok(None) => g.batch.outbox(OutboxChange::Insert(seen.row(g.now))),
                Err(e) => {
                    let _ = reply.send(Err(RuntimeError::Store(Arc::new(e))));
                    return;
                }
            };
        }
        let covered = |instance: &InstanceRef| {
            once.as_ref()
                .is_some_and(|o| !o.covered.is_empty() && o.covered.has_instance(&instance.id.0))
        };
        let n = self.deliver_signal(name, vars, |i| !covered(i), g);
        if once.is_some() {
            // Its marker is written: answered after the commit either way.
            g.acks.push((reply, n));
            return;
        }
        // The last instance's answer goes out with the group's commit.
        match g.done.last_mut() {
            Some(d) if n > 0 => d.reply = Reply::Broadcast(reply, n),
            _ => {
                let _ = reply.send(Ok(0));
            }
        }
    }

    /// A broadcast's part for one partition (`outbox/signal_to.rs`, on a
    /// node): every live instance of that partition with an open
    /// subscription to the signal takes it, in this group, whose commit
    /// also consumes the part's row. The parts of the same broadcast queued
    /// right behind it (the delivery task hands a node's parts out
    /// together) are taken with it, in one pass over the slots.
    pub(super) fn take_signal_part(&mut self, part: SignalTo, row_key: String, g: &mut Group) {
        g.batch.outbox(OutboxChange::Complete(row_key));
        let mut partitions = PartitionSet::none();
        partitions.insert(part.partition());
        while let Some(Input::Msg(ShardMsg::Dispatch(next))) = self.queue.front() {
            let Some(more) = part_of(next, &part.broadcast) else {
                break;
            };
            let Some(Input::Msg(ShardMsg::Dispatch(row))) = self.queue.pop_front() else {
                break;
            };
            g.consumed.push(row.key.clone());
            g.batch.outbox(OutboxChange::Complete(row.key));
            partitions.insert(more.partition());
        }
        let n = self.deliver_signal(
            &part.name,
            part.vars,
            |i| partitions.contains(i.partition()),
            g,
        );
        tracing::debug!(
            broadcast = part.broadcast,
            partitions = %partitions,
            taken = n,
            "broadcast parts taken"
        );
    }

    /// Delivers signal `name` to every live instance of this shard that
    /// `takes` and that has an open subscription to it, in id order (so a
    /// broadcast's history does not depend on hashing). Returns how many
    /// took it; their answers go out with the group's commit.
    fn deliver_signal(
        &mut self,
        name: &str,
        vars: windlass_types::Vars,
        takes: impl Fn(&InstanceRef) -> bool,
        g: &mut Group,
    ) -> usize {
        let mut targets: Vec<InstanceRef> = self
            .slots
            .iter()
            .filter(|(i, s)| s.state.signal_subscriptions().any(|(_, n)| n == name) && takes(i))
            .map(|(i, _)| i.clone())
            .collect();
        targets.sort();
        let cmd = Command::BroadcastSignal {
            name: name.to_string(),
            vars,
        };
        let mut n = 0;
        for instance in targets {
            let span = spans::instance_span(&instance, || {
                self.slots.get(&instance).map(|s| (s.def.as_ref(), None))
            });
            let _entered = span.enter();
            match self.take_command(&instance, &cmd, None, g) {
                Ok(effects) => {
                    n += 1;
                    g.done.push(Done {
                        instance,
                        effects,
                        reply: Reply::None,
                        recovered: false,
                        replay: None,
                    });
                }
                Err(e) => tracing::warn!("broadcast signal {name:?} refused: {e}"),
            }
        }
        n
    }
}

/// The part of broadcast `broadcast` that `row` carries, if it is one.
fn part_of(row: &windlass_store_api::OutboxRow, broadcast: &str) -> Option<SignalTo> {
    match crate::outbox::OutboxEntry::decode(row) {
        Ok(crate::outbox::OutboxEntry::SignalTo { signal, .. })
            if signal.broadcast == broadcast =>
        {
            Some(*signal)
        }
        _ => None,
    }
}
