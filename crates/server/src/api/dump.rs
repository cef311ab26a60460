//! `GET /api/v1/dump`: the whole live state (`windlass_views::dump`) plus
//! the runtime's levels — what `windlass dump` prints and what SIGUSR1
//! makes `windlass server` write to its log.

use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::{AppState, ServerStore};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use windlass_runtime::RuntimeHandle;
use windlass_views::{DumpView, Views};

/// The runtime's side of a dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeLevels {
    /// Per shard: inputs waiting in its intake.
    pub intake_queues: Vec<usize>,
    /// Timers armed in the shards' heaps.
    pub timers_armed: u64,
    /// Timers fired since the start.
    pub timers_fired: u64,
    /// Messages the correlator holds buffered.
    pub messages_buffered: u64,
    /// Group commits since the start.
    pub commits: u64,
    /// Time spent in them, seconds.
    pub commit_seconds: f64,
    /// The last failed commit's error, if a commit failed since the start.
    pub last_commit_failure: Option<String>,
}

/// A dump: the live state, and the runtime's levels when taken from a
/// running server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerDump {
    /// The live state.
    #[serde(flatten)]
    pub state: DumpView,
    /// The runtime's levels (`None` when read from a database file).
    pub runtime: Option<RuntimeLevels>,
}

/// The dump of a running runtime, with at most `limit` instances.
pub async fn take(rt: &RuntimeHandle<ServerStore>, limit: usize) -> ApiResult<ServerDump> {
    let now = rt.now();
    let state = Views::new(rt.store()).dump(now, limit).await?;
    let levels = rt.levels();
    let timers = rt.timer_stats();
    let commits = rt.commit_stats();
    Ok(ServerDump {
        state,
        runtime: Some(RuntimeLevels {
            intake_queues: levels.intake,
            timers_armed: levels.timers_armed,
            timers_fired: timers.fired,
            messages_buffered: levels.messages_buffered,
            commits: commits.commits,
            commit_seconds: commits.time.as_secs_f64(),
            last_commit_failure: rt.storage_failed().map(|e| e.to_string()),
        }),
    })
}

/// The dump's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DumpQuery {
    /// At most this many unfinished instances (default 1000).
    pub limit: Option<usize>,
}

/// Everything live now: unfinished instances with their tokens and waits,
/// jobs in flight, timers, buffered messages and signals, dedup keys,
/// incidents, and the runtime's queues.
#[utoipa::path(
    get,
    path = "/api/v1/dump",
    tag = "instances",
    params(DumpQuery),
    responses((status = 200, description = "The live state", body = ServerDump)),
    security(("bearer" = []))
)]
pub async fn dump(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DumpQuery>,
) -> ApiResult<Json<ServerDump>> {
    Ok(Json(take(&state.rt, q.limit.unwrap_or(1000)).await?))
}
