//! `GET /api/v1/messages`: the messages buffered because nothing waited for
//! them when they were published (not consumed, not expired), optionally
//! only those of one name or correlation key. The web UI's instance page
//! shows those named as the instance's message subscriptions: a message
//! buffered under another key is the usual reason a wait never ends.

use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use windlass_views::{BufferedMessageView, Views};

/// The buffered message filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct BufferedQuery {
    /// Only messages of this name.
    pub name: Option<String>,
    /// Only messages with this correlation key.
    pub correlation_key: Option<String>,
}

/// Lists the buffered messages, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/messages",
    tag = "events",
    params(BufferedQuery),
    responses((status = 200, description = "Buffered messages, oldest first", body = Vec<BufferedMessageView>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BufferedQuery>,
) -> ApiResult<Json<Vec<BufferedMessageView>>> {
    let mut messages = Views::new(state.rt.store())
        .buffered_messages(state.rt.now())
        .await?;
    messages.retain(|m| {
        q.name.as_ref().is_none_or(|n| *n == m.name)
            && q.correlation_key
                .as_ref()
                .is_none_or(|k| *k == m.correlation_key)
    });
    Ok(Json(messages))
}
