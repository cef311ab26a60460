//! Several `windlass server --node` processes writing one PostgreSQL
//! database at once, each the instance partitions it owns; calls about
//! another node's instances are forwarded to it. Under steady load through
//! every node one node is killed with SIGKILL: the others take its
//! partitions over within the lease, and no accepted instance is lost,
//! stuck or doubled, and no job is completed twice. A node paused with
//! SIGSTOP past its lease is taken over, and when it resumes its writes
//! are refused (fenced) and it stops. (Call activities across nodes:
//! `postgres_nodes_calls.rs`; schedules: `postgres_nodes_schedules.rs`.)

mod common;
mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::cluster::{
    Load, PIPELINE_BPMN, TwoNodes, check_all_completed_once, completions, database, node, reader,
    resumed_writer_is_refused_and_stops, taken_over, two_nodes,
};
use server_common::{REVIEW_BPMN, ServerProc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use windlass_store_api::{Partition, PartitionSet};

/// An instance id whose partition is in `set`.
fn id_in(set: &PartitionSet, tag: &str) -> String {
    (0..)
        .map(|i| format!("{tag}-{i}"))
        .find(|id| set.contains(Partition::of_instance(id)))
        .expect("an id")
}

#[tokio::test]
async fn three_nodes_write_at_once_and_survive_one_killed_under_load() {
    let Some(db) = tokio::task::spawn_blocking(|| database("nodes"))
        .await
        .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let shares: Vec<PartitionSet> = (0..3).map(|i| PartitionSet::share(i, 3)).collect();
    let nodes: Vec<Arc<ServerProc>> = (0..3)
        .map(|i| Arc::new(node(&db, dir.path(), &format!("n{i}"), &shares[i], "3")))
        .collect();
    let (status, body) = nodes[1].deploy(PIPELINE_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // What is not partitioned yet is refused by name.
    let (status, body) = nodes[0].deploy(MESSAGE_START_BPMN).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("a message event (element 's')")),
        "{body}"
    );

    // Steady load through all three nodes, one start every 10 ms; each id
    // lands in any node's partitions, so two in three are forwarded.
    let load = Load::start(&nodes);
    // Past the survivors' first lease (their supervisors start after it).
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let before_kill = load.accepted().len();
    assert!(before_kill > 20, "the load runs: {before_kill} accepted");
    // Forwarding works: starts for every node's partitions were accepted
    // through every node.
    let owned_by = |id: &String, n: usize| shares[n].contains(Partition::of_instance(id));
    for n in 0..3 {
        let count = load.accepted().iter().filter(|id| owned_by(id, n)).count();
        assert!(count > 3, "{count} accepted for n{n}'s partitions");
    }
    let owners = reader(&db).await;
    nodes[0].signal("KILL");
    let killed = Instant::now();
    // Its node lease's session ended with it: taken at the survivors'
    // next round (a third of the lease), in any case within the lease.
    let takeover = taken_over(&owners, "n0", killed, Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (sent, accepted) = load.stop().await;
    eprintln!(
        "{sent} starts sent, {} accepted ({before_kill} before the kill); n0's partitions \
         taken over after {takeover:?}",
        accepted.len()
    );
    let after = accepted.len() - before_kill;
    assert!(
        after > 20,
        "the load went on after the takeover: {after} accepted"
    );
    let for_n0_after = accepted[before_kill..]
        .iter()
        .filter(|id| owned_by(id, 0))
        .count();
    assert!(for_n0_after > 0, "n0's partitions are served again");

    // Every accepted instance completes, once, with its job completed once.
    let survivor = &nodes[1];
    check_all_completed_once(survivor, &accepted).await;
    // The history is sound.
    let check = common::windlass(&["db", "check", "--db", &db]);
    assert_eq!(check.status.code(), Some(0), "{}", common::text(&check));
    let mut nodes = nodes.into_iter();
    drop(nodes.next());
    for node in nodes {
        let node = Arc::try_unwrap(node).unwrap_or_else(|_| panic!("shared"));
        assert!(node.stop().success());
    }
}

/// A process started by a message: not partitioned yet.
const MESSAGE_START_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="m" targetNamespace="t">
  <message id="go" name="go"/>
  <process id="on-go" isExecutable="true">
    <startEvent id="s"><messageEventDefinition messageRef="go"/></startEvent>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#;

#[tokio::test]
async fn a_node_paused_past_its_lease_is_fenced_when_it_resumes() {
    let Some(TwoNodes {
        db,
        dir: _dir,
        a: first,
        a_half: first_half,
        b: second,
        ..
    }) = two_nodes("nodes_paused").await
    else {
        return;
    };
    assert_eq!(first.deploy(REVIEW_BPMN).await.0, StatusCode::OK);
    // An instance of a's, started through b (forwarded), waiting for a
    // person.
    let id = id_in(&first_half, "r");
    let started = second
        .post(
            "/api/v1/instances",
            json!({"processId": "review", "instanceId": id}),
        )
        .await;
    assert_eq!(started.0, StatusCode::CREATED, "{}", started.1);
    let key = first.open_job_key(&id).await;

    let owners = reader(&db).await;
    first.signal("STOP");
    let paused = Instant::now();
    // Its session lives on, so b waits for a's lease to expire.
    let took = taken_over(&owners, "a", paused, Duration::from_secs(8)).await;
    assert!(
        took >= Duration::from_millis(1200),
        "taken over after {took:?}: before the 2 s lease could expire"
    );
    // b serves a's instance now: completing its job through b works.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = second
            .post("/api/v1/jobs/complete", json!({"jobKey": key}))
            .await;
        if status == StatusCode::OK {
            break;
        }
        // Between the claim and the adoption the job is not open yet.
        assert!(Instant::now() < deadline, "{status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.wait_for(&id, |v| v["status"] == "completed").await;

    // Resumed, a still believes it owns its half: whatever it writes there
    // is refused inside the transaction, and it stops.
    let late = id_in(&first_half, "late");
    resumed_writer_is_refused_and_stops(first, &second, &late, "lost its node lease").await;
    assert_eq!(completions(&second, &id).await, 1);
    assert!(second.stop().success());
}

#[test]
fn node_options_are_checked_before_anything_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let db = db.to_str().expect("utf-8");
    let out = common::windlass(&["server", "--db", db, "--node", "a"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("--node needs a PostgreSQL --db"),
        "{}",
        common::text(&out)
    );
    assert!(!dir.path().join("w.db").exists(), "the database was opened");
    let out = common::windlass(&["server", "--node", "a", "--partitions", "0-300"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("partition 300 is out of range"),
        "{}",
        common::text(&out)
    );
    let out = common::windlass(&["server", "--partitions", "0-9"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("--node"),
        "{}",
        common::text(&out)
    );
}
