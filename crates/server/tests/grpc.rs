//! The gRPC worker service on a real server (loopback, SQLite store): a
//! worker streams jobs of its kind as they come and completes them, a call
//! without the token is refused, a job cancelled by the engine is told on
//! heartbeat, and a job whose stream went away goes to the next worker.
#![allow(clippy::unwrap_used)]

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod pb {
    include!("grpc_client/windlass.worker.v1.rs");
}

use pb::worker_client::WorkerClient;
use std::time::Duration;
use tokio_stream::StreamExt as _;
use tonic::Request;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_server::{BoardHandler, JobBoard, Server, ServerOptions, ServerStore, Token};
use windlass_store_api::InstanceStatus;
use windlass_store_sqlite::SqliteStore;

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <serviceTask id="t" name="Build {name}">
      <extensionElements><windlass:task kind="build"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", "Bearer sesame".parse().unwrap());
    r
}

fn stream_request() -> Request<pb::StreamJobsRequest> {
    authed(pb::StreamJobsRequest {
        kinds: vec!["build".into()],
        worker_id: "g1".into(),
        lock_millis: 0,
    })
}

async fn start(rt: &RuntimeHandle<ServerStore>, name: &str) -> windlass_store_api::InstanceRef {
    let vars = serde_json::json!({ "name": name });
    rt.start_instance(StartRequest {
        vars: vars.as_object().cloned().unwrap(),
        ..StartRequest::new("p")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_workers_stream_jobs_and_answer_them() {
    let dir = tempfile::tempdir().unwrap();
    let board = JobBoard::new();
    let handlers = Handlers::new().fallback(BoardHandler(board.clone()));
    let store =
        windlass_store_any::AnyStore::from(SqliteStore::open(dir.path().join("w.db")).unwrap());
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers)
        .await
        .unwrap();
    rt.deploy(PROCESS).await.unwrap();
    let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), Token::new("sesame"));
    options.board = Some(board);
    options.grpc_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::run(options, rt.clone()).await.unwrap();
    let url = format!("http://{}", server.grpc_addr().unwrap());
    let mut client = WorkerClient::connect(url).await.unwrap();

    // No token: refused.
    let refused = client
        .stream_jobs(pb::StreamJobsRequest {
            kinds: vec!["build".into()],
            worker_id: "g1".into(),
            lock_millis: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let bad = client
        .stream_jobs(authed(pb::StreamJobsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    // A job posted after the stream opened arrives on it.
    let mut jobs = client
        .stream_jobs(stream_request())
        .await
        .unwrap()
        .into_inner();
    let api = start(&rt, "api").await;
    let job = tokio::time::timeout(Duration::from_secs(10), jobs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(job.name, "Build api");
    assert_eq!(job.instance_id, api.id.as_str());
    assert_eq!(job.lock_millis, 60_000);
    let vars: serde_json::Value = serde_json::from_str(&job.variables_json).unwrap();
    assert_eq!(vars["name"], "api");
    client
        .heartbeat(authed(pb::HeartbeatRequest {
            job_key: job.job_key.clone(),
            lock_millis: 5_000,
        }))
        .await
        .unwrap();
    client
        .complete_job(authed(pb::CompleteJobRequest {
            job_key: job.job_key.clone(),
            variables_json: r#"{"artifact":"api.tar"}"#.into(),
        }))
        .await
        .unwrap();
    let out = rt.wait_finished(&api).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables["artifact"], "api.tar");
    // Answering twice: the job is not open any more.
    let again = client
        .complete_job(authed(pb::CompleteJobRequest {
            job_key: job.job_key.clone(),
            variables_json: String::new(),
        }))
        .await
        .unwrap_err();
    assert_ne!(again.code(), tonic::Code::Ok);

    // A job the engine cancels: the heartbeat says so.
    let web = start(&rt, "web").await;
    let job = jobs.next().await.unwrap().unwrap();
    assert_eq!(job.instance_id, web.id.as_str());
    rt.terminate(&web, "not now").await.unwrap();
    let gone = client
        .heartbeat(authed(pb::HeartbeatRequest {
            job_key: job.job_key.clone(),
            lock_millis: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound, "{gone}");

    // A BPMN error through FailJob; then the stream goes away, and a job
    // posted after that is handed to the next worker.
    drop(jobs);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cli = start(&rt, "cli").await;
    let mut next = client
        .stream_jobs(stream_request())
        .await
        .unwrap()
        .into_inner();
    let job = tokio::time::timeout(Duration::from_secs(10), next.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(job.instance_id, cli.id.as_str());
    client
        .fail_job(authed(pb::FailJobRequest {
            job_key: job.job_key,
            message: "compiler crashed".into(),
            error_code: String::new(),
            retryable: false,
        }))
        .await
        .unwrap();
    let out = rt.wait_settled(&cli).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Incident);

    // Shutdown ends open streams.
    server.shutdown().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), next.next())
        .await
        .unwrap();
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
    rt.shutdown().await.unwrap();
}
