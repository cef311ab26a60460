//! [`WorkerService`]: the `windlass.worker.v1.Worker` service over the job
//! board and the runtime (on a node, over the other nodes' too:
//! `nodes.rs`).

use super::nodes::{at_owner, code_of, rest_headers};
use super::pb::worker_server::{Worker, WorkerServer};
use super::pb::{
    Ack, CompleteJobRequest, FailJobRequest, HeartbeatRequest, Job, StreamJobsRequest,
};
use crate::auth::Token;
use crate::board::{ActivatedJob, Beat, JobBoard, MAX_LOCK};
use crate::error::ApiError;
use crate::forward::Forwarding;
use crate::peers::{Ask, Peers, SLICE};
use crate::state::ServerStore;
use axum::http::HeaderMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use windlass_engine::event::JobFailure;
use windlass_runtime::{RuntimeError, RuntimeHandle};
use windlass_types::Vars;

/// Jobs a stream holds for its worker at most (delivered, not yet read):
/// a stream takes jobs from the board only as its worker reads them, so
/// jobs go to the workers that are free.
const BUFFER: usize = 4;
/// How long one round of a stream waits on the board before it looks
/// whether its worker is still there.
const ROUND: Duration = Duration::from_secs(30);

/// The gRPC worker service.
#[derive(Clone)]
pub struct WorkerService {
    rt: RuntimeHandle<ServerStore>,
    board: Arc<JobBoard>,
    nodes: OtherNodes,
}

/// On a node: where answers about other nodes' jobs go, and who is asked
/// for jobs (`nodes.rs`); both `None` on a server of its own.
#[derive(Clone, Default)]
pub struct OtherNodes {
    /// Forwarding to partition owners.
    pub forward: Option<Arc<Forwarding>>,
    /// The other nodes, asked for jobs.
    pub peers: Option<Arc<Peers>>,
}

impl WorkerService {
    /// The service over `rt` and `board` (and, on a node, the other
    /// `nodes`), behind the bearer `token`.
    pub fn server(
        rt: RuntimeHandle<ServerStore>,
        board: Arc<JobBoard>,
        token: Arc<Token>,
        nodes: OtherNodes,
    ) -> tonic::service::interceptor::InterceptedService<
        WorkerServer<WorkerService>,
        impl tonic::service::Interceptor + Clone,
    > {
        let check = move |req: Request<()>| -> Result<Request<()>, Status> {
            let given = req
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if token.matches(given.as_bytes()) {
                Ok(req)
            } else {
                Err(Status::unauthenticated(
                    "missing or wrong token (authorization: Bearer <token>)",
                ))
            }
        };
        WorkerServer::with_interceptor(WorkerService { rt, board, nodes }, check)
    }

    /// Answers a job through the runtime (`here`); when another node owns
    /// its instance, sends `body` to `path` at that node instead.
    async fn answer(
        &self,
        here: Result<(), RuntimeError>,
        metadata: &tonic::metadata::MetadataMap,
        path: &'static str,
        body: serde_json::Value,
    ) -> Result<Response<Ack>, Status> {
        match (here, &self.nodes.forward) {
            (Ok(()), _) => Ok(Response::new(Ack {})),
            (Err(RuntimeError::NotOwner { partition, .. }), Some(forward)) => {
                let headers = rest_headers(metadata);
                at_owner(forward, partition, path, &headers, &body).await?;
                Ok(Response::new(Ack {}))
            }
            (Err(e), _) => Err(status(e)),
        }
    }
}

/// The runtime's refusal as a gRPC status (through the REST API's mapping,
/// so both transports classify alike).
fn status(e: RuntimeError) -> Status {
    let api = ApiError::from(e);
    Status::new(
        code_of(api.status),
        format!("{}: {}", api.body.code, api.body.message),
    )
}

fn lock_of(millis: u64, default: Option<Duration>) -> Result<Option<Duration>, Status> {
    if millis == 0 {
        return Ok(default);
    }
    let lock = Duration::from_millis(millis);
    if lock > MAX_LOCK {
        return Err(Status::invalid_argument(format!(
            "lock_millis: at most {}",
            MAX_LOCK.as_millis()
        )));
    }
    Ok(Some(lock))
}

fn vars_of(json: &str) -> Result<Vars, Status> {
    if json.trim().is_empty() {
        return Ok(Vars::new());
    }
    serde_json::from_str(json)
        .map_err(|e| Status::invalid_argument(format!("variables_json: not a JSON object: {e}")))
}

fn to_pb(j: ActivatedJob) -> Job {
    Job {
        variables_json: serde_json::to_string(&j.variables).unwrap_or_else(|_| "{}".into()),
        job_key: j.job_key,
        kind: j.kind,
        instance_id: j.instance_id,
        run: j.run,
        node_id: j.node_id,
        name: j.name.unwrap_or_default(),
        attempt: j.attempt,
        max_attempts: j.max_attempts,
        settings: j.settings.into_iter().collect(),
        lock_millis: j.lock_millis,
    }
}

#[tonic::async_trait]
impl Worker for WorkerService {
    type StreamJobsStream = ReceiverStream<Result<Job, Status>>;

    async fn stream_jobs(
        &self,
        request: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamJobsStream>, Status> {
        let headers = rest_headers(request.metadata());
        let r = request.into_inner();
        if r.kinds.is_empty() || r.kinds.iter().any(String::is_empty) {
            return Err(Status::invalid_argument(
                "kinds: give at least one kind, none empty",
            ));
        }
        if r.worker_id.trim().is_empty() {
            return Err(Status::invalid_argument("worker_id: must not be empty"));
        }
        let lock = lock_of(r.lock_millis, Some(Duration::from_secs(60)))?
            .unwrap_or(Duration::from_secs(60));
        let (tx, rx) = mpsc::channel(BUFFER);
        let board = self.board.clone();
        let peers = self.nodes.peers.clone();
        // On a node, the other nodes are asked between slices of waiting.
        let wait = if peers.is_some() { SLICE } else { ROUND };
        // Ends when the worker goes away or the board closes (shutdown).
        tokio::spawn(async move {
            loop {
                // Room in the buffer: wait for the worker to read first.
                let Ok(permit) = tx.reserve().await else {
                    return;
                };
                let room = tx.capacity() + 1;
                drop(permit);
                let mut jobs = tokio::select! {
                    jobs = board.activate(&r.kinds, &r.worker_id, room, lock, wait) => jobs,
                    _ = tx.closed() => return,
                };
                if jobs.is_empty() && board.is_closed() {
                    return;
                }
                let own = jobs.len();
                if let Some(peers) = peers.as_ref().filter(|_| own < room) {
                    jobs.extend(other_nodes_jobs(peers, &headers, &r, lock, room - own).await);
                }
                let mut jobs = jobs.into_iter().enumerate();
                while let Some((i, job)) = jobs.next() {
                    let key = job.job_key.clone();
                    if tx.send(Ok(to_pb(job))).await.is_err() {
                        // Not delivered: this node's go back on the board
                        // for others (`nodes.rs` on the other nodes').
                        let undelivered = std::iter::once((i, key))
                            .chain(jobs.map(|(i, rest)| (i, rest.job_key)));
                        for (_, key) in undelivered.filter(|(i, _)| *i < own) {
                            board.release(&key);
                        }
                        return;
                    }
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn complete_job(
        &self,
        request: Request<CompleteJobRequest>,
    ) -> Result<Response<Ack>, Status> {
        let (metadata, _, r) = request.into_parts();
        let vars = vars_of(&r.variables_json)?;
        let done = self.rt.complete_job(&r.job_key, vars.clone()).await;
        self.board.remove(&r.job_key);
        let body = serde_json::json!({ "jobKey": r.job_key, "variables": vars });
        self.answer(done, &metadata, "/api/v1/jobs/complete", body)
            .await
    }

    async fn fail_job(&self, request: Request<FailJobRequest>) -> Result<Response<Ack>, Status> {
        let (metadata, _, r) = request.into_parts();
        let body = serde_json::json!({
            "jobKey": r.job_key,
            "message": r.message,
            "errorCode": (!r.error_code.is_empty()).then_some(&r.error_code),
            "retryable": r.retryable,
        });
        let failure = if r.error_code.is_empty() {
            JobFailure::Technical {
                message: r.message,
                retryable: r.retryable,
            }
        } else {
            JobFailure::Bpmn {
                code: r.error_code,
                message: Some(r.message),
            }
        };
        let done = self.rt.fail_job(&r.job_key, failure).await;
        self.board.remove(&r.job_key);
        self.answer(done, &metadata, "/api/v1/jobs/fail", body)
            .await
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> Result<Response<Ack>, Status> {
        let (metadata, _, r) = request.into_parts();
        let lock = lock_of(r.lock_millis, None)?;
        if self.board.heartbeat(&r.job_key, lock) == Beat::Cancelled {
            return Err(Status::not_found(format!(
                "job {} was cancelled: stop working on it",
                r.job_key
            )));
        }
        let done = self.rt.heartbeat(&r.job_key).await;
        let body = serde_json::json!({
            "jobKey": r.job_key,
            "lockMillis": lock.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
        });
        self.answer(done, &metadata, "/api/v1/jobs/heartbeat", body)
            .await
    }
}

/// Up to `max` jobs of the other nodes for the stream `r`, locked for
/// `lock`, asked with the worker's `headers` (`nodes.rs`).
async fn other_nodes_jobs(
    peers: &Peers,
    headers: &HeaderMap,
    r: &StreamJobsRequest,
    lock: Duration,
    max: usize,
) -> Vec<ActivatedJob> {
    let ask = Ask {
        kinds: &r.kinds,
        worker_id: &r.worker_id,
        lock_millis: u64::try_from(lock.as_millis()).unwrap_or(u64::MAX),
    };
    peers.activate(headers, &ask, max).await
}
