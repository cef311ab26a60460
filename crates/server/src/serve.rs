//! [`Server::run`] → [`ServerHandle`]: bind, serve in an owned task, shut
//! down gracefully (stop accepting, let requests in flight finish within
//! the grace period, then drop them).

use crate::api::router;
use crate::idempotency::IdempotencyCache;
use crate::options::ServerOptions;
use crate::state::{AppState, ServerStore};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use windlass_runtime::RuntimeHandle;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The serving task panicked.
    #[error("the server task panicked: {0}")]
    Panicked(String),
}

/// The server. See [`Server::run`].
#[derive(Debug)]
pub struct Server;

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    cancel: CancellationToken,
    grace: Duration,
    task: JoinHandle<Result<(), std::io::Error>>,
    /// Its activations answer at once when the server stops.
    board: Arc<crate::JobBoard>,
    /// Fails the attempts whose worker lease ran out.
    sweeper: JoinHandle<()>,
    /// The gRPC worker service: its address and task.
    grpc: Option<(SocketAddr, JoinHandle<Result<(), tonic::transport::Error>>)>,
}

/// Binds `at` and serves the gRPC worker service until `cancel` fires.
async fn serve_grpc(
    at: SocketAddr,
    runtime: &RuntimeHandle<ServerStore>,
    board: &Arc<crate::JobBoard>,
    token: &Arc<crate::Token>,
    nodes: crate::grpc::OtherNodes,
    cancel: &CancellationToken,
) -> Result<(SocketAddr, JoinHandle<Result<(), tonic::transport::Error>>), ServerError> {
    let bind = |source| ServerError::Bind { addr: at, source };
    let listener = tokio::net::TcpListener::bind(at).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let service =
        crate::grpc::WorkerService::server(runtime.clone(), board.clone(), token.clone(), nodes);
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                // No Nagle delay: a worker's small answers go out at once.
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                stop.cancelled_owned(),
            )
            .await
    });
    tracing::info!(%addr, "gRPC workers listening");
    Ok((addr, task))
}

impl Server {
    /// Binds `options.listen` and serves the API over `runtime` in a task
    /// owned by the returned handle.
    pub async fn run(
        options: ServerOptions,
        runtime: RuntimeHandle<ServerStore>,
    ) -> Result<ServerHandle, ServerError> {
        let (listener, addr) = match &options.listener {
            Some(bound) => tokio_listener(bound)?,
            None => {
                let listener = tokio::net::TcpListener::bind(options.listen)
                    .await
                    .map_err(|source| ServerError::Bind {
                        addr: options.listen,
                        source,
                    })?;
                let addr = listener.local_addr().map_err(|source| ServerError::Bind {
                    addr: options.listen,
                    source,
                })?;
                (listener, addr)
            }
        };
        let board = options.board.unwrap_or_default();
        let cancel = CancellationToken::new();
        let token = Arc::new(options.token);
        let grpc = match options.grpc_listen {
            Some(at) => {
                let nodes = crate::grpc::OtherNodes {
                    forward: options.forward.clone(),
                    peers: options.peers.clone(),
                };
                Some(serve_grpc(at, &runtime, &board, &token, nodes, &cancel).await?)
            }
            None => None,
        };
        let sweeper = tokio::spawn(board.clone().sweep(runtime.clone(), cancel.child_token()));
        let state = AppState {
            board: board.clone(),
            rt: runtime,
            token,
            idempotency: Arc::new(IdempotencyCache::new(
                options.idempotency_capacity,
                options.idempotency_ttl,
            )),
            body_limit: options.body_limit,
            metrics: options.metrics,
            shutdown: cancel.child_token(),
            forward: options.forward,
            peers: options.peers,
        };
        // The web UI (no token) beside the API (`crate::ui`).
        let app = crate::ui::routes().merge(router(state));
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        tracing::info!(%addr, "API listening");
        Ok(ServerHandle {
            addr,
            cancel,
            grace: options.shutdown_grace,
            task,
            board,
            sweeper,
            grpc,
        })
    }
}

/// A tokio listener on the socket `bound` (bound once, shared by a standby
/// and the server that follows it), and its address.
pub(crate) fn tokio_listener(
    bound: &std::net::TcpListener,
) -> Result<(tokio::net::TcpListener, SocketAddr), ServerError> {
    let addr = bound
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let bind = |source| ServerError::Bind { addr, source };
    let listener = bound.try_clone().map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(bind)?;
    Ok((listener, addr))
}

impl ServerHandle {
    /// The address the server listens on (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the gRPC worker service, when it runs.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(|(a, _)| *a)
    }

    /// Stops accepting connections and waits for the requests in flight,
    /// at most the grace period; then drops what is left. Returns once the
    /// server task has ended.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        self.cancel.cancel();
        // Long-polling activations answer now instead of holding the drain.
        self.board.close();
        let _ = (&mut self.sweeper).await;
        if let Some((_, grpc)) = &mut self.grpc {
            match tokio::time::timeout(self.grace, &mut *grpc).await {
                Ok(Ok(Err(e))) => tracing::warn!("the gRPC service failed: {e}"),
                Ok(_) => {}
                Err(_) => grpc.abort(),
            }
        }
        match tokio::time::timeout(self.grace, &mut self.task).await {
            Ok(joined) => flatten(joined),
            Err(_) => {
                tracing::warn!(grace = ?self.grace, "requests still running after the grace period: dropped");
                self.task.abort();
                let _ = (&mut self.task).await;
                Ok(())
            }
        }
    }

    /// Resolves when the server task ends by itself (an I/O failure).
    pub async fn stopped(&mut self) -> Result<(), ServerError> {
        flatten((&mut self.task).await)
    }
}

fn flatten(
    joined: Result<Result<(), std::io::Error>, tokio::task::JoinError>,
) -> Result<(), ServerError> {
    match joined {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServerError::Serve(e)),
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(ServerError::Panicked(e.to_string())),
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // A handle dropped without `shutdown` still stops its task.
        self.cancel.cancel();
        self.board.close();
        self.task.abort();
        self.sweeper.abort();
        if let Some((_, grpc)) = &self.grpc {
            grpc.abort();
        }
    }
}
