//! `/api/v1/instances`: start, list (filters, keyset paging), read one
//! instance's state and its history. Reads go through `windlass_views`, the
//! read model `windlass instances` uses offline, so the two never disagree.

use crate::api::parse_time;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use windlass_runtime::{OnConflict, StartRequest};
use windlass_store_api::{InstanceQuery, InstanceStatus};
use windlass_types::Vars;
use windlass_views::{
    Cursor, HistoryView, InstanceSummary, InstanceView, Page, PageRequest, Views,
};

/// The page size when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;

/// What a start does when the instance id already has a live run.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnConflictMode {
    /// Refuse with 409 `instance_exists` (the default).
    #[default]
    Reject,
    /// Start nothing; answer with the live run.
    UseExisting,
    /// Terminate the live run and start a new one, in one commit.
    TerminateExisting,
}

/// How long a start waits before it answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum WaitMode {
    /// Answer once the start is committed (201).
    #[default]
    None,
    /// Answer once the instance has finished or waits for the outside world
    /// (a job, a message, a timer, a person), with its status (200).
    Settled,
}

/// A start.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartBody {
    /// The process id (its latest version) or a definition key (that version).
    pub process_id: String,
    /// Input variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
    /// The instance id (default: the process's `windlass:instanceId`
    /// template, else a generated UUIDv7).
    pub instance_id: Option<String>,
    /// A business key for look-ups.
    pub business_key: Option<String>,
    /// What to do when the id already has a live run.
    #[serde(default)]
    pub on_conflict: OnConflictMode,
    /// The id of the top-level start event to start at.
    pub start_event: Option<String>,
    /// How long to wait before answering.
    #[serde(default)]
    pub wait: WaitMode,
}

/// A started (or, with `useExisting`, found) instance run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartResponse {
    /// The instance id.
    pub id: String,
    /// The run id.
    pub run: String,
    /// With `wait: settled`: its status then.
    pub status: Option<&'static str>,
    /// With `wait: settled`: its process variables then (secret names masked).
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Vars>,
    /// With `wait: settled`: the messages of its open incidents.
    pub incidents: Vec<String>,
    /// With `wait: settled`: why it failed, when it did.
    pub failure: Option<String>,
}

/// Starts an instance.
#[utoipa::path(
    post,
    path = "/api/v1/instances",
    tag = "instances",
    request_body = StartBody,
    responses(
        (status = 201, description = "Started (committed)", body = StartResponse),
        (status = 200, description = "Started and settled (`wait: settled`), or the live run (`useExisting`)", body = StartResponse),
        (status = 404, description = "No such process", body = ErrorBody),
        (status = 409, description = "The id has a live run (`details` names it)", body = ErrorBody),
        (status = 422, description = "Invalid id, variables or template", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<StartBody>,
) -> ApiResult<(StatusCode, Json<StartResponse>)> {
    let on_conflict = match body.on_conflict {
        OnConflictMode::Reject => OnConflict::Reject,
        OnConflictMode::UseExisting => OnConflict::UseExisting,
        OnConflictMode::TerminateExisting => OnConflict::TerminateExisting,
    };
    let req = StartRequest {
        definition: body.process_id,
        vars: body.variables,
        instance_id: body.instance_id,
        business_key: body.business_key,
        on_conflict,
        start_event: body.start_event,
    };
    let instance = state.rt.start_instance(req).await?;
    let mut answer = StartResponse {
        id: instance.id.as_str().to_string(),
        run: instance.run.as_str().to_string(),
        status: None,
        variables: None,
        incidents: Vec::new(),
        failure: None,
    };
    match body.wait {
        WaitMode::None => Ok((StatusCode::CREATED, Json(answer))),
        WaitMode::Settled => {
            let outcome = state.rt.wait_settled(&instance).await?;
            answer.status = Some(outcome.status.as_str());
            answer.variables = Some(windlass_engine::secret_names::mask_vars(&outcome.variables));
            answer.incidents = outcome.incidents;
            answer.failure = outcome.failure;
            Ok((StatusCode::OK, Json(answer)))
        }
    }
}

/// The filters and page of a listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ListQuery {
    /// Only this status (`running`, `incident`, `completed`, `terminated`,
    /// `cancelled`, `failed`, `superseded`).
    pub status: Option<String>,
    /// Only instances of this process id (any version).
    pub process_id: Option<String>,
    /// Only instances whose id starts with this text.
    pub id_prefix: Option<String>,
    /// Only instances with this business key.
    pub business_key: Option<String>,
    /// Only instances created at or after this time (RFC 3339).
    pub created_from: Option<String>,
    /// Only instances created before this time (RFC 3339).
    pub created_until: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// At most this many (default 100, at most 10000).
    pub limit: Option<usize>,
}

/// The status named `text`.
pub(crate) fn parse_status(text: &str) -> ApiResult<InstanceStatus> {
    InstanceStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = InstanceStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(format!(
                "unknown status '{text}' (one of: {})",
                names.join(", ")
            ))
        })
}

/// Lists instances, oldest first, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/instances",
    tag = "instances",
    params(ListQuery),
    responses(
        (status = 200, description = "One page; `next` is the cursor of the next", body = Page<InstanceSummary>),
        (status = 400, description = "A malformed filter or cursor", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<InstanceSummary>>> {
    let filter = InstanceQuery {
        status: q.status.as_deref().map(parse_status).transpose()?,
        definition_prefix: q.process_id.map(|p| format!("{p}:")),
        id_prefix: q.id_prefix,
        business_key: q.business_key,
        created_from: q
            .created_from
            .as_deref()
            .map(|t| parse_time("createdFrom", t))
            .transpose()?,
        created_until: q
            .created_until
            .as_deref()
            .map(|t| parse_time("createdUntil", t))
            .transpose()?,
        ..InstanceQuery::default()
    };
    let page = PageRequest {
        after: q.after.as_deref().map(Cursor::parse).transpose()?,
        limit: Some(q.limit.unwrap_or(DEFAULT_PAGE)),
    };
    Ok(Json(
        Views::new(state.rt.store()).list(&filter, &page).await?,
    ))
}

/// Which run of an instance.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// A run id (default: the latest run).
    pub run: Option<String>,
}

/// One instance run: status, tokens and where each waits, open jobs,
/// incidents, variables.
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}",
    tag = "instances",
    params(("id" = String, Path, description = "The instance id (`/` as `%2F`)"), RunQuery),
    responses(
        (status = 200, description = "The instance run", body = InstanceView),
        (status = 404, description = "No such instance", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<InstanceView>> {
    Ok(Json(
        Views::new(state.rt.store())
            .instance(&id, q.run.as_deref())
            .await?,
    ))
}

/// Which events of a history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// A run id (default: the latest run).
    pub run: Option<String>,
    /// Events after this sequence number (the `nextAfter` of the previous
    /// page; default 0: from the first).
    #[serde(default)]
    pub after: u64,
    /// At most this many events (default 1000, at most 10000).
    pub limit: Option<usize>,
}

/// One page of an instance run's history: time, event type, token, node and
/// the line `windlass instances history` prints.
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}/history",
    tag = "instances",
    params(("id" = String, Path, description = "The instance id (`/` as `%2F`)"), HistoryQuery),
    responses(
        (status = 200, description = "One page of events; `next_after` continues", body = HistoryView),
        (status = 404, description = "No such instance", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HistoryView>> {
    let views = Views::new(state.rt.store());
    let limit = q.limit.unwrap_or(1000);
    Ok(Json(
        views
            .history_page(&id, q.run.as_deref(), q.after, limit)
            .await?,
    ))
}
