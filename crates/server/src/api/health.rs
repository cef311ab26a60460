//! The probes, outside the token: `/healthz` (the process answers) and
//! `/readyz` (the store is open, recovery is done, the runtime takes
//! work).

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

/// A probe's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or what is wrong.
    pub status: String,
}

/// Alive: the server answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Ready: the store is open and recovered, and the runtime takes work.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready (the runtime has stopped)", body = Health),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    // The runtime exists only once recovery has finished (`Runtime::start`
    // recovers before it returns), and the server is started after it. A
    // failed commit does not make the server unready: the next one may
    // succeed, and the failure is in the logs and the answers it caused.
    if state.rt.is_stopped() {
        let status = "the runtime has stopped".to_string();
        return (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status }));
    }
    (
        StatusCode::OK,
        Json(Health {
            status: "ok".into(),
        }),
    )
}
