//! Call activities across two `windlass server --node` processes writing
//! one PostgreSQL database: a child lives in the partition of its own id,
//! so about half the callers' children run on the other node, their start
//! and their notice crossing as outbox rows the target's node takes (woken
//! by `NOTIFY`). One node is killed with SIGKILL while callers run: the
//! other takes its partitions over, and every caller completes, each with
//! one child that ran its job once.

mod server_common;

use reqwest::StatusCode;
use server_common::ServerProc;
use server_common::cluster::{
    PIPELINE_BPMN, TwoNodes, completions, reader, start, taken_over, two_nodes,
};
use std::time::{Duration, Instant};
use windlass_store_api::Partition;

/// `caller` runs `slow` through a call activity: the shared pipeline (a
/// shell job, then a timer) renamed, its timer two seconds long.
fn caller_bpmn() -> String {
    let caller = r#"<process id="caller" isExecutable="true">
    <startEvent id="cs"/>
    <sequenceFlow id="cf1" sourceRef="cs" targetRef="call"/>
    <callActivity id="call" calledElement="slow"/>
    <sequenceFlow id="cf2" sourceRef="call" targetRef="ce"/>
    <endEvent id="ce"/>
  </process>
</definitions>"#;
    PIPELINE_BPMN
        .replace(r#"<process id="pipeline""#, r#"<process id="slow""#)
        .replace("PT0.5S", "PT2S")
        .replace("</definitions>", caller)
}

/// How many of `callers` are still running, read through `node`.
async fn running(node: &ServerProc, callers: &[String]) -> usize {
    let mut n = 0;
    for id in callers {
        let (_, view) = node.get(&format!("/api/v1/instances/{id}")).await;
        n += usize::from(view["status"] == "running");
    }
    n
}

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
    let (status, body) = a.deploy(&caller_bpmn()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Past b's first lease (its supervisor starts after it).
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Callers started through both nodes (forwarded to their owners).
    let mut callers = Vec::new();
    for i in 0..30 {
        let node = if i % 2 == 0 { &a } else { &b };
        let id = start(node, "caller", &format!("c-{i}")).await;
        callers.push(id.unwrap_or_else(|| panic!("caller c-{i} not accepted")));
    }
    // Killed with callers mid-way (their children's timers wait two
    // seconds).
    let owners = reader(&db).await;
    let running = running(&b, &callers).await;
    assert!(running > 0, "every caller finished before the kill");
    a.signal("KILL");
    let killed = Instant::now();
    let took = taken_over(&owners, "a", killed, Duration::from_secs(3)).await;

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
    // Nothing else was started: one child per caller.
    let (status, list) = b.get("/api/v1/instances?limit=10000&processId=slow").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(kids.len()));
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
