//! `/api/v1/schedules` (timer start events and cron sources: list, pause,
//! resume, trigger now), `/api/v1/dedup` (dedup keys: holder, waiting) and
//! `/api/v1/incidents` (every open incident).

use crate::api::{Done, json_of};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use windlass_store_api::InstanceQuery;
use windlass_views::{Cursor, DedupKeyView, IncidentSummary, Page, PageRequest, Views};

/// A schedule.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    /// `{processId}/{startEventId}`, or `{processId}/cron/{message}`.
    pub id: String,
    /// The process it starts.
    pub process_id: String,
    /// The timer start event (none for a cron source).
    pub start_event: Option<String>,
    /// The message it publishes (a cron source).
    pub message: Option<String>,
    /// When it fires, as written.
    pub timing: String,
    /// Its overlap policy.
    #[schema(value_type = String)]
    pub overlap: Value,
    /// Paused: it does not fire until resumed.
    pub paused: bool,
    /// When it fires next (RFC 3339; none: never again).
    pub next_fire_at: Option<String>,
    /// The scheduled time of its last fire.
    pub last_fire_at: Option<String>,
    /// Fires waiting for the running instance to finish.
    pub buffered: usize,
    /// Occurrences skipped since the server started.
    pub skipped: u64,
}

/// Lists every schedule.
#[utoipa::path(
    get,
    path = "/api/v1/schedules",
    tag = "schedules",
    responses((status = 200, description = "Every schedule", body = Vec<ScheduleView>)),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ScheduleView>>> {
    let iso = |t: windlass_types::Timestamp| windlass_views::time::iso(t.0);
    let out = state
        .rt
        .schedules()
        .await?
        .into_iter()
        .map(|s| ScheduleView {
            id: s.id,
            process_id: s.process_id,
            start_event: s.start_event,
            message: s.message,
            timing: s.timing,
            overlap: json_of(&s.overlap),
            paused: s.paused,
            next_fire_at: s.next_fire_at.map(iso),
            last_fire_at: s.last_fire_at.map(iso),
            buffered: s.buffered,
            skipped: s.skipped,
        })
        .collect();
    Ok(Json(out))
}

macro_rules! schedule_op {
    ($name:ident, $path:literal, $doc:literal, $call:ident) => {
        #[doc = $doc]
        #[utoipa::path(
                    post,
                    path = $path,
                    tag = "schedules",
                    params(("id" = String, Path, description = "The schedule id (`/` as `%2F`)")),
                    responses(
                        (status = 200, description = "Committed", body = Done),
                        (status = 404, description = "No such schedule", body = ErrorBody),
                    ),
                    security(("bearer" = []))
                )]
        pub async fn $name(
            State(state): State<AppState>,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<Done>> {
            state.rt.$call(&id).await?;
            Ok(Json(Done::ok()))
        }
    };
}

schedule_op!(
    pause,
    "/api/v1/schedules/{id}/pause",
    "Pauses a schedule.",
    pause_schedule
);
schedule_op!(
    resume,
    "/api/v1/schedules/{id}/resume",
    "Resumes a paused schedule.",
    unpause_schedule
);
schedule_op!(
    trigger,
    "/api/v1/schedules/{id}/trigger",
    "Fires a schedule now (its overlap policy applies).",
    trigger_schedule
);

/// The dedup key filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DedupQuery {
    /// Only keys this instance id holds or waits for (any run).
    pub instance: Option<String>,
}

/// Lists every dedup key in use (or those of one instance).
#[utoipa::path(
    get,
    path = "/api/v1/dedup",
    tag = "schedules",
    params(DedupQuery),
    responses((status = 200, description = "Every dedup key held or waited for", body = Vec<DedupKeyView>)),
    security(("bearer" = []))
)]
pub async fn dedup(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DedupQuery>,
) -> ApiResult<Json<Vec<DedupKeyView>>> {
    let mut keys = Views::new(state.rt.store()).dedup_keys().await?;
    if let Some(id) = q.instance {
        // Holders are named `id/run`: an id matches every run of it.
        let of = |who: &Option<String>| {
            who.as_deref()
                .and_then(|w| w.rsplit_once('/'))
                .is_some_and(|(i, _)| i == id)
        };
        keys.retain(|k| of(&k.holder) || of(&k.waiting));
    }
    Ok(Json(keys))
}

/// The page of an incident listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentsQuery {
    /// The `next` cursor of the previous page (pages over instances).
    pub after: Option<String>,
    /// At most this many instances (default 100).
    pub limit: Option<usize>,
}

/// Every open incident, with its instance.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "instances",
    params(IncidentsQuery),
    responses((status = 200, description = "One page", body = Page<IncidentSummary>)),
    security(("bearer" = []))
)]
pub async fn incidents(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<IncidentsQuery>,
) -> ApiResult<Json<Page<IncidentSummary>>> {
    let page = PageRequest {
        after: q.after.as_deref().map(Cursor::parse).transpose()?,
        limit: Some(q.limit.unwrap_or(crate::api::instances::DEFAULT_PAGE)),
    };
    let views = Views::new(state.rt.store());
    Ok(Json(
        views.incidents(&InstanceQuery::default(), &page).await?,
    ))
}
