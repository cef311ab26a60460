//! Buffered messages: published with a name and a correlation key, kept
//! until an instance consumes them or they expire.
//!
//! A consumed message may stay as a row (`consumed_at` set) until its
//! expiry, so that publishing it again under the same id is recognised as a
//! duplicate; consumed rows are never delivered again.

use windlass_types::Timestamp;

/// One buffered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// A unique id (e.g. the publisher's message id).
    pub id: String,
    /// The message name.
    pub name: String,
    /// The correlation key it is meant for.
    pub correlation_key: String,
    /// The encoded message.
    pub payload: Vec<u8>,
    /// When it was published.
    pub published_at: Timestamp,
    /// When it stops being deliverable (`None` = never).
    pub expires_at: Option<Timestamp>,
    /// When a subscription consumed it (`None` while it is deliverable).
    pub consumed_at: Option<Timestamp>,
}

/// A change to the messages table inside a [`Batch`](crate::Batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    /// Adds a message; its id must not exist yet.
    Insert(MessageRow),
    /// Removes the message with this id (consumed); it must exist.
    Delete(String),
    /// Removes every message whose expiry is at or before this time.
    DeleteExpired(Timestamp),
    /// Marks the message with this id consumed at `at` (never delivered
    /// again) and sets its expiry to `keep_until`: the row stays only to
    /// recognise its id until then. It must exist and not be consumed.
    Consume {
        /// The message id.
        id: String,
        /// When it was consumed.
        at: Timestamp,
        /// Its new expiry.
        keep_until: Timestamp,
    },
}
