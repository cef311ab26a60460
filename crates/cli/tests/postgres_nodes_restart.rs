//! Two `windlass server --node` processes writing one PostgreSQL database
//! while PostgreSQL restarts under load: every connection and both node
//! lease sessions are cut; the nodes reconnect and renew, neither takes
//! the other's partitions over (a restart ends every session, so a gone
//! session is no sign of a dead node then), and no instance that was
//! accepted is lost or stuck. (A test file of its own: the restart cuts
//! every connection to the test server.) Their `LISTEN` sessions end too,
//! and each listens again on a new one.

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::cluster::review_starts_through_a_restart;
use server_common::{REVIEW_BPMN, ServerProc};
use std::sync::Arc;
use std::time::Duration;
use windlass_store_api::PartitionSet;

/// The partitions each node owns, read from the database.
async fn owners(db: &str) -> Vec<(String, bool)> {
    let reader = windlass_store_postgres::PgStore::connect_with(
        windlass_store_postgres::PgOptions::new(db).migrate(false),
    )
    .await
    .expect("a reader");
    reader
        .partition_owners()
        .await
        .expect("owners")
        .into_iter()
        .map(|o| (o.node, o.live))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_survive_a_postgres_restart_under_load_and_keep_their_partitions() {
    let Some(db) =
        tokio::task::spawn_blocking(|| windlass_pg_testing::schema_url_blocking("nodes_restart"))
            .await
            .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let node = |name: &str, set: PartitionSet| {
        let set = set.to_string();
        ServerProc::start_postgres(
            &db,
            dir.path(),
            &["--node", name, "--partitions", &set, "--lease-seconds", "5"],
        )
    };
    let nodes = [
        Arc::new(node("a", PartitionSet::share(0, 2))),
        Arc::new(node("b", PartitionSet::share(1, 2))),
    ];
    assert_eq!(nodes[0].deploy(REVIEW_BPMN).await.0, StatusCode::OK);
    let before = owners(&db).await;
    let (accepted, during) = review_starts_through_a_restart(&nodes).await;
    assert!(during > 0, "starts were accepted after the restart");
    // Past a whole lease after the restart: each node still owns its half
    // (renewed from a new session), nobody was fenced.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = owners(&db).await;
    assert_eq!(
        after.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        before.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "partitions moved"
    );
    assert!(after.iter().all(|(_, live)| *live), "a node's lease lapsed");
    // Every accepted instance waits at its user task; completing its job
    // (through either node: forwarded to the owner) completes it.
    for (i, id) in accepted.iter().enumerate() {
        let key = nodes[0].open_job_key(id).await;
        let (status, body) = nodes[(i + 1) % 2]
            .post("/api/v1/jobs/complete", json!({"jobKey": key}))
            .await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
    }
    for id in &accepted {
        nodes[1].wait_for(id, |v| v["status"] == "completed").await;
    }
    for node in nodes {
        let node = Arc::into_inner(node).expect("one owner");
        let log = node.stderr();
        // The restart ended its LISTEN session; it listens on a new one.
        assert!(log.contains("listening for wake-ups again"), "{log}");
        assert!(node.stop().success(), "{log}");
    }
}
