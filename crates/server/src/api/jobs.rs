//! `/api/v1/jobs/…`: asynchronous completion of jobs by their key
//! (`{instance}/{run}/{node}/{token}/{attempt}`, `WINDLASS_JOB_KEY` of a
//! shell job, `Job::key` of a handler). The key travels in the body, since
//! it holds `/`.

use crate::api::Done;
use crate::board::Beat;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use windlass_engine::event::JobFailure;
use windlass_runtime::parse_job_key;
use windlass_types::Vars;

/// A job's completion.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteBody {
    /// The job key.
    pub job_key: String,
    /// Its output variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
}

/// A job's failure.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailBody {
    /// The job key.
    pub job_key: String,
    /// What happened.
    pub message: String,
    /// A BPMN error code: the failure is a BPMN error, caught by error
    /// boundary events (no retries).
    pub error_code: Option<String>,
    /// For technical failures: whether another attempt may succeed
    /// (default true: retried with backoff, then an incident).
    #[serde(default = "yes")]
    pub retryable: bool,
}

fn yes() -> bool {
    true
}

/// A heartbeat.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatBody {
    /// The job key.
    pub job_key: String,
    /// For an activated job: the new lease from now, ms (default: the
    /// length it was activated with; at most one hour).
    pub lock_millis: Option<u64>,
}

fn instance_of(key: &str) -> ApiResult<windlass_store_api::InstanceRef> {
    Ok(parse_job_key(key)?.0)
}

/// Completes an open job.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/complete",
    tag = "jobs",
    request_body = CompleteBody,
    responses(
        (status = 200, description = "Committed", body = Done),
        (status = 400, description = "Malformed job key", body = ErrorBody),
        (status = 409, description = "The job is not open", body = ErrorBody),
        (status = 422, description = "Outputs over the value limit (the attempt is recorded as failed)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn complete(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CompleteBody>,
) -> ApiResult<Json<Done>> {
    let instance = instance_of(&body.job_key)?;
    let r = state.rt.complete_job(&body.job_key, body.variables).await;
    // Answered, or not open any more: off the board either way.
    state.board.remove(&body.job_key);
    r?;
    Ok(Json(Done::of(&instance)))
}

/// Fails an attempt of an open job.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/fail",
    tag = "jobs",
    request_body = FailBody,
    responses(
        (status = 200, description = "Committed", body = Done),
        (status = 400, description = "Malformed job key", body = ErrorBody),
        (status = 409, description = "The job is not open", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn fail(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FailBody>,
) -> ApiResult<Json<Done>> {
    let instance = instance_of(&body.job_key)?;
    let failure = match body.error_code {
        Some(code) => JobFailure::Bpmn {
            code,
            message: Some(body.message),
        },
        None => JobFailure::Technical {
            message: body.message,
            retryable: body.retryable,
        },
    };
    let r = state.rt.fail_job(&body.job_key, failure).await;
    state.board.remove(&body.job_key);
    r?;
    Ok(Json(Done::of(&instance)))
}

/// A sign of life from the worker of an open job: its timeout starts
/// again, and an activated job's lease is extended.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/heartbeat",
    tag = "jobs",
    request_body = HeartbeatBody,
    responses(
        (status = 200, description = "Noted", body = Done),
        (status = 400, description = "Malformed job key", body = ErrorBody),
        (status = 404, description = "The job is not open (answered, cancelled, or its lease ran out): stop working on it", body = ErrorBody),
        (status = 422, description = "lockMillis out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<HeartbeatBody>,
) -> ApiResult<Json<Done>> {
    let instance = instance_of(&body.job_key)?;
    let lock = body.lock_millis.map(std::time::Duration::from_millis);
    if lock.is_some_and(|l| l.is_zero() || l > crate::board::MAX_LOCK) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_activation",
            format!(
                "lockMillis: must be 1 to {}",
                crate::board::MAX_LOCK.as_millis()
            ),
        ));
    }
    if state.board.heartbeat(&body.job_key, lock) == Beat::Cancelled {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "job_not_open",
            format!("job {} was cancelled: stop working on it", body.job_key),
        ));
    }
    state.rt.heartbeat(&body.job_key).await?;
    Ok(Json(Done::of(&instance)))
}
