//! [`AppState`]: what every handler shares: the runtime, the token, the
//! idempotency cache.

use crate::auth::Token;
use crate::idempotency::IdempotencyCache;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use windlass_runtime::RuntimeHandle;

/// The store the server runs on: a SQLite file or a PostgreSQL database
/// (an enum over both that implements `Store`). One concrete type keeps the
/// handlers and their OpenAPI documentation free of type parameters.
pub type ServerStore = windlass_store_any::AnyStore;

/// Shared by every handler (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The running runtime.
    pub rt: RuntimeHandle<ServerStore>,
    /// The bearer token.
    pub token: Arc<Token>,
    /// Answers to mutating requests by idempotency key.
    pub idempotency: Arc<IdempotencyCache>,
    /// The largest request body accepted.
    pub body_limit: usize,
    /// The Prometheus recorder's handle (`None`: `/metrics` answers 404).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The jobs waiting for remote workers.
    pub board: Arc<crate::JobBoard>,
    /// Cancelled when the server shuts down: long-lived responses (the
    /// event streams of `/api/v1/instances/{id}/events`) end on it.
    pub shutdown: CancellationToken,
    /// Forwarding to partition owners (`crate::forward`), when this node
    /// serves only some partitions.
    pub forward: Option<Arc<crate::forward::Forwarding>>,
    /// The other nodes asked for jobs (`crate::peers`), on a node.
    pub peers: Option<Arc<crate::peers::Peers>>,
}
