//! Messages published to the stepping driver: matched to the open message
//! subscriptions of its instance tree, or kept until one opens or their
//! time-to-live ends.
//!
//! The rules (the runtime's message service follows the same ones):
//! - a message matches a subscription with the same name and the same
//!   correlation key (a subscription without a key matches only a message
//!   without one);
//! - one message reaches at most one subscription: the first match in
//!   instance order (the root first), then subscription id;
//! - a message nothing waits for is buffered until a matching subscription
//!   opens (oldest message first) or its time-to-live has passed; no
//!   time-to-live means it stays until consumed, a zero one means it is
//!   dropped when nothing waits;
//! - a message id seen before makes the publication a duplicate: it changes
//!   nothing.

use std::collections::BTreeSet;
use windlass_types::{Timestamp, Vars};

/// A message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message name.
    pub name: String,
    /// The correlation key, if any.
    pub correlation_key: Option<String>,
    /// An id that makes publishing idempotent.
    pub message_id: Option<String>,
    /// The message's variables.
    pub vars: Vars,
    /// How long it stays buffered when nothing waits (ms); `None`: until
    /// consumed.
    pub ttl_millis: Option<u64>,
}

impl Message {
    /// True when the message is for a subscription to `name` with `key`.
    pub fn matches(&self, name: &str, key: Option<&str>) -> bool {
        self.name == name && self.correlation_key.as_deref() == key
    }
}

/// What became of a published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// A waiting subscription took it.
    Correlated,
    /// Nothing waited; it is buffered.
    Buffered,
    /// Nothing waited and its time-to-live is zero.
    Dropped,
    /// Nothing waited; it started this many instances at message start
    /// events.
    Started(usize),
    /// Its message id was seen before; nothing changed.
    Duplicate,
}

/// Buffered messages and the message ids seen.
#[derive(Debug, Default)]
pub(super) struct Mailbox {
    /// Buffered messages, oldest first, with the time they expire.
    buffered: Vec<(Message, Option<Timestamp>)>,
    ids: BTreeSet<String>,
}

impl Mailbox {
    /// Records the message's id; true when it was seen before.
    pub fn is_duplicate(&mut self, m: &Message) -> bool {
        match &m.message_id {
            Some(id) => !self.ids.insert(id.clone()),
            None => false,
        }
    }

    /// Buffers `m` published at `now`; false when its time-to-live is zero.
    pub fn keep(&mut self, m: Message, now: Timestamp) -> bool {
        let expires = match m.ttl_millis {
            Some(0) => return false,
            Some(ttl) => Some(now.plus_millis(i64::try_from(ttl).unwrap_or(i64::MAX))),
            None => None,
        };
        self.buffered.push((m, expires));
        true
    }

    /// Drops the messages whose time-to-live has passed at `now`.
    pub fn expire(&mut self, now: Timestamp) {
        self.buffered
            .retain(|(_, expires)| expires.is_none_or(|at| now <= at));
    }

    /// Takes the `i`-th buffered message (oldest first), if there is one.
    pub fn take(&mut self, i: usize) -> Option<Message> {
        (i < self.buffered.len()).then(|| self.buffered.remove(i).0)
    }

    /// The buffered messages, oldest first.
    pub fn buffered(&self) -> impl Iterator<Item = &Message> {
        self.buffered.iter().map(|(m, _)| m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn msg(name: &str, key: Option<&str>, id: Option<&str>, ttl: Option<u64>) -> Message {
        Message {
            name: name.into(),
            correlation_key: key.map(str::to_string),
            message_id: id.map(str::to_string),
            vars: Vars::new(),
            ttl_millis: ttl,
        }
    }

    #[test]
    fn matching_needs_the_same_name_and_the_same_key() {
        let m = msg("paid", Some("o-1"), None, None);
        assert!(m.matches("paid", Some("o-1")));
        assert!(!m.matches("paid", Some("o-2")));
        assert!(!m.matches("paid", None));
        assert!(!m.matches("shipped", Some("o-1")));
        assert!(msg("paid", None, None, None).matches("paid", None));
    }

    #[test]
    fn ids_make_publishing_idempotent() {
        let mut b = Mailbox::default();
        assert!(!b.is_duplicate(&msg("a", None, Some("m1"), None)));
        assert!(b.is_duplicate(&msg("b", None, Some("m1"), None)));
        assert!(!b.is_duplicate(&msg("a", None, None, None)));
        assert!(!b.is_duplicate(&msg("a", None, None, None)));
    }

    #[test]
    fn buffered_messages_expire_after_their_time_to_live_and_leave_oldest_first() {
        let mut b = Mailbox::default();
        assert!(!b.keep(msg("zero", None, None, Some(0)), Timestamp(0)));
        assert!(b.keep(msg("a", None, None, Some(1_000)), Timestamp(0)));
        assert!(b.keep(msg("a", Some("k"), None, None), Timestamp(0)));
        assert!(b.keep(msg("a", None, None, None), Timestamp(0)));
        b.expire(Timestamp(1_000));
        assert_eq!(b.buffered().count(), 3, "still alive at its expiry");
        b.expire(Timestamp(1_001));
        assert_eq!(b.buffered().count(), 2);
        let i = b.buffered().position(|m| m.matches("a", None)).unwrap();
        let m = b.take(i).unwrap();
        assert_eq!(m.ttl_millis, None);
        assert_eq!(b.buffered().count(), 1);
        assert!(b.buffered().all(|m| !m.matches("a", None)));
        assert!(b.take(5).is_none());
    }
}
