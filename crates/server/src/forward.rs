//! Forwarding to a partition's owner: when several servers write one
//! PostgreSQL database, each serving the instance partitions it owns, a
//! call about an instance elsewhere is answered by the runtime with 421
//! `not_owner` naming the partition. This layer then sends the call, as it
//! came, to the owner's API address ([`OwnerLookup`], read per call) and
//! passes the owner's answer back, so clients and load balancers may call
//! any node.
//!
//! - The request body is kept (up to the body limit) to send it again;
//!   answers stream through untouched unless they are the runtime's 421.
//! - Forwarded calls carry [`FORWARDED_HEADER`]; a node receiving one
//!   answers itself, 421 included, and never forwards again (two nodes with
//!   a stale view of the owners never bounce a call between them).
//! - No owner known for the partition right now (a takeover is under way),
//!   or the owner answers 421 itself (it is giving the partition up):
//!   503 `no_owner` with `Retry-After: 1`; the owner unreachable: 502
//!   `owner_unreachable`, also with `Retry-After: 1`.
//! - The runtime refuses before doing anything, so forwarding never repeats
//!   work done here.
//! - The gRPC worker service forwards its workers' answers about other
//!   nodes' jobs the same way, as REST calls (`Forwarding::at_owner`).

use crate::error::ApiError;
use crate::standby::{FORWARDED_HEADER, copy_headers, relay, try_again};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Finds the API address (`http://host:port`) of the node owning a
/// partition; `None` while nobody live owns it.
pub type OwnerLookup =
    Arc<dyn Fn(u16) -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync>;

/// The largest 421 body read to learn the partition.
const MISDIRECTED_BODY_LIMIT: usize = 64 << 10;

/// What the layer needs.
pub struct Forwarding {
    node: HeaderValue,
    owners: OwnerLookup,
    client: reqwest::Client,
    body_limit: usize,
}

impl std::fmt::Debug for Forwarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarding")
            .field("node", &self.node)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl Forwarding {
    /// Forwarding as node `node` (sent in [`FORWARDED_HEADER`]) to the
    /// owners `owners` finds, keeping request bodies up to `body_limit`.
    pub fn new(
        node: &str,
        owners: OwnerLookup,
        body_limit: usize,
    ) -> Result<Forwarding, crate::ServerError> {
        let node = HeaderValue::from_str(node).unwrap_or_else(|_| HeaderValue::from_static("node"));
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| crate::ServerError::Serve(std::io::Error::other(e)))?;
        Ok(Forwarding {
            node,
            owners,
            client,
            body_limit,
        })
    }
}

/// The layer: answers here, or at the owner when the answer here is the
/// runtime's 421.
pub(crate) async fn to_owner(
    State(f): State<Arc<Forwarding>>,
    request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(FORWARDED_HEADER) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, f.body_limit).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body could not be read: {e}"),
            )
            .into_response();
        }
    };
    let (method, uri, headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    if response.status() != StatusCode::MISDIRECTED_REQUEST {
        return response;
    }
    let (head, body) = response.into_parts();
    let answer = axum::body::to_bytes(body, MISDIRECTED_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let partition = serde_json::from_slice::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["details"]["partition"].as_u64())
        .and_then(|p| u16::try_from(p).ok());
    let Some(partition) = partition else {
        return Response::from_parts(head, Body::from(answer));
    };
    f.at_owner(partition, method, &uri, &headers, bytes).await
}

impl Forwarding {
    /// Sends a call, as it came (`method`, `uri`, the caller's `headers`
    /// and `body`), to the node owning `partition` and passes its answer
    /// on: 503 `no_owner` while nobody live owns it, 502
    /// `owner_unreachable` when the owner does not answer (both with
    /// `Retry-After: 1`). Also how the gRPC worker service answers jobs of
    /// other nodes (`crate::grpc`).
    pub(crate) async fn at_owner(
        &self,
        partition: u16,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        let Some(base) = (self.owners)(partition).await else {
            return try_again(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_owner",
                format!(
                    "no live node owns partition {partition} right now (a takeover is under way); \
                     try again"
                ),
            );
        };
        let answer = send(self, method, uri, headers, body, &base).await;
        if answer.status() == StatusCode::MISDIRECTED_REQUEST {
            // The owner in the table serves it no more: it is giving the
            // partition up (rebalancing), or just did.
            return try_again(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_owner",
                format!("partition {partition} is moving to another node right now; try again"),
            );
        }
        answer
    }
}

/// Sends the call to the owner at `base` and passes its answer on.
async fn send(
    f: &Forwarding,
    method: Method,
    uri: &Uri,
    from: &HeaderMap,
    body: Bytes,
    base: &str,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut headers = HeaderMap::new();
    copy_headers(from, &mut headers);
    headers.insert(FORWARDED_HEADER, f.node.clone());
    let sent = f
        .client
        .request(method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => relay(answer, "owner_unreachable", "the owner"),
        Err(e) => try_again(
            StatusCode::BAD_GATEWAY,
            "owner_unreachable",
            format!("the owner at {base} did not answer: {e}; try again"),
        ),
    }
}
