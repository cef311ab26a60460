//! Events from outside (`/api/v1/messages`, `/api/v1/signals`,
//! `/api/v1/signal-with-start`): publish a message, broadcast a signal,
//! signal an instance or start it.

use crate::api::Done;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use windlass_runtime::{Message, PublishOutcome, StartRequest};
use windlass_types::Vars;

/// A message to publish.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageBody {
    /// The message name.
    pub name: String,
    /// The correlation key, if any.
    pub correlation_key: Option<String>,
    /// An id that makes publishing idempotent (a repeat within the
    /// retention is a `duplicate`).
    pub message_id: Option<String>,
    /// Its variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
    /// How long it stays buffered when nothing waits, in ms (default: until
    /// consumed).
    pub ttl_millis: Option<u64>,
}

/// What became of a published message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishResponse {
    /// `correlated`, `buffered`, `started`, `coalesced`, `dropped` or
    /// `duplicate`.
    pub outcome: &'static str,
    /// The instances that took it or were started (`id/run`).
    pub instances: Vec<String>,
    /// Starts held back under a dedup key (`id/run` they will get).
    pub queued: Vec<String>,
}

fn refs(list: &[windlass_store_api::InstanceRef]) -> Vec<String> {
    list.iter()
        .map(|r| format!("{}/{}", r.id.as_str(), r.run.as_str()))
        .collect()
}

/// Publishes a message: a waiting subscription takes it, else message start
/// events start instances, else it is buffered.
#[utoipa::path(
    post,
    path = "/api/v1/messages",
    tag = "events",
    request_body = MessageBody,
    responses(
        (status = 200, description = "Committed", body = PublishResponse),
        (status = 422, description = "Malformed message or over the value limit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<Json<PublishResponse>> {
    let message = Message {
        name: body.name,
        correlation_key: body.correlation_key,
        message_id: body.message_id,
        vars: body.variables,
        ttl_millis: body.ttl_millis,
    };
    let answer = match state.rt.publish(message).await? {
        PublishOutcome::Correlated { instance } => ("correlated", refs(&[instance]), Vec::new()),
        PublishOutcome::Buffered => ("buffered", Vec::new(), Vec::new()),
        PublishOutcome::Started { instances } => ("started", refs(&instances), Vec::new()),
        PublishOutcome::Coalesced { started, queued } => {
            ("coalesced", refs(&started), refs(&queued))
        }
        PublishOutcome::Dropped => ("dropped", Vec::new(), Vec::new()),
        PublishOutcome::Duplicate => ("duplicate", Vec::new(), Vec::new()),
    };
    Ok(Json(PublishResponse {
        outcome: answer.0,
        instances: answer.1,
        queued: answer.2,
    }))
}

/// A signal to broadcast.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastBody {
    /// The signal name.
    pub name: String,
    /// Its variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
}

/// How many instances took a broadcast signal or were started by it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastResponse {
    /// Instances that took it or were started. On a node serving some
    /// partitions (`--node`): the instances started only, as the waiting
    /// instances take it moments later from its per-partition rows.
    pub delivered: usize,
}

/// Broadcasts a BPMN signal: every open subscription for it in every live
/// instance takes it, and every process with a signal start event for it
/// starts an instance.
#[utoipa::path(
    post,
    path = "/api/v1/signals",
    tag = "events",
    request_body = BroadcastBody,
    responses(
        (status = 200, description = "Committed on every shard (on a node: committed for every partition)", body = BroadcastResponse),
        (status = 422, description = "Over the value limit (on a node: 64 KiB of variables)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn broadcast(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BroadcastBody>,
) -> ApiResult<Json<BroadcastResponse>> {
    let delivered = state.rt.broadcast(&body.name, body.variables).await?;
    Ok(Json(BroadcastResponse { delivered }))
}

/// Signal-with-start.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignalWithStartBody {
    /// The process id (latest version) or definition key to start.
    pub process_id: String,
    /// The instance id to signal or start (default: the process's
    /// `windlass:instanceId` template rendered from `variables`).
    pub instance_id: Option<String>,
    /// The start variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Vars,
    /// The signal name.
    pub signal: String,
    /// The signal's variables.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub signal_variables: Vars,
}

/// Signals the live run of an instance id, or starts it and signals it in
/// the same commit (Temporal's SignalWithStart).
#[utoipa::path(
    post,
    path = "/api/v1/signal-with-start",
    tag = "events",
    request_body = SignalWithStartBody,
    responses(
        (status = 200, description = "Committed: the signalled run", body = Done),
        (status = 404, description = "No such process", body = ErrorBody),
        (status = 422, description = "Invalid id or variables", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn signal_with_start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignalWithStartBody>,
) -> ApiResult<Json<Done>> {
    let req = StartRequest {
        definition: body.process_id,
        vars: body.variables,
        instance_id: body.instance_id,
        ..StartRequest::default()
    };
    let instance = state
        .rt
        .signal_with_start(req, &body.signal, body.signal_variables)
        .await?;
    Ok(Json(Done::of(&instance)))
}
