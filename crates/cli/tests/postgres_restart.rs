//! The server on PostgreSQL while PostgreSQL restarts under load: its
//! connections and its lease session are cut; it reconnects, renews its
//! lease (nobody took it), and no instance that was accepted is lost or
//! stuck. (A test file
//! of its own: the restart cuts every connection to the test server.)

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::{REVIEW_BPMN, ServerProc};
use std::time::Duration;

async fn start(srv: &ServerProc, id: &str) -> StatusCode {
    srv.post(
        "/api/v1/instances",
        json!({"processId": "review", "instanceId": id}),
    )
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_loses_nothing() {
    let Some(db) =
        tokio::task::spawn_blocking(|| windlass_pg_testing::schema_url_blocking("restart"))
            .await
            .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = std::sync::Arc::new(ServerProc::start_postgres(&db, dir.path(), &[]));
    assert_eq!(srv.deploy(REVIEW_BPMN).await.0, StatusCode::OK);
    let mut accepted = Vec::new();
    for i in 0..20 {
        let id = format!("before-{i}");
        assert_eq!(start(&srv, &id).await, StatusCode::CREATED);
        accepted.push(id);
    }
    // Load: starts go on while the database restarts; some are refused
    // while it is down, every one accepted must survive.
    let load = {
        let srv = srv.clone();
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..200 {
                let id = format!("during-{i}");
                if start(&srv, &id).await == StatusCode::CREATED {
                    ok.push(id);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            ok
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    server_common::cluster::restart_postgres().await;
    let during = load.await.expect("load");
    eprintln!("accepted during the load: {} of 200", during.len());
    accepted.extend(during);
    assert!(
        accepted.len() > 20,
        "starts were accepted after the restart"
    );
    // Every accepted instance waits at its user task; completing its job
    // completes it.
    for id in &accepted {
        let key = srv.open_job_key(id).await;
        let (status, body) = srv
            .post("/api/v1/jobs/complete", json!({"jobKey": key}))
            .await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
    }
    for id in &accepted {
        srv.wait_for(id, |v| v["status"] == "completed").await;
    }
    let srv = std::sync::Arc::into_inner(srv).expect("one owner");
    assert!(srv.stop().success());
}
