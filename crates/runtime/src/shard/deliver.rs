//! Inputs from the message correlator and broadcasts: a message for one
//! open subscription (`Command::CorrelateMessage`, with the message row's
//! change in the same batch) and a BPMN broadcast signal to every waiting
//! instance of the shard.

use super::Shard;
use super::group::{Done, Group, Reply};
use super::msg::Delivery;
use super::spans;
use crate::error::RuntimeResult;
use crate::messages::DeliveryResult;
use tokio::sync::oneshot;
use windlass_engine::Command;
use windlass_store_api::{InstanceRef, Store};

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
    /// (how many took it) goes out after the commit.
    pub(super) fn take_broadcast(
        &mut self,
        name: &str,
        vars: windlass_types::Vars,
        reply: oneshot::Sender<RuntimeResult<usize>>,
        g: &mut Group,
    ) {
        let mut targets: Vec<InstanceRef> = self
            .slots
            .iter()
            .filter(|(_, s)| s.state.signal_subscriptions().any(|(_, n)| n == name))
            .map(|(i, _)| i.clone())
            .collect();
        // In id order, so a broadcast's history does not depend on hashing.
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
        // The last instance's answer goes out with the group's commit.
        match g.done.last_mut() {
            Some(d) if n > 0 => d.reply = Reply::Broadcast(reply, n),
            _ => {
                let _ = reply.send(Ok(0));
            }
        }
    }
}
