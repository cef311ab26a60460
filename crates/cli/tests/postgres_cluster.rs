//! Several `windlass server` nodes on one PostgreSQL database: one holds
//! the database's lease and writes, the others stand by and forward API
//! calls to it. Under steady load through every node the writer is killed
//! with SIGKILL: a standby takes over within the lease time, and no
//! accepted instance is lost, stuck or doubled, and no job is completed
//! twice. A writer paused with SIGSTOP past its lease is taken over, and
//! when it resumes its writes are refused (fenced) and it stops.

mod common;
mod server_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server_common::cluster::{
    Load, PIPELINE_BPMN, check_all_completed_once, database, resumed_writer_is_refused_and_stops,
};
use server_common::{REVIEW_BPMN, ServerProc};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `/readyz` says: `ok` on the writer, `standby` on the others.
async fn role(node: &ServerProc) -> Option<String> {
    let answer = node
        .client()
        .get(format!("{}/readyz", node.url))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let v: Value = answer.json().await.ok()?;
    v["status"].as_str().map(String::from)
}

/// Waits until `node` writes the database (at most `within`); returns how
/// long that took.
async fn until_writer(node: &ServerProc, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if role(node).await.as_deref() == Some("ok") {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{} did not take over within {within:?}: {}",
        node.url,
        node.stderr()
    );
}

/// A store reading the database's lease (holding none).
async fn lease_reader(db: &str) -> windlass_store_postgres::PgStore {
    windlass_store_postgres::PgStore::connect_with(
        windlass_store_postgres::PgOptions::new(db).migrate(false),
    )
    .await
    .expect("a reader of the lease")
}

/// Waits until another holder has the lease (its epoch past `epoch`, and
/// live); how long after `since` that was. Fails after `within`.
async fn taken_over(
    lease: &windlass_store_postgres::PgStore,
    epoch: i64,
    since: Instant,
    within: Duration,
) -> Duration {
    loop {
        let holder = lease.lease_holder().await.expect("read").expect("row");
        if holder.epoch > epoch && holder.live {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < within,
            "the lease was not taken over within {within:?}: {holder:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn three_nodes_survive_the_writer_killed_under_load() {
    let Some(db) = tokio::task::spawn_blocking(|| database("cluster"))
        .await
        .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let lease = ["--lease-seconds", "3"];
    let first = ServerProc::start_postgres(&db, dir.path(), &lease);
    let nodes = [
        Arc::new(first),
        Arc::new(ServerProc::start_postgres(&db, dir.path(), &lease)),
        Arc::new(ServerProc::start_postgres(&db, dir.path(), &lease)),
    ];
    assert_eq!(role(&nodes[0]).await.as_deref(), Some("ok"));
    assert_eq!(role(&nodes[1]).await.as_deref(), Some("standby"));
    assert_eq!(role(&nodes[2]).await.as_deref(), Some("standby"));
    // Deployed through a standby: forwarded to the writer.
    let (status, body) = nodes[1].deploy(PIPELINE_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Steady load through all three nodes, one start every 10 ms.
    let load = Load::start(&nodes);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_kill = load.accepted().len();
    assert!(before_kill > 20, "the load runs: {before_kill} accepted");
    let lease = lease_reader(&db).await;
    let epoch = lease
        .lease_holder()
        .await
        .expect("read")
        .expect("held")
        .epoch;
    nodes[0].signal("KILL");
    let killed = Instant::now();
    // A standby takes the lease: at once, as the writer's lease session
    // ended with it, and in any case within the lease time (3 s).
    let takeover = taken_over(&lease, epoch, killed, Duration::from_secs(3)).await;
    // The new writer recovers the unfinished instances, then serves.
    let ready = tokio::select! {
        a = until_writer(&nodes[1], Duration::from_secs(30)) => a,
        b = until_writer(&nodes[2], Duration::from_secs(30)) => b,
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (sent, accepted) = load.stop().await;
    eprintln!(
        "{sent} starts sent, {} accepted ({before_kill} before the kill); lease taken over after \
         {takeover:?}, the new writer ready {ready:?} after that",
        accepted.len()
    );
    assert!(
        accepted.len() > before_kill + 20,
        "the load went on after the takeover: {} of {sent} accepted, {before_kill} before the kill",
        accepted.len()
    );

    // Every accepted instance completes, once, with its job completed once.
    let survivor = &nodes[1];
    check_all_completed_once(survivor, &accepted).await;
    // The history is sound.
    let check = common::windlass(&["db", "check", "--db", &db]);
    assert_eq!(check.status.code(), Some(0), "{}", common::text(&check));
    let [_, second, third] = nodes;
    for node in [second, third] {
        let node = Arc::try_unwrap(node).unwrap_or_else(|_| panic!("shared"));
        assert!(node.stop().success());
    }
}

#[tokio::test]
async fn a_writer_paused_past_its_lease_is_fenced_when_it_resumes() {
    let Some(db) = tokio::task::spawn_blocking(|| database("paused"))
        .await
        .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let lease = ["--lease-seconds", "2"];
    let first = ServerProc::start_postgres(&db, dir.path(), &lease);
    let second = ServerProc::start_postgres(&db, dir.path(), &lease);
    assert_eq!(first.deploy(REVIEW_BPMN).await.0, StatusCode::OK);
    let start = json!({"processId": "review", "instanceId": "r-1"});
    assert_eq!(
        second.post("/api/v1/instances", start).await.0,
        StatusCode::CREATED
    );
    let key = first.open_job_key("r-1").await;

    let lease = lease_reader(&db).await;
    let epoch = lease
        .lease_holder()
        .await
        .expect("read")
        .expect("held")
        .epoch;
    first.signal("STOP");
    let paused = Instant::now();
    // Its session lives on, so the standby waits for the lease to expire
    // (renewed last at most a third of 2 s before the pause).
    let took = taken_over(&lease, epoch, paused, Duration::from_secs(6)).await;
    assert!(
        took >= Duration::from_millis(1200),
        "taken over after {took:?}: before the 2 s lease could expire"
    );
    until_writer(&second, Duration::from_secs(30)).await;
    let (status, body) = second
        .post("/api/v1/jobs/complete", json!({"jobKey": key}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    second.wait_for("r-1", |v| v["status"] == "completed").await;

    // Resumed, the old writer still believes it writes: whatever it tries
    // is refused inside the transaction, and it stops.
    resumed_writer_is_refused_and_stops(first, &second, "r-late", "lost the database's lease")
        .await;
    let (status, v) = second.get("/api/v1/instances/r-1/history").await;
    assert_eq!(status, StatusCode::OK);
    let completed = v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["text"]
                .as_str()
                .is_some_and(|t| t.contains("completed through the API"))
        })
        .count();
    assert_eq!(completed, 1, "{v}");
    assert!(second.stop().success());
}
