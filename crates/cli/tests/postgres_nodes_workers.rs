//! Remote workers across two `windlass server --node` processes writing one
//! PostgreSQL database: a worker that polls only node `a`
//! (`POST /api/v1/jobs/activate`) gets the jobs of both nodes' instances —
//! `a` asks `b` for what its own board lacks — and answers them through
//! `a`, which forwards heartbeats and completions about `b`'s instances to
//! `b`. A long poll on `a` gets a job that appears on `b` while it waits.

mod server_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server_common::ServerProc;
use server_common::cluster::{TwoNodes, remote_jobs_on_both, start, two_nodes};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use windlass_store_api::Partition;

/// Activates through `node`: the jobs handed out.
async fn activate(node: &ServerProc, max: usize, wait_millis: u64) -> Vec<Value> {
    let body = json!({
        "kinds": ["remote"], "workerId": "w1", "maxJobs": max, "waitMillis": wait_millis
    });
    let (status, v) = node.post("/api/v1/jobs/activate", body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["jobs"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_worker_polling_one_node_gets_and_answers_the_jobs_of_both() {
    let Some(nodes) = two_nodes("nodes_workers").await else {
        return;
    };
    let (ids, _) = remote_jobs_on_both(&nodes, "r").await;
    let TwoNodes {
        dir: _dir,
        a,
        a_half,
        b,
        ..
    } = nodes;

    // Every job through a alone, each once.
    let mut jobs = Vec::new();
    let since = Instant::now();
    while jobs.len() < ids.len() {
        assert!(since.elapsed() < Duration::from_secs(20), "got {jobs:?}");
        jobs.extend(activate(&a, 5, 0).await);
    }
    let got: BTreeSet<&str> = jobs
        .iter()
        .filter_map(|j| j["instanceId"].as_str())
        .collect();
    assert_eq!(got.len(), ids.len(), "{jobs:?}");
    assert!(
        activate(&a, 5, 0).await.is_empty(),
        "a job handed out twice"
    );

    // Answered through a: heartbeats and completions of b's jobs are
    // forwarded to b.
    for j in &jobs {
        let key = j["jobKey"].as_str().expect("jobKey");
        let (status, v) = a
            .post("/api/v1/jobs/heartbeat", json!({"jobKey": key}))
            .await;
        assert_eq!(status, StatusCode::OK, "{key}: {v}");
        let (status, v) = a
            .post(
                "/api/v1/jobs/complete",
                json!({"jobKey": key, "variables": {"by": "w1"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{key}: {v}");
    }
    for id in &ids {
        let view = b.wait_for(id, |v| v["status"] == "completed").await;
        assert_eq!(view["variables"]["by"], "w1", "{id}: {view}");
    }

    // A long poll on a gets a job that appears on b while it waits.
    let late = (0..)
        .map(|i| format!("late-{i}"))
        .find(|id| !a_half.contains(Partition::of_instance(id)))
        .expect("an id in b's half");
    let poll = activate(&a, 1, 10_000);
    let starter = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        start(&b, "remote", &late).await
    };
    let t0 = Instant::now();
    let (jobs, started) = tokio::join!(poll, starter);
    assert_eq!(started.as_deref(), Some(late.as_str()));
    let took = t0.elapsed();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["instanceId"], late.as_str());
    assert!(took < Duration::from_secs(5), "{took:?}");
    eprintln!(
        "12 jobs of two nodes through one; a job on b reached a long poll on a after {took:?}"
    );
    drop(b);
    assert!(a.stop().success());
}
