//! The outbox entry of a signal thrown by a signal throw or end event
//! (`Effect::BroadcastSignal`): written in the commit that records
//! `SignalThrown`, broadcast by the publisher (`crate::publisher`) after
//! it — to every shard's open signal subscriptions and to every signal
//! start event — and completed once the broadcast has been taken. A row
//! still pending after a crash is broadcast again at the next start, exactly
//! once thanks to the markers its first attempt wrote
//! (`broadcast_seen.rs`). The key `broadcast:{instance}/{run}/{number}`, the
//! kind `broadcast` and the JSON payload are stored: they never change.

use serde::{Deserialize, Serialize};
use windlass_store_api::InstanceRef;
use windlass_types::Vars;

/// Outbox row kind of a thrown signal.
pub(super) const KIND_BROADCAST: &str = "broadcast";

/// A thrown signal (the JSON payload of a `broadcast` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrownSignal {
    /// Its number among the instance's thrown signals.
    pub number: u32,
    /// The signal name.
    pub name: String,
    /// Its variables.
    pub vars: Vars,
}

/// The row key of the `number`-th signal thrown by `instance`.
pub fn broadcast_key(instance: &InstanceRef, number: u32) -> String {
    format!("broadcast:{}/{}/{number}", instance.id.0, instance.run.0)
}
