//! What a shard tells the message correlator: the message subscriptions its
//! instances opened and closed, sent only after the commit that recorded
//! them (a subscription the correlator knows is always in the store), and
//! the answers to deliveries. At start and after a reload a shard announces
//! every open subscription of an instance again (announcing twice changes
//! nothing).

use super::SlotMap;
use crate::messages::{DeliveryResult, ServiceMsg, Topic};
use crate::shared::Shared;
use windlass_engine::ids::SubId;
use windlass_engine::{Event, InstanceState};
use windlass_store_api::{InstanceRef, Store};

/// One notice of the group being built.
enum Note {
    Opened(InstanceRef, SubId, Topic),
    Closed(InstanceRef, SubId),
}

/// The notices of the group being built.
#[derive(Default)]
pub(crate) struct MessageNotes {
    group: Vec<Note>,
}

impl MessageNotes {
    /// Records the message subscriptions one decision's `events` open and
    /// close.
    pub fn decided(&mut self, instance: &InstanceRef, events: &[Event]) {
        for e in events {
            match e {
                Event::MessageSubscribed {
                    sub,
                    name,
                    correlation_key,
                    ..
                } => self.group.push(Note::Opened(
                    instance.clone(),
                    *sub,
                    Topic::new(name, correlation_key.as_deref()),
                )),
                Event::MessageCorrelated { sub, .. } | Event::MessageUnsubscribed { sub } => {
                    self.group.push(Note::Closed(instance.clone(), *sub));
                }
                _ => {}
            }
        }
    }

    /// A new run that starts from a carried state (a reset): its open
    /// message subscriptions, announced after the commit.
    pub fn carried(&mut self, instance: &InstanceRef, state: &InstanceState) {
        for (sub, name, key) in state.message_subscriptions() {
            self.group
                .push(Note::Opened(instance.clone(), sub, Topic::new(name, key)));
        }
    }

    /// The group committed: tells the correlator, skipping openings whose
    /// subscription closed again within the group.
    pub fn committed<S: Store>(&mut self, slots: &SlotMap, shared: &Shared<S>) {
        for note in self.group.drain(..) {
            let msg = match note {
                Note::Opened(instance, sub, topic) => {
                    let open = slots
                        .get(&instance)
                        .is_some_and(|s| s.state.subscription(sub).is_some());
                    if !open {
                        continue;
                    }
                    ServiceMsg::Subscribed {
                        instance,
                        sub,
                        topic,
                    }
                }
                Note::Closed(instance, sub) => ServiceMsg::Closed { instance, sub },
            };
            shared.tell_correlator(msg);
        }
    }

    /// The group's commit failed: its notices never happened.
    pub fn commit_failed(&mut self) {
        self.group.clear();
    }

    /// Announces every open message subscription of `state` (start, reload).
    pub fn announce<S: Store>(
        &self,
        shared: &Shared<S>,
        instance: &InstanceRef,
        state: &InstanceState,
    ) {
        for (sub, name, key) in state.message_subscriptions() {
            shared.tell_correlator(ServiceMsg::Subscribed {
                instance: instance.clone(),
                sub,
                topic: Topic::new(name, key),
            });
        }
    }

    /// Answers the correlator's delivery `delivery`.
    pub fn delivered<S: Store>(&self, shared: &Shared<S>, delivery: u64, result: DeliveryResult) {
        shared.tell_correlator(ServiceMsg::Delivered { delivery, result });
    }
}
