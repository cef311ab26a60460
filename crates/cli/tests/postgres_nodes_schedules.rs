//! A schedule (a timer start event firing every second) on two
//! `windlass server --node` processes writing one PostgreSQL database: it
//! belongs to the node serving its id's partition. Deployed, listed, paused
//! and resumed through the other node (forwarded), it fires on its own
//! node; when that node is killed with SIGKILL the other takes the
//! partition and the schedule over and fires it, and no occurrence fires
//! twice.

mod server_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server_common::ServerProc;
use server_common::cluster::{TwoNodes, reader, taken_over, two_nodes};
use std::time::{Duration, Instant};
use windlass_store_api::PartitionSet;

/// The process id whose schedule `{id}/tick` lies in `set`.
fn process_in(set: &PartitionSet) -> String {
    (0..)
        .map(|i| format!("ticking{i}"))
        .find(|id| set.has_instance(&format!("{id}/tick")))
        .expect("a process id")
}

/// Process `id`, started every second by its timer start event `tick`.
fn ticking(id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="{id}" isExecutable="true">
    <startEvent id="tick"><timerEventDefinition><timeCycle>R/PT1S</timeCycle></timerEventDefinition></startEvent>
    <sequenceFlow id="f1" sourceRef="tick" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"#
    )
}

/// The schedule as `node` lists it.
async fn listed(node: &ServerProc, schedule: &str) -> Value {
    let (status, body) = node.get("/api/v1/schedules").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == schedule))
        .cloned()
        .unwrap_or_else(|| panic!("{schedule} not listed: {body}"))
}

/// The occurrences (`scheduledTime`) the schedule's runs fired for, read
/// through `node`.
async fn fires(node: &ServerProc, schedule: &str) -> Vec<String> {
    let path = format!("/api/v1/instances?idPrefix={}&limit=10000", enc(schedule));
    let (status, page) = node.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut out = Vec::new();
    for run in page["items"].as_array().expect("items") {
        if run["id"] != schedule {
            continue;
        }
        let path = format!(
            "/api/v1/instances/{}?run={}",
            enc(schedule),
            run["run"].as_str().expect("run")
        );
        let (status, view) = node.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        out.push(view["variables"]["scheduledTime"].to_string());
    }
    out
}

/// Waits (up to 20 s) until the schedule fired `n` times in all.
async fn fired(node: &ServerProc, schedule: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let f = fires(node, schedule).await;
        if f.len() >= n {
            return f;
        }
        assert!(Instant::now() < deadline, "fired only {f:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn enc(id: &str) -> String {
    id.replace('/', "%2F")
}

#[tokio::test]
async fn a_schedule_fires_on_its_partitions_node_and_once_more_after_a_takeover() {
    let Some(TwoNodes {
        db,
        dir: _dir,
        a,
        a_half,
        b,
        ..
    }) = two_nodes("nodes_schedules").await
    else {
        return;
    };
    let process = process_in(&a_half);
    let schedule = format!("{process}/tick");

    // Deployed through b, which does not serve the schedule: forwarded to a.
    let (status, body) = b.deploy(&ticking(&process)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Both list it; paused and resumed through b (forwarded to a).
    assert_eq!(listed(&b, &schedule).await["paused"], false);
    let pause = format!("/api/v1/schedules/{}/pause", enc(&schedule));
    let (status, body) = b.post(&pause, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(listed(&a, &schedule).await["paused"], true);
    assert_eq!(listed(&b, &schedule).await["paused"], true);
    let resume = format!("/api/v1/schedules/{}/resume", enc(&schedule));
    let (status, body) = b.post(&resume, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // It fires on a, every second.
    fired(&b, &schedule, 2).await;
    let owners = reader(&db).await;
    a.signal("KILL");
    let killed = Instant::now();
    let took = taken_over(&owners, "a", killed, Duration::from_secs(3)).await;
    // b fires it from now on: two more fires at least, and none twice.
    let before = fires(&b, &schedule).await.len();
    let mut times = fired(&b, &schedule, before + 2).await;
    let n = times.len();
    times.sort();
    times.dedup();
    assert_eq!(times.len(), n, "an occurrence fired twice: {times:?}");
    eprintln!("a killed; taken over after {took:?}; {n} fires: {times:?}");
    assert!(listed(&b, &schedule).await["nextFireAt"].is_string());
    drop(a);
    assert!(b.stop().success());
}
