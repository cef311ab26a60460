//! [`WorkerService`]: the `windlass.worker.v1.Worker` service over the job
//! board and the runtime.

use super::pb::worker_server::{Worker, WorkerServer};
use super::pb::{
    Ack, CompleteJobRequest, FailJobRequest, HeartbeatRequest, Job, StreamJobsRequest,
};
use crate::auth::Token;
use crate::board::{ActivatedJob, Beat, JobBoard, MAX_LOCK};
use crate::error::ApiError;
use crate::state::ServerStore;
use axum::http::StatusCode;
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
}

impl WorkerService {
    /// The service over `rt` and `board`, behind the bearer `token`.
    pub fn server(
        rt: RuntimeHandle<ServerStore>,
        board: Arc<JobBoard>,
        token: Arc<Token>,
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
        WorkerServer::with_interceptor(WorkerService { rt, board }, check)
    }
}

/// The runtime's refusal as a gRPC status (through the REST API's mapping,
/// so both transports classify alike).
fn status(e: RuntimeError) -> Status {
    let api = ApiError::from(e);
    let code = match api.status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => tonic::Code::InvalidArgument,
        StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated,
        StatusCode::NOT_FOUND => tonic::Code::NotFound,
        // 421: another node owns the job's instance (`--node`); workers
        // get jobs from the node they reach, so this follows a takeover.
        StatusCode::CONFLICT | StatusCode::MISDIRECTED_REQUEST => tonic::Code::FailedPrecondition,
        StatusCode::SERVICE_UNAVAILABLE => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    };
    Status::new(code, format!("{}: {}", api.body.code, api.body.message))
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
        // Ends when the worker goes away or the board closes (shutdown).
        tokio::spawn(async move {
            loop {
                // Room in the buffer: wait for the worker to read first.
                let Ok(permit) = tx.reserve().await else {
                    return;
                };
                let room = tx.capacity() + 1;
                drop(permit);
                let jobs = tokio::select! {
                    jobs = board.activate(&r.kinds, &r.worker_id, room, lock, ROUND) => jobs,
                    _ = tx.closed() => return,
                };
                if jobs.is_empty() && board.is_closed() {
                    return;
                }
                let mut jobs = jobs.into_iter();
                while let Some(job) = jobs.next() {
                    let key = job.job_key.clone();
                    if tx.send(Ok(to_pb(job))).await.is_err() {
                        // Not delivered: back on the board for others.
                        board.release(&key);
                        for rest in jobs {
                            board.release(&rest.job_key);
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
        let r = request.into_inner();
        let vars = vars_of(&r.variables_json)?;
        let done = self.rt.complete_job(&r.job_key, vars).await;
        self.board.remove(&r.job_key);
        done.map_err(status)?;
        Ok(Response::new(Ack {}))
    }

    async fn fail_job(&self, request: Request<FailJobRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
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
        done.map_err(status)?;
        Ok(Response::new(Ack {}))
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        let lock = lock_of(r.lock_millis, None)?;
        if self.board.heartbeat(&r.job_key, lock) == Beat::Cancelled {
            return Err(Status::not_found(format!(
                "job {} was cancelled: stop working on it",
                r.job_key
            )));
        }
        self.rt.heartbeat(&r.job_key).await.map_err(status)?;
        Ok(Response::new(Ack {}))
    }
}
