//! The instance index: one row per instance run, kept in step with its
//! history in the same transaction, and the queries over it.

use crate::ids::{InstanceId, InstanceRef};
use windlass_types::Timestamp;

/// Where an instance stands, as far as the index is concerned. The engine
/// decides the status; the store only stores it and queries by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceStatus {
    /// Has tokens that can still move (running or waiting for a job, timer or
    /// message).
    Running,
    /// Waits for a person: a job failed after its retries.
    Incident,
    /// Reached its end normally.
    Completed,
    /// Ended from outside by the engine's `Command::Terminate` (e.g. its
    /// parent's call activity was interrupted). A terminate end event
    /// completes the instance instead.
    Terminated,
    /// Cancelled by an operator or a parent.
    Cancelled,
    /// Ended with an uncaught error.
    Failed,
    /// Replaced, while it waited for a dedup key, by a newer claim.
    Superseded,
}

impl InstanceStatus {
    /// Every status, in code order.
    pub const ALL: [InstanceStatus; 7] = [
        InstanceStatus::Running,
        InstanceStatus::Incident,
        InstanceStatus::Completed,
        InstanceStatus::Terminated,
        InstanceStatus::Cancelled,
        InstanceStatus::Failed,
        InstanceStatus::Superseded,
    ];

    /// True when the instance can never move again; recovery skips it.
    pub fn is_finished(self) -> bool {
        !matches!(self, InstanceStatus::Running | InstanceStatus::Incident)
    }

    /// A stable small code for storage. Codes are never reused.
    pub fn code(self) -> u8 {
        match self {
            InstanceStatus::Running => 0,
            InstanceStatus::Incident => 1,
            InstanceStatus::Completed => 2,
            InstanceStatus::Terminated => 3,
            InstanceStatus::Cancelled => 4,
            InstanceStatus::Failed => 5,
            InstanceStatus::Superseded => 6,
        }
    }

    /// The status for a storage code, or `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// A lowercase name for people and JSON (`running`, `incident`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Running => "running",
            InstanceStatus::Incident => "incident",
            InstanceStatus::Completed => "completed",
            InstanceStatus::Terminated => "terminated",
            InstanceStatus::Cancelled => "cancelled",
            InstanceStatus::Failed => "failed",
            InstanceStatus::Superseded => "superseded",
        }
    }
}

/// One row of the instance index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    /// Which instance run.
    pub instance: InstanceRef,
    /// The key of the deployed definition it runs (see
    /// [`DefinitionRow::key`](crate::DefinitionRow::key)).
    pub definition_key: String,
    /// Its status.
    pub status: InstanceStatus,
    /// An optional business key for look-ups (independent of the id).
    pub business_key: Option<String>,
    /// The calling instance, for instances started by a call activity.
    pub parent: Option<InstanceRef>,
    /// When the run was created.
    pub created_at: Timestamp,
    /// When its history last grew.
    pub updated_at: Timestamp,
    /// The sequence number of its last history event (the store maintains
    /// this; values given in a batch are ignored).
    pub last_seq: u64,
    /// The run's per-node counts as the runtime last wrote them (opaque to
    /// the store: `windlass_engine::tally::NodeTally` encodes them); empty
    /// when none was written (rows from before schema version 5). Per-node
    /// statistics sum these instead of replaying every history.
    pub tally: Vec<u8>,
}

/// The fields of an instance row an append may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUpdate {
    /// The new status.
    pub status: InstanceStatus,
    /// The time of this change.
    pub updated_at: Timestamp,
    /// The run's per-node counts after this change (replaces
    /// [`InstanceRow::tally`]).
    pub tally: Vec<u8>,
}

/// A query over the instance index. Every set field must match (AND).
/// Results are ordered by `(created_at, id, run)` ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceQuery {
    /// Only this instance id (all its runs).
    pub id: Option<InstanceId>,
    /// Only instances of this definition key.
    pub definition_key: Option<String>,
    /// Only instances whose definition key starts with this text (the
    /// runtime's keys are `{process id}:{hash}`, so `order:` selects every
    /// version of process `order`).
    pub definition_prefix: Option<String>,
    /// Only instances whose id starts with this text.
    pub id_prefix: Option<String>,
    /// Only instances with this status.
    pub status: Option<InstanceStatus>,
    /// Only instances with this business key.
    pub business_key: Option<String>,
    /// Only children of this parent.
    pub parent: Option<InstanceRef>,
    /// Only instances created at or after this time.
    pub created_from: Option<Timestamp>,
    /// Only instances created before this time (exclusive).
    pub created_until: Option<Timestamp>,
    /// Only rows after this one in the result order (keyset paging: pass
    /// the cursor of the last row of the previous page).
    pub after: Option<InstanceCursor>,
    /// At most this many rows (`None` = all).
    pub limit: Option<usize>,
}

/// A position in the `(created_at, id, run)` order of instance rows: the
/// keyset cursor of [`InstanceQuery::after`]. Stable under inserts (a new
/// row never shifts the rows of later pages), unlike an offset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceCursor {
    /// The creation time of the row.
    pub created_at: Timestamp,
    /// The instance run of the row.
    pub instance: InstanceRef,
}

impl InstanceCursor {
    /// The cursor that points at `row`.
    pub fn of(row: &InstanceRow) -> Self {
        Self {
            created_at: row.created_at,
            instance: row.instance.clone(),
        }
    }

    /// True when `row` comes strictly after this cursor in the
    /// `(created_at, id, run)` order (strings compare byte-wise).
    pub fn is_before(&self, row: &InstanceRow) -> bool {
        (
            row.created_at,
            row.instance.id.as_str(),
            row.instance.run.as_str(),
        ) > (
            self.created_at,
            self.instance.id.as_str(),
            self.instance.run.as_str(),
        )
    }
}

impl InstanceQuery {
    /// True if `row` matches every set field (limit aside; `after` included). Backends that
    /// filter in memory use this so every backend agrees on the meaning.
    pub fn matches(&self, row: &InstanceRow) -> bool {
        self.id.as_ref().is_none_or(|id| *id == row.instance.id)
            && self
                .definition_key
                .as_ref()
                .is_none_or(|k| *k == row.definition_key)
            && self
                .definition_prefix
                .as_ref()
                .is_none_or(|p| row.definition_key.starts_with(p.as_str()))
            && self
                .id_prefix
                .as_ref()
                .is_none_or(|p| row.instance.id.as_str().starts_with(p.as_str()))
            && self.status.is_none_or(|s| s == row.status)
            && self
                .business_key
                .as_ref()
                .is_none_or(|b| Some(b) == row.business_key.as_ref())
            && self
                .parent
                .as_ref()
                .is_none_or(|p| Some(p) == row.parent.as_ref())
            && self.created_from.is_none_or(|t| row.created_at >= t)
            && self.created_until.is_none_or(|t| row.created_at < t)
            && self.after.as_ref().is_none_or(|c| c.is_before(row))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip_and_finished_is_right() {
        for s in InstanceStatus::ALL {
            assert_eq!(InstanceStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(InstanceStatus::from_code(7), None);
        assert!(!InstanceStatus::Running.is_finished());
        assert!(!InstanceStatus::Incident.is_finished());
        assert!(InstanceStatus::Completed.is_finished());
        assert!(InstanceStatus::Failed.is_finished());
    }

    #[test]
    fn query_matches_all_set_fields() {
        let row = InstanceRow {
            instance: InstanceRef::new("a", "1"),
            definition_key: "d".into(),
            status: InstanceStatus::Running,
            business_key: Some("bk".into()),
            parent: None,
            created_at: Timestamp(10),
            updated_at: Timestamp(10),
            last_seq: 1,
            tally: Vec::new(),
        };
        assert!(InstanceQuery::default().matches(&row));
        let q = InstanceQuery {
            business_key: Some("bk".into()),
            ..Default::default()
        };
        assert!(q.matches(&row));
        let q = InstanceQuery {
            created_until: Some(Timestamp(10)),
            ..Default::default()
        };
        assert!(!q.matches(&row));
        let q = InstanceQuery {
            created_from: Some(Timestamp(10)),
            ..Default::default()
        };
        assert!(q.matches(&row));
        let q = InstanceQuery {
            status: Some(InstanceStatus::Completed),
            ..Default::default()
        };
        assert!(!q.matches(&row));
    }
}
