//! The server on PostgreSQL while PostgreSQL restarts under load: its
//! connections and its lease session are cut; it reconnects, renews its
//! lease (nobody took it), and no instance that was accepted is lost or
//! stuck. (A test file
//! of its own: the restart cuts every connection to the test server.)

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::cluster::review_starts_through_a_restart;
use server_common::{REVIEW_BPMN, ServerProc};

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
    let (accepted, during) = review_starts_through_a_restart(std::slice::from_ref(&srv)).await;
    assert!(during > 0, "starts were accepted after the restart");
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
