//! [`ApiError`]: every failure of the API as JSON `{code, message, details}`
//! with a stable `code` and the HTTP status that goes with it.
//!
//! Codes are part of the API: clients branch on them, so a code is never
//! renamed or reused. Messages are for people and may change.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use windlass_runtime::RuntimeError;
use windlass_views::ViewError;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code (`not_found`, `invalid_definition`,
    /// `instance_exists`, ...).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// More about it (diagnostics of a refused deployment, the live run of
    /// a clashing start); `null` when there is nothing more.
    #[schema(value_type = Object)]
    pub details: Value,
}

/// An error answer: status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with `status`, `code` and `message` and no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                details: Value::Null,
            },
        }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.body.details = details;
        self
    }

    /// 400 `invalid_request`: the request is malformed (named).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        use RuntimeError as R;
        use StatusCode as S;
        let message = e.to_string();
        let (status, code) = match &e {
            R::Store(_) => (S::SERVICE_UNAVAILABLE, "store_unavailable"),
            R::InvalidDefinition(_) | R::Unrunnable { .. } => {
                (S::UNPROCESSABLE_ENTITY, "invalid_definition")
            }
            R::UnknownDefinition(_) => (S::NOT_FOUND, "definition_not_found"),
            R::UnknownInstance(_) => (S::NOT_FOUND, "instance_not_found"),
            R::InstanceExists(live) => {
                let details = serde_json::json!({
                    "id": live.id.as_str(),
                    "run": live.run.as_str(),
                });
                return Self::new(S::CONFLICT, "instance_exists", message).with_details(details);
            }
            R::UnknownSchedule(_) => (S::NOT_FOUND, "schedule_not_found"),
            R::Schedule { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_schedule"),
            R::ResetRefused { .. }
            | R::Rejected {
                reason: windlass_engine::DecideError::ResetInsideDecision { .. },
                ..
            } => (S::UNPROCESSABLE_ENTITY, "reset_refused"),
            R::Rejected { .. } => (S::CONFLICT, "rejected"),
            R::Corrupt { .. } | R::Unreadable { .. } => (S::INTERNAL_SERVER_ERROR, "corrupt_data"),
            R::ValueLimit(_) | R::Limit(_) | R::BroadcastTooLarge { .. } => {
                (S::UNPROCESSABLE_ENTITY, "over_limit")
            }
            R::BadJobKey(_) => (S::BAD_REQUEST, "invalid_job_key"),
            R::ShuttingDown => (S::SERVICE_UNAVAILABLE, "shutting_down"),
            R::TaskPanicked(_) | R::Io(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
            R::TimedOut(_) => (S::GATEWAY_TIMEOUT, "timed_out"),
            R::ReservedId(_) | R::InstanceIdTemplate { .. } => {
                (S::UNPROCESSABLE_ENTITY, "invalid_instance_id")
            }
            R::DedupKey { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_dedup_key"),
            R::RunOrder { .. } => (S::CONFLICT, "run_order"),
            R::Unsupported(_) | R::Partitioned { .. } => (S::UNPROCESSABLE_ENTITY, "unsupported"),
            // Another node owns the instance or schedule (a server serving
            // some partitions): the client, or a forwarding node, goes there.
            R::NotOwner {
                instance: id,
                partition,
                ..
            }
            | R::ScheduleElsewhere {
                schedule: id,
                partition,
                ..
            } => {
                let what = if matches!(e, R::NotOwner { .. }) {
                    "instance"
                } else {
                    "schedule"
                };
                let details = serde_json::json!({ what: id, "partition": partition });
                return Self::new(S::MISDIRECTED_REQUEST, "not_owner", message)
                    .with_details(details);
            }
            R::JobNotOpen(_) => (S::NOT_FOUND, "job_not_open"),
            R::InvalidMessage(_) => (S::UNPROCESSABLE_ENTITY, "invalid_message"),
        };
        Self::new(status, code, message)
    }
}

impl From<ViewError> for ApiError {
    fn from(e: ViewError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code) = match &e {
            ViewError::Store(_) => (S::SERVICE_UNAVAILABLE, "store_unavailable"),
            ViewError::NotFound { .. } => (S::NOT_FOUND, "instance_not_found"),
            ViewError::BadHistory { .. }
            | ViewError::MissingDefinition(_)
            | ViewError::BadDefinition { .. } => (S::INTERNAL_SERVER_ERROR, "corrupt_data"),
            ViewError::BadCursor(_) => (S::BAD_REQUEST, "invalid_cursor"),
        };
        Self::new(status, code, message)
    }
}

impl From<windlass_store_api::StoreError> for ApiError {
    fn from(e: windlass_store_api::StoreError) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("store error: {e}"),
        )
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use windlass_store_api::InstanceRef;

    #[test]
    fn runtime_errors_get_their_status_and_code() {
        let e = ApiError::from(RuntimeError::UnknownDefinition("p".into()));
        assert_eq!(
            (e.status, e.body.code),
            (StatusCode::NOT_FOUND, "definition_not_found")
        );
        let e = ApiError::from(RuntimeError::InstanceExists(InstanceRef::new("a", "r")));
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(e.body.details["run"], "r");
        let e = ApiError::from(RuntimeError::ShuttingDown);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        // Another node's: 421 naming what and the partition to go to.
        let e = ApiError::from(RuntimeError::NotOwner {
            instance: "o-1".into(),
            partition: 7,
            served: "0-5".into(),
        });
        assert_eq!(
            (e.status, e.body.code),
            (StatusCode::MISDIRECTED_REQUEST, "not_owner")
        );
        assert_eq!(
            e.body.details,
            serde_json::json!({"instance": "o-1", "partition": 7})
        );
        let e = ApiError::from(RuntimeError::ScheduleElsewhere {
            schedule: "p/s".into(),
            partition: 9,
            served: "0-5".into(),
        });
        assert_eq!(e.status, StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(
            e.body.details,
            serde_json::json!({"schedule": "p/s", "partition": 9})
        );
        let e = ApiError::from(ViewError::BadCursor("x".into()));
        assert_eq!(
            (e.status, e.body.code),
            (StatusCode::BAD_REQUEST, "invalid_cursor")
        );
    }
}
