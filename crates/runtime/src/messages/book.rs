//! The correlator's bookkeeping, free of I/O so its rules are unit-tested:
//! which subscriptions wait for which (name, key), which messages are
//! buffered, which message ids are known, and what is in flight.
//!
//! The rules are the stepping driver's (`windlass_engine::driver`), so
//! `windlass test` and the runtime agree:
//! - a message matches a subscription with the same name and the same
//!   correlation key (no key matches only no key; an empty key is no key);
//! - one message reaches at most one subscription, the one that opened
//!   first;
//! - a message nothing waits for is buffered (oldest first) until a
//!   matching subscription opens or its time-to-live has passed; a zero
//!   time-to-live drops it when nothing waits;
//! - a message id known (buffered, in flight, or consumed and still
//!   remembered) makes a publication a duplicate.

use std::collections::{HashMap, HashSet, VecDeque};
use windlass_engine::ids::SubId;
use windlass_store_api::InstanceRef;
use windlass_types::{Timestamp, Vars};

/// What a message is matched by: its name and correlation key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Topic {
    /// The message name.
    pub name: String,
    /// The correlation key; `None` for no (or an empty) key.
    pub key: Option<String>,
}

impl Topic {
    /// The topic of a name and key, an empty key read as none.
    pub fn new(name: &str, key: Option<&str>) -> Topic {
        Topic {
            name: name.to_string(),
            key: key.filter(|k| !k.is_empty()).map(str::to_string),
        }
    }

    /// The key as the store keeps it (`""` for none).
    pub fn store_key(&self) -> &str {
        self.key.as_deref().unwrap_or("")
    }
}

/// One open message subscription of an instance.
pub(crate) type SubRef = (InstanceRef, SubId);

/// A message the correlator holds (buffered or in flight).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Held {
    /// The store row id: the publisher's message id, or a generated one.
    pub row_id: String,
    /// The publisher's message id, if it gave one.
    pub message_id: Option<String>,
    /// What it is matched by.
    pub topic: Topic,
    /// Its variables.
    pub vars: Vars,
    /// When it was published.
    pub published_at: Timestamp,
    /// When it stops being deliverable (`None`: never).
    pub expires_at: Option<Timestamp>,
    /// True when a row of it is in the store (it was buffered).
    pub stored: bool,
}

impl Held {
    /// True when it can no longer be delivered at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The correlator's state.
#[derive(Debug, Default)]
pub(crate) struct Book {
    /// Open subscriptions per topic, in the order they opened.
    subs: HashMap<Topic, VecDeque<SubRef>>,
    /// The topic of each open subscription.
    topics: HashMap<SubRef, Topic>,
    /// Subscriptions with a delivery in flight (not offered another).
    busy: HashSet<SubRef>,
    /// Buffered messages per topic, oldest first.
    buffered: HashMap<Topic, VecDeque<Held>>,
    /// Known message ids with the time they are forgotten (`None`: while
    /// the message is buffered without expiry or in flight).
    ids: HashMap<String, Option<Timestamp>>,
}

impl Book {
    /// Records an open subscription (again: no change).
    pub fn subscribe(&mut self, topic: Topic, sub: SubRef) {
        if self.topics.contains_key(&sub) {
            return;
        }
        self.topics.insert(sub.clone(), topic.clone());
        self.subs.entry(topic).or_default().push_back(sub);
    }

    /// Forgets a subscription (closed, correlated, or refused); unknown
    /// ones are ignored.
    pub fn unsubscribe(&mut self, sub: &SubRef) {
        self.busy.remove(sub);
        let Some(topic) = self.topics.remove(sub) else {
            return;
        };
        if let Some(list) = self.subs.get_mut(&topic) {
            list.retain(|s| s != sub);
            if list.is_empty() {
                self.subs.remove(&topic);
            }
        }
    }

    /// The first subscription of `topic` with no delivery in flight, marked
    /// busy.
    pub fn claim_subscription(&mut self, topic: &Topic) -> Option<SubRef> {
        let sub = self
            .subs
            .get(topic)?
            .iter()
            .find(|s| !self.busy.contains(*s))?
            .clone();
        self.busy.insert(sub.clone());
        Some(sub)
    }

    /// The number of open subscriptions known.
    #[cfg(test)]
    pub fn subscription_count(&self) -> usize {
        self.subs.values().map(VecDeque::len).sum()
    }

    /// True when a message with this id is known and not forgotten at
    /// `now`.
    pub fn is_known(&self, message_id: &str, now: Timestamp) -> bool {
        self.ids
            .get(message_id)
            .is_some_and(|until| until.is_none_or(|t| now < t))
    }

    /// Remembers a message id until `until` (`None`: until told otherwise).
    pub fn remember(&mut self, message_id: &str, until: Option<Timestamp>) {
        self.ids.insert(message_id.to_string(), until);
    }

    /// Forgets a message id (its publication failed).
    pub fn forget(&mut self, message_id: &str) {
        self.ids.remove(message_id);
    }

    /// Buffers a message behind the others of its topic (or back in its
    /// place, by publication time, when a delivery of it was refused).
    pub fn buffer(&mut self, m: Held) {
        if let Some(id) = &m.message_id {
            self.ids.insert(id.clone(), m.expires_at);
        }
        let list = self.buffered.entry(m.topic.clone()).or_default();
        let at = list
            .iter()
            .position(|b| (b.published_at, &b.row_id) > (m.published_at, &m.row_id))
            .unwrap_or(list.len());
        list.insert(at, m);
    }

    /// Takes the oldest buffered message of `topic` still deliverable at
    /// `now`; expired ones met on the way are dropped (their rows are
    /// purged by the store's expiry sweep).
    pub fn take_buffered(&mut self, topic: &Topic, now: Timestamp) -> Option<Held> {
        let list = self.buffered.get_mut(topic)?;
        let mut found = None;
        while let Some(m) = list.pop_front() {
            if !m.expired(now) {
                found = Some(m);
                break;
            }
        }
        if list.is_empty() {
            self.buffered.remove(topic);
        }
        found
    }

    /// The number of buffered messages (expired ones not yet dropped
    /// included).
    pub fn buffered_count(&self) -> usize {
        self.buffered.values().map(VecDeque::len).sum()
    }

    /// Drops expired buffered messages and forgotten ids.
    pub fn expire(&mut self, now: Timestamp) {
        self.buffered.retain(|_, list| {
            list.retain(|m| !m.expired(now));
            !list.is_empty()
        });
        self.ids.retain(|_, until| until.is_none_or(|t| now < t));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sub(i: &str, s: u32) -> SubRef {
        (InstanceRef::new(i, "1"), SubId(s))
    }

    fn held(id: &str, topic: &Topic, at: i64, exp: Option<i64>) -> Held {
        Held {
            row_id: id.into(),
            message_id: Some(id.into()),
            topic: topic.clone(),
            vars: Vars::new(),
            published_at: Timestamp(at),
            expires_at: exp.map(Timestamp),
            stored: true,
        }
    }

    #[test]
    fn an_empty_key_is_no_key() {
        assert_eq!(Topic::new("a", Some("")), Topic::new("a", None));
        assert_ne!(Topic::new("a", Some("k")), Topic::new("a", None));
        assert_eq!(Topic::new("a", None).store_key(), "");
    }

    #[test]
    fn subscriptions_are_offered_in_opening_order_one_delivery_at_a_time() {
        let t = Topic::new("paid", Some("o-1"));
        let mut b = Book::default();
        b.subscribe(t.clone(), sub("a", 1));
        b.subscribe(t.clone(), sub("b", 1));
        b.subscribe(t.clone(), sub("a", 1));
        assert_eq!(b.subscription_count(), 2);
        assert_eq!(b.claim_subscription(&t), Some(sub("a", 1)));
        assert_eq!(b.claim_subscription(&t), Some(sub("b", 1)));
        assert_eq!(b.claim_subscription(&t), None, "both busy");
        b.unsubscribe(&sub("a", 1));
        assert_eq!(b.claim_subscription(&t), None, "b still busy");
        b.unsubscribe(&sub("b", 1));
        b.unsubscribe(&sub("c", 1));
        assert_eq!(b.subscription_count(), 0);
        assert_eq!(b.claim_subscription(&Topic::new("paid", None)), None);
    }

    #[test]
    fn buffered_messages_leave_oldest_first_and_expire() {
        let t = Topic::new("n", Some("k"));
        let mut b = Book::default();
        b.buffer(held("m2", &t, 20, None));
        b.buffer(held("m3", &t, 5, Some(10)));
        b.buffer(held("m1", &t, 10, None));
        assert!(b.is_known("m3", Timestamp(9)));
        assert!(!b.is_known("m3", Timestamp(10)), "forgotten at expiry");
        // m3 (oldest) expired at 10: skipped.
        assert_eq!(b.take_buffered(&t, Timestamp(10)).unwrap().row_id, "m1");
        let m2 = b.take_buffered(&t, Timestamp(10)).unwrap();
        assert_eq!(m2.row_id, "m2");
        assert!(b.take_buffered(&t, Timestamp(10)).is_none());
        // A refused delivery puts it back in its place.
        b.buffer(held("m0", &t, 1, None));
        b.buffer(m2);
        assert_eq!(b.take_buffered(&t, Timestamp(10)).unwrap().row_id, "m0");
        assert_eq!(b.buffered_count(), 1);
        b.remember("gone", Some(Timestamp(5)));
        b.expire(Timestamp(5));
        assert!(!b.is_known("gone", Timestamp(0)));
        assert!(b.is_known("m2", Timestamp(1_000)));
        b.forget("m2");
        assert!(!b.is_known("m2", Timestamp(0)));
    }
}
