//! One open incident of an instance, as an incident listing shows it.

use crate::instance::IncidentView;
use serde::{Deserialize, Serialize};
use windlass_store_api::InstanceRow;

/// An open incident with the instance it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSummary {
    /// Instance id.
    pub instance: String,
    /// Run id.
    pub run: String,
    /// Definition key.
    pub definition: String,
    /// The incident (id, token, node, attempt, message).
    #[serde(flatten)]
    #[schema(inline)]
    pub incident: IncidentView,
}

impl IncidentSummary {
    /// The incident `incident` of the instance run of `row`.
    pub fn new(row: &InstanceRow, incident: IncidentView) -> Self {
        Self {
            instance: row.instance.id.as_str().to_string(),
            run: row.instance.run.as_str().to_string(),
            definition: row.definition_key.clone(),
            incident,
        }
    }
}
