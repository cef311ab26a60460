//! Operations on one instance run (`/api/v1/instances/{id}/…`): signal,
//! cancel, terminate, suspend, resume, and incident retry / skip. Each
//! answers once its command is committed. Without `?run=` they act on the
//! instance id's latest run.

use crate::api::{Done, RunQuery};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use windlass_engine::IncidentAction;
use windlass_engine::ids::IncidentId;
use windlass_store_api::InstanceRef;
use windlass_types::Vars;
use windlass_views::Views;

/// The run `run` of instance `id`, or its latest, which must not have
/// finished (409 `instance_finished` naming its status otherwise).
pub(crate) async fn run_of(
    state: &AppState,
    id: &str,
    run: Option<&str>,
) -> ApiResult<InstanceRef> {
    let row = Views::new(state.rt.store()).row(id, run).await?;
    if row.status.is_finished() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "instance_finished",
            format!(
                "instance {} has finished ({})",
                row.instance,
                row.status.as_str()
            ),
        )
        .with_details(serde_json::json!({
            "id": row.instance.id.as_str(),
            "run": row.instance.run.as_str(),
            "status": row.status.as_str(),
        })));
    }
    Ok(row.instance)
}

/// A signal to one instance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalBody {
    /// The signal name.
    pub name: String,
    /// Its variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
}

/// A reason, for the history.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (recorded in the history).
    #[serde(default)]
    pub reason: String,
}

/// Variables to complete a skipped job with.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkipBody {
    /// The job's output variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
}

/// Sends a signal to one instance: its first open subscription for the name
/// takes it, else the instance keeps it until one opens.
#[utoipa::path(
    post,
    path = "/api/v1/instances/{id}/signal",
    tag = "control",
    params(("id" = String, Path, description = "The instance id"), RunQuery),
    request_body = SignalBody,
    responses(
        (status = 200, description = "Committed", body = Done),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has finished (`instance_finished`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn signal(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
    ApiJson(body): ApiJson<SignalBody>,
) -> ApiResult<Json<Done>> {
    let instance = run_of(&state, &id, q.run.as_deref()).await?;
    state
        .rt
        .signal(&instance, &body.name, body.variables)
        .await?;
    Ok(Json(Done::of(&instance)))
}

macro_rules! reason_op {
    ($name:ident, $path:literal, $doc:literal, $call:ident) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            tag = "control",
            params(("id" = String, Path, description = "The instance id"), RunQuery),
            request_body(content = Option<ReasonBody>, description = "Optional"),
            responses(
                (status = 200, description = "Committed", body = Done),
                (status = 404, description = "No such instance", body = ErrorBody),
                (status = 409, description = "The instance has finished (`instance_finished`) or refuses it in its state (`rejected`)", body = ErrorBody),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            ApiPath(id): ApiPath<String>,
            ApiQuery(q): ApiQuery<RunQuery>,
            OptionalJson(body): OptionalJson<ReasonBody>,
        ) -> ApiResult<Json<Done>> {
            let instance = run_of(&state, &id, q.run.as_deref()).await?;
            let reason = body.map(|b| b.reason).unwrap_or_default();
            state.rt.$call(&instance, &reason).await?;
            Ok(Json(Done::of(&instance)))
        }
    };
}

reason_op!(
    cancel,
    "/api/v1/instances/{id}/cancel",
    "Cancels an instance: handlers of `windlass:cancelled` run as cleanup, the rest stops.",
    cancel
);
reason_op!(
    terminate,
    "/api/v1/instances/{id}/terminate",
    "Terminates an instance at once: no handler runs.",
    terminate
);
reason_op!(
    suspend,
    "/api/v1/instances/{id}/suspend",
    "Suspends an instance: nothing of it is dispatched and its timers wait until it is resumed.",
    suspend
);

/// Resumes a suspended instance.
#[utoipa::path(
    post,
    path = "/api/v1/instances/{id}/resume",
    tag = "control",
    params(("id" = String, Path, description = "The instance id"), RunQuery),
    responses(
        (status = 200, description = "Committed", body = Done),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has finished, or is not suspended", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn resume(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<Done>> {
    let instance = run_of(&state, &id, q.run.as_deref()).await?;
    state.rt.resume(&instance).await?;
    Ok(Json(Done::of(&instance)))
}

/// Retries an open incident: the failed work runs again.
#[utoipa::path(
    post,
    path = "/api/v1/instances/{id}/incidents/{incident}/retry",
    tag = "control",
    params(
        ("id" = String, Path, description = "The instance id"),
        ("incident" = u32, Path, description = "The incident id"),
        RunQuery
    ),
    responses(
        (status = 200, description = "Committed", body = Done),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has finished, or no such incident is open", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retry(
    State(state): State<AppState>,
    ApiPath((id, incident)): ApiPath<(String, u32)>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> ApiResult<Json<Done>> {
    let instance = run_of(&state, &id, q.run.as_deref()).await?;
    state
        .rt
        .resolve_incident(&instance, IncidentId(incident), IncidentAction::Retry)
        .await?;
    Ok(Json(Done::of(&instance)))
}

/// Skips an open incident: the work counts as done with these variables.
#[utoipa::path(
    post,
    path = "/api/v1/instances/{id}/incidents/{incident}/skip",
    tag = "control",
    params(
        ("id" = String, Path, description = "The instance id"),
        ("incident" = u32, Path, description = "The incident id"),
        RunQuery
    ),
    request_body(content = Option<SkipBody>, description = "Optional"),
    responses(
        (status = 200, description = "Committed", body = Done),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has finished, or no such incident is open", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn skip(
    State(state): State<AppState>,
    ApiPath((id, incident)): ApiPath<(String, u32)>,
    ApiQuery(q): ApiQuery<RunQuery>,
    OptionalJson(body): OptionalJson<SkipBody>,
) -> ApiResult<Json<Done>> {
    let instance = run_of(&state, &id, q.run.as_deref()).await?;
    let vars = body.map(|b| b.variables).unwrap_or_default();
    windlass_types::limits::check_vars(&vars).map_err(windlass_runtime::RuntimeError::from)?;
    state
        .rt
        .resolve_incident(&instance, IncidentId(incident), IncidentAction::Skip(vars))
        .await?;
    Ok(Json(Done::of(&instance)))
}
