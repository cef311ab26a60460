//! gRPC workers across two `windlass server --node` processes writing one
//! PostgreSQL database: a worker streaming from node `a` only
//! (`windlass.worker.v1.Worker/StreamJobs`) gets the jobs of both nodes'
//! instances — `a` asks `b` for what its own board lacks — and answers
//! them through `a`, which sends heartbeats, completions and failures about
//! `b`'s instances to `b`. A job that appears on `b` while the stream is
//! idle reaches it too.

#![allow(clippy::unwrap_used)]

mod server_common;

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod pb {
    include!("../../server/tests/grpc_client/windlass.worker.v1.rs");
}

use pb::worker_client::WorkerClient;
use server_common::ServerProc;
use server_common::cluster::{TwoNodes, remote_jobs_on_both, start, two_nodes_with};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_stream::StreamExt as _;
use tonic::Request;
use windlass_store_api::Partition;

/// The gRPC address `node` logged at start.
async fn grpc_url(node: &ServerProc) -> String {
    let since = Instant::now();
    loop {
        let log = node.stderr();
        let found = log
            .lines()
            .find_map(|l| l.split_once("gRPC workers: ").map(|(_, rest)| rest));
        if let Some(rest) = found {
            return rest.split_whitespace().next().unwrap().to_string();
        }
        assert!(since.elapsed() < Duration::from_secs(20), "no gRPC: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn authed<T>(node: &ServerProc, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    let bearer = format!("Bearer {}", node.token);
    r.metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    r
}

#[tokio::test]
async fn a_grpc_worker_on_one_node_gets_and_answers_the_jobs_of_both() {
    let grpc = ["--grpc-listen", "127.0.0.1:0"];
    let Some(nodes) = two_nodes_with("nodes_grpc", &grpc).await else {
        return;
    };
    let (ids, on_b) = remote_jobs_on_both(&nodes, "g").await;
    let TwoNodes {
        dir: _dir,
        a,
        a_half,
        b,
        ..
    } = nodes;

    // One stream, on a only: every job, each once.
    let mut client = WorkerClient::connect(grpc_url(&a).await).await.unwrap();
    let request = pb::StreamJobsRequest {
        kinds: vec!["remote".into()],
        worker_id: "g1".into(),
        lock_millis: 0,
    };
    let mut stream = client
        .stream_jobs(authed(&a, request))
        .await
        .unwrap()
        .into_inner();
    let mut jobs = Vec::new();
    while jobs.len() < ids.len() {
        let next = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} jobs came: {jobs:?}", jobs.len()));
        jobs.push(next.unwrap().unwrap());
    }
    let got: BTreeSet<&str> = jobs.iter().map(|j| j.instance_id.as_str()).collect();
    assert_eq!(got.len(), ids.len(), "a job came twice: {jobs:?}");

    // Answered through a. The last one of b's fails instead (retryable:
    // it comes back on the stream as attempt 2, then completes).
    let failing = jobs
        .iter()
        .rfind(|j| on_b.contains(&j.instance_id))
        .unwrap()
        .job_key
        .clone();
    for j in &jobs {
        let beat = pb::HeartbeatRequest {
            job_key: j.job_key.clone(),
            lock_millis: 30_000,
        };
        client.heartbeat(authed(&a, beat)).await.unwrap();
        if j.job_key == failing {
            let fail = pb::FailJobRequest {
                job_key: j.job_key.clone(),
                message: "flaky".into(),
                error_code: String::new(),
                retryable: true,
            };
            client.fail_job(authed(&a, fail)).await.unwrap();
            continue;
        }
        let done = pb::CompleteJobRequest {
            job_key: j.job_key.clone(),
            variables_json: r#"{"by":"g1"}"#.into(),
        };
        client.complete_job(authed(&a, done)).await.unwrap();
    }
    // Answering a job of b's again: b's refusal (404), passed on as b's.
    let done_on_b = jobs
        .iter()
        .find(|j| on_b.contains(&j.instance_id) && j.job_key != failing)
        .unwrap();
    let again = pb::CompleteJobRequest {
        job_key: done_on_b.job_key.clone(),
        variables_json: String::new(),
    };
    let refused = client.complete_job(authed(&a, again)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    // (Its instance completed: b no longer knows it.)
    assert!(
        refused.message().contains(&done_on_b.instance_id),
        "{refused:?}"
    );

    // The failed attempt comes back (after its backoff) and completes.
    let retry = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("the failed job came back")
        .unwrap()
        .unwrap();
    assert!(on_b.contains(&retry.instance_id), "{retry:?}");
    assert_eq!(retry.attempt, 2, "{retry:?}");
    let done = pb::CompleteJobRequest {
        job_key: retry.job_key.clone(),
        variables_json: r#"{"by":"g1"}"#.into(),
    };
    client.complete_job(authed(&a, done)).await.unwrap();
    for id in &ids {
        let owner = if on_b.contains(id) { &b } else { &a };
        let view = owner.wait_for(id, |v| v["status"] == "completed").await;
        assert_eq!(view["variables"]["by"], "g1", "{id}: {view}");
    }

    // A job that appears on b while the stream waits reaches it.
    let late = (0..)
        .map(|i| format!("late-{i}"))
        .find(|id| !a_half.contains(Partition::of_instance(id)))
        .unwrap();
    let t0 = Instant::now();
    assert_eq!(start(&b, "remote", &late).await.as_deref(), Some(&*late));
    let job = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the late job came")
        .unwrap()
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(job.instance_id, late);
    eprintln!("13 jobs of two nodes over one gRPC stream; a job on b reached it after {took:?}");
    drop(stream);
    drop(b);
    assert!(a.stop().success());
}
