//! Call activities across two `windlass server --node` processes writing
//! one PostgreSQL database: a child lives in the partition of its own id,
//! so about half the callers' children run on the other node, their start
//! and their notice crossing as outbox rows the target's node takes (woken
//! by `NOTIFY`). One node is killed with SIGKILL while children run: the
//! other takes its partitions over, and every caller completes, each with
//! one child that ran its job once.

mod server_common;

use reqwest::StatusCode;
use server_common::ServerProc;
use server_common::cluster::{
    PIPELINE_BPMN, TwoNodes, check_all_completed_once, completions, reader, start, taken_over,
    two_nodes,
};
use std::time::{Duration, Instant};
use windlass_store_api::Partition;

/// `caller` runs `pipeline` (a shell job, then half a second's timer)
/// through a call activity.
const CALLER_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="c" targetNamespace="t">
  <process id="caller" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <callActivity id="call" calledElement="pipeline"/>
    <sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#;

/// The children of caller `id`, read through `node`.
async fn children(node: &ServerProc, id: &str) -> Vec<String> {
    let (status, page) = node
        .get(&format!("/api/v1/instances?idPrefix={id}%2F&limit=100"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn callers_complete_with_children_on_either_node_through_a_kill() {
    let Some(TwoNodes {
        db,
        dir: _dir,
        a,
        a_half,
        b,
        ..
    }) = two_nodes("nodes_calls").await
    else {
        return;
    };
    for xml in [PIPELINE_BPMN, CALLER_BPMN] {
        let (status, body) = a.deploy(xml).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Past b's first lease (its supervisor starts after it).
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Callers started through both nodes (forwarded to their owners).
    let mut callers = Vec::new();
    for i in 0..30 {
        let node = if i % 2 == 0 { &a } else { &b };
        let id = start(node, "caller", &format!("c-{i}")).await;
        callers.push(id.unwrap_or_else(|| panic!("caller c-{i} not accepted")));
    }
    // Killed with children mid-way (their timers wait half a second).
    let owners = reader(&db).await;
    a.signal("KILL");
    let killed = Instant::now();
    let took = taken_over(&owners, "a", killed, Duration::from_secs(3)).await;
    let mut running = 0;
    for id in &callers {
        let (_, view) = b.get(&format!("/api/v1/instances/{id}")).await;
        running += usize::from(view["status"] == "running");
    }
    assert!(running > 0, "the kill came after every caller had finished");

    // Every caller completes, with one child, whose job ran once.
    let mut kids = Vec::new();
    let mut crossed = 0;
    let on_a = |id: &str| a_half.contains(Partition::of_instance(id));
    for id in &callers {
        b.wait_for(id, |v| v["status"] == "completed").await;
        let mine = children(&b, id).await;
        assert_eq!(mine.len(), 1, "{id}: children {mine:?}");
        assert_eq!(completions(&b, &mine[0]).await, 1, "{}: job", mine[0]);
        crossed += usize::from(on_a(id) != on_a(&mine[0]));
        kids.extend(mine);
    }
    // Every pipeline instance in the database (the children) completed,
    // one run each.
    check_all_completed_once(&b, &kids).await;
    assert!(
        crossed > 0,
        "no child ran on the other node than its caller"
    );
    eprintln!(
        "a killed with {running} callers running; taken over after {took:?}; 30 callers \
         completed, {crossed} of them with their child on the other node"
    );
    drop(a);
    assert!(b.stop().success());
}
