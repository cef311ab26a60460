//! `windlass server`'s library: the REST API over a running
//! [`windlass_runtime`] runtime.
//!
//! ```text
//! let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
//! let server = Server::run(ServerOptions::new(addr, Token::new(&token)), rt.clone()).await?;
//! // … until a signal:
//! server.shutdown().await?;   // stop accepting, drain requests in flight
//! rt.shutdown().await?;       // drain commits, stop the runtime
//! ```
//!
//! - [`api`]: the routes under `/api/v1`, each registered with its OpenAPI
//!   documentation (utoipa), served at `/api/openapi.json`; the probes
//!   `/healthz` and `/readyz`.
//! - [`auth`]: the bearer token (constant-time comparison); [`token`]: the
//!   token file.
//! - [`error`]: JSON errors `{code, message, details}` with stable codes;
//!   [`extract`]: extractors that answer bad input with them.
//! - [`idempotency`]: the `Idempotency-Key` header of mutating calls.
//! - [`board`]: the jobs waiting for remote workers, handed out by kind with
//!   a lease (`POST /api/v1/jobs/activate`); [`grpc`]: the same board
//!   streamed to gRPC workers.
//! - [`standby`]: a node that does not hold the database's lease serves
//!   the API by forwarding every call to the node that does.
//! - [`forward`]: with several writing nodes (each serving its instance
//!   partitions), a call about an instance elsewhere goes to its owner;
//!   [`peers`]: a worker polling one node gets the other nodes' jobs too.
//! - [`process_dir`]: deploys a folder of BPMN files at start and whenever
//!   one changes.
//! - [`ui`]: the web UI (`ui/`), embedded at compile time and served at
//!   `/` without a token.
//! - Reads go through `windlass_views`, the read model the offline CLI
//!   verbs use.

pub mod api;
pub mod auth;
pub mod board;
pub mod error;
pub mod extract;
pub mod forward;
pub mod grpc;
pub mod idempotency;
pub mod options;
pub mod peers;
pub mod process_dir;
mod request_log;
mod serve;
pub mod standby;
pub mod state;
pub mod token;
pub mod ui;

pub use auth::Token;
pub use board::{BoardHandler, JobBoard};
pub use error::{ApiError, ErrorBody};
pub use options::{DEFAULT_BODY_LIMIT, DEFAULT_LISTEN, ServerOptions};
pub use serve::{Server, ServerError, ServerHandle};
pub use standby::{Standby, StandbyHandle, StandbyOptions};
pub use state::ServerStore;
