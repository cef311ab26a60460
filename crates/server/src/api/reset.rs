//! `POST /api/v1/instances/{id}/reset`: a new run of the instance that
//! starts from a point of a run's history
//! ([`RuntimeHandle::reset`](windlass_runtime::RuntimeHandle::reset)).

use crate::api::RunQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use windlass_runtime::ResetRequest;
use windlass_views::Views;

/// Where to reset a run to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetBody {
    /// The last event the new run carries over: a sequence number from the
    /// run's history, at a point where every token waits (the last event
    /// of a commit is one), before the run ended.
    pub to_event: u64,
    /// Why (recorded in the new run's history and in the termination of
    /// the live run).
    #[serde(default)]
    pub reason: String,
    /// Send the signals the run received after the point to the new run
    /// (default true).
    #[serde(default = "yes")]
    pub reapply_signals: bool,
}

fn yes() -> bool {
    true
}

/// The new run of a reset.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetResponse {
    /// The instance id.
    pub id: String,
    /// The new run.
    pub run: String,
    /// The run that was reset.
    pub from_run: String,
    /// The last event carried over.
    pub to_event: u64,
}

/// Resets a run (without `?run=`, the latest) to an event of its history:
/// a new run of the instance carries the history up to that event with
/// its original times and goes on from there (the jobs and call
/// activities open at that point are asked for again); the instance's
/// live run, if any, is terminated; the signals received after the point
/// are sent again unless `reapplySignals` is false. Works on finished runs
/// too. Answers once committed.
#[utoipa::path(
    post,
    path = "/api/v1/instances/{id}/reset",
    tag = "control",
    params(("id" = String, Path, description = "The instance id"), RunQuery),
    request_body = ResetBody,
    responses(
        (status = 200, description = "Committed: the new run", body = ResetResponse),
        (status = 404, description = "No such instance or run", body = ErrorBody),
        (status = 422, description = "Not a point the run can go on from, or not a run that can be reset (`reset_refused`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reset(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Json<ResetResponse>> {
    let row = Views::new(state.rt.store())
        .row(&id, q.run.as_deref())
        .await?;
    let from = row.instance;
    let new = state
        .rt
        .reset(ResetRequest {
            instance: from.clone(),
            to_event: body.to_event,
            reason: body.reason,
            reapply_signals: body.reapply_signals,
        })
        .await?;
    Ok(Json(ResetResponse {
        id: new.id.as_str().to_string(),
        run: new.run.as_str().to_string(),
        from_run: from.run.as_str().to_string(),
        to_event: body.to_event,
    }))
}
