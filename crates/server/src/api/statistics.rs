//! `/api/v1/definitions/{processId}/statistics`: per-node counts over every
//! run of one version of a process (active tokens, open incidents, tokens
//! that left each node): what the web UI's process diagram overlays show.
//! A sum of the tallies stored with each run's index row
//! (`windlass_views::statistics`), not a replay of every history.

use crate::api::definitions::{VersionQuery, find};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use windlass_views::{DefinitionStatistics, Views};

/// Per-node counts over every run of a version (default: the latest).
#[utoipa::path(
    get,
    path = "/api/v1/definitions/{processId}/statistics",
    tag = "definitions",
    params(("processId" = String, Path, description = "The BPMN process id"), VersionQuery),
    responses(
        (status = 200, description = "Per-node counts", body = DefinitionStatistics),
        (status = 404, description = "Not deployed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn statistics(
    State(state): State<AppState>,
    ApiPath(process_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult<Json<DefinitionStatistics>> {
    let (row, _) = find(&state, &process_id, q.version).await?;
    Ok(Json(
        Views::new(state.rt.store()).statistics(&row.key).await?,
    ))
}
