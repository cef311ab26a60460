//! Standing by: a node that does not hold the database's lease (another
//! node writes the database) serves the API by forwarding every call to
//! the node that does, so clients and load balancers may call any node.
//! [`Standby::run`] → [`StandbyHandle`]; the node stops standing by when
//! it takes the lease and starts the full [`Server`](crate::Server) on the
//! same listening socket (no connection is refused in between).
//!
//! - Each call is sent to the holder's API address as the lease names it
//!   ([`LeaderLookup`], read per call), with its method, path, query,
//!   headers (the token, an `Idempotency-Key`) and body streamed; the
//!   answer (status, headers, body) streams back, server-sent events
//!   included.
//! - No holder right now (a takeover is under way): 503 `no_leader` with
//!   `Retry-After: 1`. The holder unreachable: 502 `leader_unreachable`.
//! - Forwarded calls carry [`FORWARDED_HEADER`]; a standby receiving one
//!   answers 503 `not_leader` instead of forwarding again (two standbys
//!   with a stale view never bounce a call between them).
//! - `/healthz` and `/readyz` answer for this node (ready: it serves by
//!   forwarding; the body says `standby`); `/metrics` is this node's.
//! - The gRPC worker service runs on the lease holder only.

use crate::error::ApiError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The header a forwarded call carries: the name of the node that
/// forwarded it.
pub const FORWARDED_HEADER: &str = "x-windlass-forwarded-by";

/// Finds the API address (`http://host:port`) of the node holding the
/// lease; `None` while nobody holds it.
pub type LeaderLookup =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync>;

/// How a standby runs.
pub struct StandbyOptions {
    /// The bound socket (shared with the server that follows).
    pub listener: Arc<std::net::TcpListener>,
    /// This node's name, sent in [`FORWARDED_HEADER`].
    pub node: String,
    /// Where the lease holder's API is.
    pub leader: LeaderLookup,
    /// Serve `/metrics` from this recorder.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// The standby server. See [`Standby::run`].
#[derive(Debug)]
pub struct Standby;

/// A running standby.
#[derive(Debug)]
pub struct StandbyHandle {
    addr: SocketAddr,
    cancel: CancellationToken,
    task: JoinHandle<Result<(), std::io::Error>>,
}

struct Shared {
    node: HeaderValue,
    leader: LeaderLookup,
    client: reqwest::Client,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl Standby {
    /// Serves the standby API on `options.listener` in an owned task.
    pub fn run(options: StandbyOptions) -> Result<StandbyHandle, crate::ServerError> {
        let (listener, addr) = crate::serve::tokio_listener(&options.listener)?;
        let node = HeaderValue::from_str(&options.node)
            .unwrap_or_else(|_| HeaderValue::from_static("standby"));
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| crate::ServerError::Serve(std::io::Error::other(e)))?;
        let shared = Arc::new(Shared {
            node,
            leader: options.leader,
            client,
            metrics: options.metrics,
        });
        let app = Router::new()
            .route("/healthz", axum::routing::get(probe))
            .route("/readyz", axum::routing::get(probe))
            .route("/metrics", axum::routing::get(metrics))
            .fallback(forward)
            .layer(axum::middleware::from_fn(crate::request_log::log_request))
            .with_state(shared);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        tracing::info!(%addr, "standing by: forwarding API calls to the lease holder");
        Ok(StandbyHandle { addr, cancel, task })
    }
}

impl StandbyHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting (the socket stays open for the server that
    /// follows) and waits up to `grace` for the forwarded calls in flight.
    pub async fn shutdown(mut self, grace: Duration) {
        self.cancel.cancel();
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
            let _ = (&mut self.task).await;
        }
    }
}

impl Drop for StandbyHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.task.abort();
    }
}

async fn probe() -> axum::Json<crate::api::health::Health> {
    axum::Json(crate::api::health::Health {
        status: "standby".into(),
    })
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    match &s.metrics {
        Some(handle) => handle.render().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Headers that belong to one connection, never forwarded.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

pub(crate) fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !hop_by_hop(name) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// A 503 or 502 asking the caller to try again in a second.
pub(crate) fn try_again(status: StatusCode, code: &'static str, message: String) -> Response {
    let mut response = ApiError::new(status, code, message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Passes on the answer of the node a call was forwarded to (`who`): its
/// status, headers and streamed body; 502 `code` if that fails.
pub(crate) fn relay(answer: reqwest::Response, code: &'static str, who: &str) -> Response {
    let mut response = Response::builder().status(answer.status());
    if let Some(h) = response.headers_mut() {
        copy_headers(answer.headers(), h);
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                code,
                format!("{who}'s answer could not be passed on: {e}"),
            )
            .into_response()
        })
}

async fn forward(State(s): State<Arc<Shared>>, request: Request) -> Response {
    if request.headers().contains_key(FORWARDED_HEADER) {
        return try_again(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_leader",
            "this node stands by and was sent a forwarded call: the database's lease moved; \
             try again"
                .into(),
        );
    }
    let Some(base) = (s.leader)().await else {
        return try_again(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_leader",
            "no node holds the database's lease right now (a takeover is under way); try again"
                .into(),
        );
    };
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut headers = HeaderMap::new();
    copy_headers(&parts.headers, &mut headers);
    headers.insert(FORWARDED_HEADER, s.node.clone());
    let sent = s
        .client
        .request(parts.method, &url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    match sent {
        Ok(answer) => relay(answer, "leader_unreachable", "the lease holder"),
        Err(e) => try_again(
            StatusCode::BAD_GATEWAY,
            "leader_unreachable",
            format!("the lease holder at {base} did not answer: {e}; try again"),
        ),
    }
}
