//! `cargo bench -p windlass-server --bench workers [-- N CONCURRENCY WORKERS]`:
//! jobs through REST workers (fetch-and-lock on the job board) beside the
//! same jobs through an in-process handler, on the same SQLite store
//! settings (durable, group commit), in one run.
//!
//! Each operation starts an instance (start -> one task of kind `bench` ->
//! end) in process and waits for it to finish, CONCURRENCY at a time; its
//! latency is from the start to the instance's end: two group commits, the
//! job's dispatch and its answer. Through the board, WORKERS worker loops
//! (reqwest on loopback, in this process and on the same two cores) fetch
//! up to 64 jobs per activation with long polling and complete each with
//! `POST /api/v1/jobs/complete`. Through gRPC, WORKERS workers each hold
//! one `StreamJobs` stream and complete each job as it arrives with a
//! `CompleteJob` call. N defaults to 5000, CONCURRENCY to 64,
//! WORKERS to 4.
#![allow(missing_docs)]

mod common;

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod pb {
    include!("../tests/grpc_client/windlass.worker.v1.rs");
}

use common::load;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_server::{BoardHandler, JobBoard, Server, ServerOptions, ServerStore, Token};
use windlass_store_sqlite::SqliteStore;

/// mimalloc, as in the `windlass` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:b">
  <process id="job" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <serviceTask id="t" name="Work">
      <extensionElements><windlass:task kind="bench"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

async fn runtime(
    dir: &std::path::Path,
    name: &str,
    handlers: Handlers,
) -> RuntimeHandle<ServerStore> {
    let store =
        windlass_store_any::AnyStore::from(SqliteStore::open(dir.join(name)).expect("open"));
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers)
        .await
        .expect("runtime");
    rt.deploy(PROCESS).await.expect("deploy");
    rt
}

/// One start-to-end operation.
fn op(rt: &RuntimeHandle<ServerStore>) -> impl Fn(usize) -> Op + Send + Sync + 'static {
    let rt = rt.clone();
    move |_| {
        let rt = rt.clone();
        Box::pin(async move {
            let id = rt
                .start_instance(StartRequest::new("job"))
                .await
                .expect("start");
            rt.wait_finished(&id).await.expect("finished");
        })
    }
}

/// A boxed operation future.
type Op = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// `msg` with the bench's token.
fn authed<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", "Bearer bench".parse().expect("metadata"));
    r
}

/// A gRPC worker: one stream of jobs, each completed as it comes.
async fn grpc_worker(url: String, name: String, stop: Arc<AtomicBool>) {
    use tokio_stream::StreamExt as _;
    let mut client = pb::worker_client::WorkerClient::connect(url)
        .await
        .expect("connect");
    let mut jobs = client
        .stream_jobs(authed(pb::StreamJobsRequest {
            kinds: vec!["bench".into()],
            worker_id: name,
            lock_millis: 0,
        }))
        .await
        .expect("stream")
        .into_inner();
    while !stop.load(Ordering::Relaxed) {
        let next = tokio::time::timeout(std::time::Duration::from_millis(200), jobs.next()).await;
        let Ok(Some(Ok(job))) = next else {
            continue;
        };
        let mut c = client.clone();
        let done = authed(pb::CompleteJobRequest {
            job_key: job.job_key,
            variables_json: String::new(),
        });
        c.complete_job(done).await.expect("complete");
    }
}

/// A worker loop: fetch, complete each, until `stop`.
async fn worker(client: reqwest::Client, base: String, name: String, stop: Arc<AtomicBool>) {
    let activate = json!({
        "kinds": ["bench"], "workerId": name, "maxJobs": 64, "waitMillis": 200,
    });
    while !stop.load(Ordering::Relaxed) {
        let r = client
            .post(format!("{base}/jobs/activate"))
            .bearer_auth("bench")
            .json(&activate)
            .send()
            .await
            .expect("activate");
        let v: Value = r.json().await.expect("json");
        for job in v["jobs"].as_array().into_iter().flatten() {
            let r = client
                .post(format!("{base}/jobs/complete"))
                .bearer_auth("bench")
                .json(&json!({"jobKey": job["jobKey"]}))
                .send()
                .await
                .expect("complete");
            assert!(r.status().is_success(), "{}", r.status());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    tokio.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rows = Vec::new();

        let done = |_: &Job| HandlerResult::Ready(JobOutcome::done(Default::default()));
        let rt = runtime(dir.path(), "in-process.db", Handlers::new().on_kind("bench", done)).await;
        rows.push(load("in-process handler", n, concurrency, op(&rt)).await);
        rt.shutdown().await.expect("shutdown");

        let board = JobBoard::new();
        let handlers = Handlers::new().fallback(BoardHandler(board.clone()));
        let rt = runtime(dir.path(), "board.db", handlers).await;
        let addr = "127.0.0.1:0".parse().expect("addr");
        let mut options = ServerOptions::new(addr, Token::new("bench"));
        options.board = Some(board);
        options.grpc_listen = Some(addr);
        let server = Server::run(options, rt.clone()).await.expect("server");
        let base = format!("http://{}/api/v1", server.local_addr());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(workers)
            .build()
            .expect("client");
        let stop = Arc::new(AtomicBool::new(false));
        let loops: Vec<_> = (0..workers)
            .map(|i| {
                tokio::spawn(worker(client.clone(), base.clone(), format!("w{i}"), stop.clone()))
            })
            .collect();
        rows.push(load("REST workers (fetch-and-lock)", n, concurrency, op(&rt)).await);
        stop.store(true, Ordering::Relaxed);
        for l in loops {
            l.await.expect("worker loop");
        }
        let grpc = format!("http://{}", server.grpc_addr().expect("grpc"));
        let stop = Arc::new(AtomicBool::new(false));
        let loops: Vec<_> = (0..workers)
            .map(|i| tokio::spawn(grpc_worker(grpc.clone(), format!("g{i}"), stop.clone())))
            .collect();
        rows.push(load("gRPC workers (streamed)", n, concurrency, op(&rt)).await);
        stop.store(true, Ordering::Relaxed);
        for l in loops {
            l.await.expect("worker loop");
        }
        server.shutdown().await.expect("server shutdown");
        rt.shutdown().await.expect("shutdown");

        println!(
            "{n} instances, {concurrency} in flight, {workers} worker loop(s) per transport, SQLite (durable), one `bench` task per instance"
        );
        println!("| what | jobs/s | p50 | p99 | rate vs in-process |");
        println!("|---|---:|---:|---:|---:|");
        let base = rows[0].rate;
        for r in &rows {
            println!(
                "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2}× |",
                r.what,
                r.rate,
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.rate / base
            );
        }
    });
}
