//! Row builders shared by the conformance cases.

use crate::definition::DefinitionRow;
use crate::ids::InstanceRef;
use crate::instance::{InstanceRow, InstanceStatus, InstanceUpdate};
use crate::outbox::OutboxRow;
use windlass_types::Timestamp;

/// An instance ref `id` run `r1`.
pub fn iref(id: &str) -> InstanceRef {
    InstanceRef::new(id, "r1")
}

/// A running instance row of definition `def` created at `t`.
pub fn row(id: &str, def: &str, t: i64) -> InstanceRow {
    InstanceRow {
        instance: iref(id),
        definition_key: def.to_string(),
        status: InstanceStatus::Running,
        business_key: None,
        parent: None,
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
        last_seq: 0,
        tally: Vec::new(),
    }
}

/// `n` distinct event payloads tagged with `tag`.
pub fn events(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag}#{i}").into_bytes()).collect()
}

/// An update to `status` at `t`.
pub fn update(status: InstanceStatus, t: i64) -> InstanceUpdate {
    InstanceUpdate {
        status,
        updated_at: Timestamp(t),
        tally: Vec::new(),
    }
}

/// A definition row.
pub fn definition(key: &str, process: &str, version: u32) -> DefinitionRow {
    DefinitionRow {
        key: key.to_string(),
        process_id: process.to_string(),
        version,
        source: format!("<definitions id='{key}'/>"),
        deployed_at: Timestamp(1),
    }
}

/// An outbox row of instance `id` due at `due`.
pub fn outbox_row(key: &str, id: &str, due: i64) -> OutboxRow {
    OutboxRow {
        key: key.to_string(),
        kind: "job:test".to_string(),
        instance: Some(iref(id)),
        payload: key.as_bytes().to_vec(),
        due_at: Timestamp(due),
        attempt: 1,
        lease: None,
    }
}
