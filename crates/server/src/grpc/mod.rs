//! Remote workers over gRPC (tonic): the job board streamed
//! (`proto/worker.proto`, service `windlass.worker.v1.Worker`). A worker
//! opens `StreamJobs` with its kinds and receives jobs as they come, each
//! locked for it on the [`JobBoard`](crate::JobBoard) exactly as a REST
//! activation locks them; it answers with `CompleteJob` / `FailJob` and
//! extends leases with `Heartbeat`. Every call carries the API token in
//! the `authorization` metadata (`Bearer <token>`). Served on a port of
//! its own (`ServerOptions::grpc_listen`). On a node (several servers on
//! one PostgreSQL database) a stream gets every node's jobs, and answers
//! about other nodes' jobs go to their owners (`nodes.rs`).

mod nodes;
mod service;

pub use service::{OtherNodes, WorkerService};

/// The messages and the server half generated from `proto/worker.proto`
/// by tonic-prost-build (committed; `tests/grpc_generated.rs` checks it
/// is what the proto gives).
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod pb {
    include!("generated/windlass.worker.v1.rs");
}
