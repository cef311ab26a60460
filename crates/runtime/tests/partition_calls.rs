//! Call activities across runtimes serving some partitions (two nodes
//! sharing one in-memory store, as two nodes share one PostgreSQL
//! database; with real PostgreSQL and a killed node in
//! `partition_failover.rs`): a child lives in the partition of its own id,
//! so about half the children of one node's parents run on the other node.
//! The child start, the child's notice, its termination when the call is
//! interrupted and a callee that cannot start all cross nodes as outbox
//! rows the target's node takes (`deliveries.rs`), each once.
#![allow(clippy::unwrap_used)]

mod common;

use common::gated::Gated;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_store_api::{
    InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus, OutboxRead, Partition, PartitionSet,
};
use windlass_store_memory::MemoryStore;

/// `parent` calls `child` (whose "Inside" runs on the child's node), then
/// runs "After"; `orphan` calls `missing`, which is never deployed.
fn processes() -> String {
    parent_and_child().replace(
        "</definitions>",
        r#"<process id="orphan" isExecutable="true">
  <startEvent id="os"/>
  <sequenceFlow id="o1" sourceRef="os" targetRef="ocall"/>
  <callActivity id="ocall" name="Call missing" calledElement="missing"/>
  <sequenceFlow id="o2" sourceRef="ocall" targetRef="oe"/>
  <endEvent id="oe"/>
</process>
</definitions>"#,
    )
}

/// What one node's handlers did.
#[derive(Default, Clone)]
struct Work {
    inside: Arc<AtomicUsize>,
    after: Arc<AtomicUsize>,
    handed: Handed,
}

/// A node serving `half` of the partitions; "Inside" is external when
/// `hold` (the test completes or cancels it), else done at once. Its
/// commits take 20 ms each (a slow database), many times its delivery
/// poll: a delivery taken twice while its first commit is under way would
/// start a child twice or consume its row twice.
async fn node(store: MemoryStore, half: u16, hold: bool, work: &Work) -> RuntimeHandle<Gated> {
    node_polling(store, half, hold, work, Duration::from_millis(2)).await
}

/// [`node`], looking for deliveries every `poll`.
async fn node_polling(
    store: MemoryStore,
    half: u16,
    hold: bool,
    work: &Work,
    poll: Duration,
) -> RuntimeHandle<Gated> {
    let mut store = Gated::new(store);
    store.delay = Some(Duration::from_millis(20));
    let inside: Box<
        dyn Fn(&windlass_runtime::Job) -> windlass_runtime::HandlerResult + Send + Sync,
    > = if hold {
        Box::new(external(work.handed.clone()))
    } else {
        Box::new(counting(work.inside.clone(), "inside"))
    };
    let handlers = Handlers::new()
        .on_name("Inside", inside)
        .on_name("After", counting(work.after.clone(), "after"));
    let opts = RuntimeOptions {
        partitions: Some(PartitionSet::share(half, 2)),
        delivery_poll: poll,
        ..RuntimeOptions::default()
    };
    Runtime::start(opts, store, handlers).await.unwrap()
}

/// The node of the two serving `id`.
fn owner<'a>(nodes: &'a [RuntimeHandle<Gated>; 2], id: &InstanceRef) -> &'a RuntimeHandle<Gated> {
    if nodes[0]
        .partitions()
        .contains(Partition::of_instance(&id.id.0))
    {
        &nodes[0]
    } else {
        &nodes[1]
    }
}

/// Every run in the store of instance ids starting with `prefix`.
async fn runs_under(store: &MemoryStore, prefix: &str) -> Vec<windlass_store_api::InstanceRow> {
    let q = InstanceQuery {
        id_prefix: Some(prefix.to_string()),
        ..Default::default()
    };
    store.query_instances(&q).await.unwrap()
}

#[tokio::test]
async fn children_on_the_other_node_start_finish_and_report_once() {
    let store = MemoryStore::new();
    let (wa, wb) = (Work::default(), Work::default());
    let nodes = [
        node(store.clone(), 0, false, &wa).await,
        node(store.clone(), 1, false, &wb).await,
    ];
    nodes[0].deploy(&processes()).await.unwrap();

    // Parents started through both nodes (each in its node's partitions).
    let mut parents = Vec::new();
    for i in 0..40 {
        let rt = &nodes[i % 2];
        parents.push(
            rt.start_instance(StartRequest::new("parent"))
                .await
                .unwrap(),
        );
    }
    let mut crossed = 0;
    for p in &parents {
        let out = finished(owner(&nodes, p), p).await;
        assert_eq!(out.status, InstanceStatus::Completed, "{p}: {out:?}");
        // The child's outputs came back (the handler's running count).
        assert!(out.variables["inside"].is_number(), "{p}: {out:?}");
        let [child] = out.called.as_slice() else {
            panic!("{p} called {:?}", out.called)
        };
        // Exactly one run of the child, completed.
        let runs = runs_under(&store, &format!("{}/", p.id.0)).await;
        assert_eq!(runs.len(), 1, "{p}: {runs:?}");
        assert_eq!(runs[0].status, InstanceStatus::Completed);
        assert_eq!(&runs[0].instance, child);
        if !std::ptr::eq(owner(&nodes, p), owner(&nodes, child)) {
            crossed += 1;
        }
    }
    assert!(crossed > 0, "no child ran on the other node");
    let inside = wa.inside.load(Ordering::SeqCst) + wb.inside.load(Ordering::SeqCst);
    let after = wa.after.load(Ordering::SeqCst) + wb.after.load(Ordering::SeqCst);
    assert_eq!((inside, after), (40, 40));
    // Nothing is left in flight: each parent settles.
    for p in &parents {
        settled(owner(&nodes, p), p).await;
    }
    eprintln!("{crossed} of 40 children ran on the other node");

    // A callee that cannot start is an incident on the call activity,
    // whichever node the child would have been on.
    let mut orphans = Vec::new();
    for i in 0..20 {
        let rt = &nodes[i % 2];
        orphans.push(
            rt.start_instance(StartRequest::new("orphan"))
                .await
                .unwrap(),
        );
    }
    for o in &orphans {
        let out = settled(owner(&nodes, o), o).await;
        assert_eq!(out.status, InstanceStatus::Incident, "{o}");
        assert!(
            out.incidents.len() == 1
                && out.incidents[0].contains("called process 'missing' cannot start"),
            "{o}: {:?}",
            out.incidents
        );
        assert!(runs_under(&store, &format!("{}/", o.id.0)).await.is_empty());
    }
    for rt in nodes {
        rt.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn cancelling_a_parent_terminates_its_child_on_the_other_node() {
    let store = MemoryStore::new();
    let (wa, wb) = (Work::default(), Work::default());
    let nodes = [
        node(store.clone(), 0, true, &wa).await,
        node(store.clone(), 1, true, &wb).await,
    ];
    nodes[0].deploy(&processes()).await.unwrap();
    // Parents until one's child waits on the other node.
    let (parent, child) = loop {
        let p = nodes[0]
            .start_instance(StartRequest::new("parent"))
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let child = loop {
            if let Some(c) = runs_under(&store, &format!("{}/", p.id.0)).await.pop() {
                break c.instance;
            }
            assert!(std::time::Instant::now() < deadline, "{p} started no child");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if nodes[1]
            .partitions()
            .contains(Partition::of_instance(&child.id.0))
        {
            break (p, child);
        }
    };
    // Its job is handed out on the child's node.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !wb
        .handed
        .lock()
        .unwrap()
        .iter()
        .any(|(k, _)| k.starts_with(&child.id.0))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the child's job never ran"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    nodes[0].cancel(&parent, "not needed").await.unwrap();
    let out = finished(&nodes[0], &parent).await;
    assert_eq!(out.status, InstanceStatus::Cancelled);
    let out = finished(&nodes[1], &child).await;
    assert_eq!(out.status, InstanceStatus::Terminated, "{out:?}");
    // The child's job was cancelled with it.
    let token = wb
        .handed
        .lock()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with(&child.id.0))
        .map(|(_, t)| t.clone())
        .unwrap();
    assert!(token.is_cancelled());
    for rt in nodes {
        rt.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn adopting_takes_the_notices_the_old_owner_sent_to_served_partitions() {
    let store = MemoryStore::new();
    let (wa, wb) = (Work::default(), Work::default());
    // a never looks for deliveries on its own (no wake, an hour's poll):
    // what it gets below comes from the adoption.
    let a = node_polling(store.clone(), 0, false, &wa, Duration::from_secs(3600)).await;
    let b = node(store.clone(), 1, false, &wb).await;
    a.deploy(&processes()).await.unwrap();
    // A parent of a's whose child runs on b: b takes the start, runs the
    // child to its end and leaves its notice for a.
    let (parent, child) = loop {
        let p = a.start_instance(StartRequest::new("parent")).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let child = loop {
            let runs = runs_under(&store, &format!("{}/", p.id.0)).await;
            if let Some(c) = runs
                .into_iter()
                .find(|c| c.status == InstanceStatus::Completed)
            {
                break Some(c.instance);
            }
            if std::time::Instant::now() > deadline {
                // Its child is a's, whose start a never looks for.
                break None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        match child {
            Some(c) if b.partitions().contains(Partition::of_instance(&c.id.0)) => break (p, c),
            _ => {}
        }
    };
    let notices = || async {
        let rows = store.pending_outbox().await.unwrap();
        rows.into_iter()
            .filter(|r| r.kind == "child-done" && r.key.contains(&child.id.0))
            .count()
    };
    assert_eq!(notices().await, 1, "b left the child's notice for a");
    // b stops (as if dead); a adopts its partitions: the notice b sent is
    // taken at once, and the parent goes on.
    b.shutdown().await.unwrap();
    a.adopt(PartitionSet::share(1, 2)).await.unwrap();
    let out = finished(&a, &parent).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    assert_eq!(notices().await, 0);
    a.shutdown().await.unwrap();
}
