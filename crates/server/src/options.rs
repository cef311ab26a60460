//! [`ServerOptions`]: where to listen, the token, limits.

use crate::auth::Token;
use std::net::SocketAddr;
use std::time::Duration;

/// The default address: loopback only (a laptop's server is not on the
/// network unless asked).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The largest request body by default (a BPMN document is at most 16 MiB;
/// see `windlass_scenario::bounded`).
pub const DEFAULT_BODY_LIMIT: usize = 16 << 20;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The address to listen on (port 0: any free port; see
    /// [`crate::ServerHandle::local_addr`]).
    pub listen: SocketAddr,
    /// The bearer token every API call must carry.
    pub token: Token,
    /// The largest request body accepted (larger: 413).
    pub body_limit: usize,
    /// How long a shutdown waits for requests in flight before it drops
    /// them.
    pub shutdown_grace: Duration,
    /// How many answers to mutating requests are kept by idempotency key.
    pub idempotency_capacity: usize,
    /// How long an answer is kept by idempotency key.
    pub idempotency_ttl: Duration,
    /// Serve `/metrics` from this recorder (see
    /// [`crate::api::metrics::install_prometheus`]).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The board the runtime's [`BoardHandler`](crate::BoardHandler)
    /// posts worker jobs to (`None`: an empty board, nothing to activate).
    pub board: Option<std::sync::Arc<crate::JobBoard>>,
    /// Serve the gRPC worker service (`crate::grpc`) on this address too
    /// (`None`: no gRPC).
    pub grpc_listen: Option<SocketAddr>,
    /// Serve on this already bound socket instead of binding `listen` (a
    /// node that stood by hands its socket over: see
    /// [`crate::standby`]).
    pub listener: Option<std::sync::Arc<std::net::TcpListener>>,
    /// Forward calls about instances of partitions another node owns to
    /// that node (`None`: the runtime serves every partition; see
    /// [`crate::forward`]).
    pub forward: Option<std::sync::Arc<crate::forward::Forwarding>>,
    /// Ask the other live nodes for jobs when this node's board has fewer
    /// than a worker asked for (`None`: this node's jobs only; see
    /// [`crate::peers`]).
    pub peers: Option<std::sync::Arc<crate::peers::Peers>>,
}

impl ServerOptions {
    /// Defaults with `listen` and `token`.
    pub fn new(listen: SocketAddr, token: Token) -> Self {
        Self {
            listen,
            token,
            body_limit: DEFAULT_BODY_LIMIT,
            shutdown_grace: Duration::from_secs(10),
            idempotency_capacity: 10_000,
            idempotency_ttl: Duration::from_secs(24 * 3600),
            metrics: None,
            board: None,
            grpc_listen: None,
            listener: None,
            forward: None,
            peers: None,
        }
    }
}
