//! `POST /api/v1/jobs/activate`: remote workers fetch jobs by kind and
//! lock them (see [`crate::board`]); on a node, the other nodes' jobs too
//! (see [`crate::peers`]).

use crate::board::{ActivatedJob, MAX_JOBS, MAX_LOCK, MAX_WAIT};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a worker asks for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivateBody {
    /// The kinds it works on (`windlass:task kind`), by preference.
    pub kinds: Vec<String>,
    /// Who it is (in logs, and in the failure of a lease that runs out).
    pub worker_id: String,
    /// At most this many jobs (default 1, at most 1000).
    #[serde(default = "one")]
    pub max_jobs: usize,
    /// The lease, ms (default 60000, at most one hour): a job not
    /// answered or heartbeaten by then fails its attempt.
    #[serde(default = "minute")]
    pub lock_millis: u64,
    /// When no job is waiting, wait this long for one, ms (default 0, at
    /// most 60000): long polling.
    #[serde(default)]
    pub wait_millis: u64,
}

fn one() -> usize {
    1
}

fn minute() -> u64 {
    60_000
}

/// The jobs handed out (possibly none).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivateResponse {
    /// The jobs, each locked for the worker.
    pub jobs: Vec<ActivatedJob>,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_activation",
        message,
    )
}

/// Fetches and locks up to `maxJobs` jobs of the given kinds, waiting up to
/// `waitMillis` when none is waiting. Each job is the worker's until its
/// lease (`lockMillis`) runs out: answer it with `/api/v1/jobs/complete`
/// or `/api/v1/jobs/fail`, extend the lease with
/// `/api/v1/jobs/heartbeat`. A lease that runs out fails the attempt
/// (retried with backoff, then an incident).
#[utoipa::path(
    post,
    path = "/api/v1/jobs/activate",
    tag = "jobs",
    request_body = ActivateBody,
    responses(
        (status = 200, description = "The jobs handed out (possibly none)", body = ActivateResponse),
        (status = 422, description = "No kinds, an empty worker id, or a number out of range (`invalid_activation`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn activate(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ActivateBody>,
) -> ApiResult<Json<ActivateResponse>> {
    if body.kinds.is_empty() || body.kinds.iter().any(String::is_empty) {
        return Err(invalid("kinds: give at least one kind, none empty".into()));
    }
    if body.worker_id.trim().is_empty() {
        return Err(invalid("workerId: must not be empty".into()));
    }
    if body.max_jobs == 0 || body.max_jobs > MAX_JOBS {
        return Err(invalid(format!("maxJobs: must be 1 to {MAX_JOBS}")));
    }
    let lock = Duration::from_millis(body.lock_millis);
    if lock.is_zero() || lock > MAX_LOCK {
        return Err(invalid(format!(
            "lockMillis: must be 1 to {}",
            MAX_LOCK.as_millis()
        )));
    }
    let wait = Duration::from_millis(body.wait_millis);
    if wait > MAX_WAIT {
        return Err(invalid(format!(
            "waitMillis: must be at most {}",
            MAX_WAIT.as_millis()
        )));
    }
    let forwarded = headers.contains_key(crate::standby::FORWARDED_HEADER);
    let jobs = match &state.peers {
        Some(peers) if !forwarded => across_nodes(&state, peers, &headers, &body, lock, wait).await,
        _ => {
            state
                .board
                .activate(&body.kinds, &body.worker_id, body.max_jobs, lock, wait)
                .await
        }
    };
    for j in &jobs {
        tracing::debug!(job_key = %j.job_key, worker = %body.worker_id, "activated");
    }
    Ok(Json(ActivateResponse { jobs }))
}

/// An activation on a node: this node's jobs, then the other nodes'; when
/// there are none, a wait on this node's board in slices, asking the other
/// nodes again between them, until `wait` has passed.
async fn across_nodes(
    state: &AppState,
    peers: &crate::peers::Peers,
    headers: &HeaderMap,
    body: &ActivateBody,
    lock: Duration,
    wait: Duration,
) -> Vec<ActivatedJob> {
    let ask = crate::peers::Ask {
        kinds: &body.kinds,
        worker_id: &body.worker_id,
        lock_millis: body.lock_millis,
    };
    let deadline = tokio::time::Instant::now() + wait;
    let mut slice = Duration::ZERO;
    loop {
        let mut jobs = state
            .board
            .activate(&body.kinds, &body.worker_id, body.max_jobs, lock, slice)
            .await;
        if jobs.len() < body.max_jobs {
            let more = peers
                .activate(headers, &ask, body.max_jobs - jobs.len())
                .await;
            jobs.extend(more);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !jobs.is_empty() || left.is_zero() {
            return jobs;
        }
        slice = left.min(crate::peers::SLICE);
    }
}
