//! One row of an instance listing.

use crate::page::Cursor;
use crate::time::iso;
use serde::{Deserialize, Serialize};
use windlass_store_api::InstanceRow;

/// An instance run as a listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSummary {
    /// Instance id.
    pub id: String,
    /// Run id.
    pub run: String,
    /// Status (`running`, `incident`, `completed`, ...).
    pub status: String,
    /// Definition key.
    pub definition: String,
    /// Business key.
    pub business_key: Option<String>,
    /// The calling instance as `id/run`, for children of call activities.
    pub parent: Option<String>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    pub updated_at: String,
    /// Number of history events.
    pub events: u64,
    /// The paging cursor of this row: listing `after` it continues behind it.
    #[schema(value_type = String)]
    pub cursor: Cursor,
}

impl InstanceSummary {
    /// The summary of an index row.
    pub fn of(r: &InstanceRow) -> Self {
        Self {
            id: r.instance.id.as_str().to_string(),
            run: r.instance.run.as_str().to_string(),
            status: r.status.as_str().to_string(),
            definition: r.definition_key.clone(),
            business_key: r.business_key.clone(),
            parent: r
                .parent
                .as_ref()
                .map(|p| format!("{}/{}", p.id.as_str(), p.run.as_str())),
            created_at: iso(r.created_at.0),
            updated_at: iso(r.updated_at.0),
            events: r.last_seq,
            cursor: Cursor::of(r),
        }
    }
}
