//! The routes: every one registered together with its OpenAPI
//! documentation (`utoipa_axum::routes!`), so the document served at
//! `/api/openapi.json` lists exactly the routes that exist.

pub mod buffered;
pub mod control;
pub mod definitions;
pub mod dump;
pub mod events;
pub mod health;
pub mod instances;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod reset;
pub mod schedules;
pub mod statistics;
pub mod workers;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::OpenApi as _;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use windlass_store_api::InstanceRef;
use windlass_types::Timestamp;

/// The document's frame; the paths come from the routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Windlass API",
        description = "The REST API of `windlass server`. Every route under /api needs `Authorization: Bearer <token>`. Errors are JSON `{code, message, details}`.",
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answer of an operation that has nothing more to say than which
/// instance run it acted on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Done {
    /// The instance id, if the operation was about one.
    pub id: Option<String>,
    /// The run id, if the operation was about one.
    pub run: Option<String>,
}

impl Done {
    /// Done with `instance`.
    pub fn of(instance: &InstanceRef) -> Self {
        Self {
            id: Some(instance.id.as_str().to_string()),
            run: Some(instance.run.as_str().to_string()),
        }
    }

    /// Done, about no instance.
    pub fn ok() -> Self {
        Self {
            id: None,
            run: None,
        }
    }
}

/// Which run of an instance an operation acts on.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// A run id (default: the latest run).
    pub run: Option<String>,
}

/// `value` as JSON (`Null` if it cannot be: never for the plain types used).
pub(crate) fn json_of<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// An RFC 3339 time of query parameter `name`.
pub(crate) fn parse_time(name: &str, text: &str) -> ApiResult<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|e| {
            ApiError::bad_request(format!(
                "{name}: '{text}' is not an RFC 3339 time (e.g. 2026-12-06T10:00:00Z): {e}"
            ))
        })
}

/// Every API route with its documentation, before the layers.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(definitions::deploy, definitions::list))
        .routes(routes!(definitions::get))
        .routes(routes!(definitions::xml))
        .routes(routes!(statistics::statistics))
        .routes(routes!(instances::start, instances::list))
        .routes(routes!(instances::get))
        .routes(routes!(instances::history))
        .routes(routes!(live::events))
        .routes(routes!(control::signal))
        .routes(routes!(control::cancel))
        .routes(routes!(control::terminate))
        .routes(routes!(control::suspend))
        .routes(routes!(control::resume))
        .routes(routes!(reset::reset))
        .routes(routes!(control::retry))
        .routes(routes!(control::skip))
        .routes(routes!(events::publish, buffered::list))
        .routes(routes!(events::broadcast))
        .routes(routes!(events::signal_with_start))
        .routes(routes!(jobs::complete))
        .routes(routes!(jobs::fail))
        .routes(routes!(jobs::heartbeat))
        .routes(routes!(workers::activate))
        .routes(routes!(schedules::list))
        .routes(routes!(schedules::pause))
        .routes(routes!(schedules::resume))
        .routes(routes!(schedules::trigger))
        .routes(routes!(schedules::dedup))
        .routes(routes!(schedules::incidents))
        .routes(routes!(dump::dump))
}

/// The OpenAPI document of every route (the probes included).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = documented().split_for_parts();
    let (_, probes) = probes().split_for_parts();
    api.merge(probes);
    api
}

fn probes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}

/// The whole application: the API behind the token (and the idempotency
/// layer), the OpenAPI document (also behind the token), the probes
/// outside it, JSON 404s for unknown paths.
pub fn router(state: AppState) -> Router {
    let doc = openapi();
    let (api, _) = documented().split_for_parts();
    let api = api
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { Json(doc) }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotent,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_token,
        ));
    // Outside the token check: a call refused here for its token is not
    // forwarded; one the runtime sends elsewhere is (`crate::forward`).
    let api = match state.forward.clone() {
        Some(forward) => api.layer(axum::middleware::from_fn_with_state(
            forward,
            crate::forward::to_owner,
        )),
        None => api,
    };
    let (probes, _) = probes().split_for_parts();
    Router::new()
        .merge(api)
        .merge(probes)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route (see /api/openapi.json)",
            )
            .into_response()
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method (see /api/openapi.json)",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(axum::middleware::from_fn(crate::request_log::log_request))
        .with_state(state)
}
