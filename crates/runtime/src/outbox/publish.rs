//! The outbox entry of a message thrown by a message throw or end event
//! (`Effect::PublishMessage`): written in the commit that records
//! `MessageThrown`, published by the publisher (`crate::publisher`) after
//! it, completed once the correlator has taken it. Its message id is made
//! from the run and the message's number, so a publication repeated after
//! a crash (the row still pending) is a duplicate, not a second message.
//! The key `publish:{instance}/{run}/{number}`, the kind `publish` and the
//! JSON payload are stored: they never change.

use serde::{Deserialize, Serialize};
use windlass_store_api::InstanceRef;
use windlass_types::Vars;

/// Outbox row kind of a thrown message.
pub(super) const KIND_PUBLISH: &str = "publish";

/// A thrown message (the JSON payload of a `publish` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrownMessage {
    /// Its number among the instance's thrown messages.
    pub number: u32,
    /// The message name.
    pub name: String,
    /// The correlation key.
    pub correlation_key: Option<String>,
    /// Its variables.
    pub vars: Vars,
    /// How long it stays buffered when nothing waits, in milliseconds
    /// (absent in rows written before it existed: until consumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_millis: Option<u64>,
}

impl ThrownMessage {
    /// The message to publish for `instance`, with its message id.
    pub fn message(&self, instance: &InstanceRef) -> windlass_engine::driver::Message {
        windlass_engine::driver::Message {
            name: self.name.clone(),
            correlation_key: self.correlation_key.clone(),
            message_id: Some(thrown_message_id(instance, self.number)),
            vars: self.vars.clone(),
            ttl_millis: self.ttl_millis,
        }
    }
}

/// The row key of the `number`-th message thrown by `instance`.
pub fn publish_key(instance: &InstanceRef, number: u32) -> String {
    format!("publish:{}/{}/{number}", instance.id.0, instance.run.0)
}

/// The message id of the `number`-th message thrown by `instance` (never
/// starts with the correlator's reserved `~`: instance ids are not empty).
fn thrown_message_id(instance: &InstanceRef, number: u32) -> String {
    format!("thrown:{}/{}/{number}", instance.id.0, instance.run.0)
}
