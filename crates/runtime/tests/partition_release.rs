//! Giving partitions up while running (`RuntimeHandle::release`), as a
//! node rebalancing hands partitions to another (two nodes sharing one
//! in-memory store, as nodes share one PostgreSQL database; the store's
//! side, releasing the ownership rows, is tested on PostgreSQL in
//! `crates/cli/tests/postgres_nodes_rebalance.rs`). Node `a` serves every
//! partition and node `b` none; `a` gives half up mid-way — instances
//! waiting on timers, parents waiting on children, children waiting on
//! external jobs — and `b` adopts that half: everything completes, each
//! timer fires once and each job completes once, and `a` refuses calls
//! about the half it gave up.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use windlass_engine::Event;
use windlass_runtime::{
    Handlers, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions, StartRequest, parse_job_key,
};
use windlass_store_api::{InstanceRef, PartitionSet};
use windlass_store_memory::MemoryStore;

/// `rel`: start → wait 400 ms → "Work" → end; and `parent` calling
/// `child`, whose "Inside" is handed to external workers.
fn processes() -> String {
    let rel = r#"<process id="rel" isExecutable="true">
  <startEvent id="rs"/>
  <sequenceFlow id="r1" sourceRef="rs" targetRef="wait"/>
  <intermediateCatchEvent id="wait" name="Wait">
    <timerEventDefinition><timeDuration>PT0.4S</timeDuration></timerEventDefinition>
  </intermediateCatchEvent>
  <sequenceFlow id="r2" sourceRef="wait" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="r3" sourceRef="work" targetRef="re"/>
  <endEvent id="re"/>
</process>
</definitions>"#;
    parent_and_child().replace("</definitions>", rel)
}

/// What one node's handlers did.
#[derive(Default, Clone)]
struct Work {
    work: Arc<AtomicUsize>,
    after: Arc<AtomicUsize>,
    handed: Handed,
}

/// A node serving `partitions` (one among others, whatever it serves).
async fn node(
    store: MemoryStore,
    partitions: PartitionSet,
    w: &Work,
) -> RuntimeHandle<MemoryStore> {
    let opts = RuntimeOptions {
        partitions: Some(partitions),
        delivery_poll: Duration::from_millis(5),
        ..RuntimeOptions::default()
    };
    let handlers = Handlers::new()
        .on_name("Work", counting(w.work.clone(), "work"))
        .on_name("After", counting(w.after.clone(), "after"))
        .on_name("Inside", external(w.handed.clone()));
    Runtime::start(opts, store, handlers).await.unwrap()
}

/// How many events of `rt`'s `id` match `what`.
async fn count(
    rt: &RuntimeHandle<MemoryStore>,
    id: &InstanceRef,
    what: fn(&Event) -> bool,
) -> usize {
    events(rt, id).await.iter().filter(|e| what(e)).count()
}

/// Completes every external job handed out on `w` whose token is live.
async fn complete_handed(rt: &RuntimeHandle<MemoryStore>, w: &Work) -> usize {
    let live: Vec<String> = w
        .handed
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, token)| !token.is_cancelled())
        .map(|(key, _)| key.clone())
        .collect();
    for key in &live {
        rt.complete_job(key, Default::default()).await.unwrap();
    }
    w.handed.lock().unwrap().clear();
    live.len()
}

#[tokio::test]
async fn released_partitions_move_to_the_adopting_node_and_everything_completes_once() {
    let store = MemoryStore::new();
    let (wa, wb) = (Work::default(), Work::default());
    let a = node(store.clone(), PartitionSet::all(), &wa).await;
    let b = node(store.clone(), PartitionSet::none(), &wb).await;
    a.deploy(&processes()).await.unwrap();
    let half = PartitionSet::share(1, 2);

    let mut rels = Vec::new();
    for i in 0..30 {
        let req = StartRequest {
            instance_id: Some(format!("r-{i}")),
            ..StartRequest::new("rel")
        };
        rels.push(a.start_instance(req).await.unwrap());
    }
    let mut parents = Vec::new();
    for i in 0..10 {
        let req = StartRequest {
            instance_id: Some(format!("p-{i}")),
            ..StartRequest::new("parent")
        };
        parents.push(a.start_instance(req).await.unwrap());
    }
    // Every child waits for its external "Inside".
    for _ in 0..200 {
        if wa.handed.lock().unwrap().len() == parents.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tokens: Vec<(String, windlass_runtime::CancellationToken)> =
        wa.handed.lock().unwrap().clone();
    assert_eq!(tokens.len(), parents.len());

    // Someone waits on a for an instance of the half.
    let waited = rels
        .iter()
        .find(|r| half.has_instance(&r.id.0))
        .unwrap()
        .clone();
    let waiter = {
        let (a, waited) = (a.clone(), waited.clone());
        tokio::spawn(async move { a.wait_finished(&waited).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;

    // a gives the half up while the timers are pending.
    let report = a.release(half).await.unwrap();
    // The waiter is told to wait at the next owner.
    let err = waiter.await.unwrap().unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");
    let err = a.wait_finished(&waited).await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");
    assert_eq!(report.partitions, half);
    let in_half = |r: &InstanceRef| half.has_instance(&r.id.0);
    let children_in_half = tokens
        .iter()
        .filter(|(key, _)| in_half(&parse_job_key(key).unwrap().0))
        .count();
    let expected = rels.iter().filter(|r| in_half(r)).count()
        + parents.iter().filter(|r| in_half(r)).count()
        + children_in_half;
    assert_eq!(report.instances, expected);
    assert!(expected > 5 && children_in_half > 0, "{expected}");
    assert_eq!(a.partitions(), PartitionSet::all().difference(&half));
    // The external jobs of the children let go are cancelled on a.
    for (key, token) in &tokens {
        let moved = in_half(&parse_job_key(key).unwrap().0);
        assert_eq!(token.is_cancelled(), moved, "{key}");
    }
    // a refuses calls about the half it gave up, and says who serves it.
    let moved = rels.iter().find(|r| in_half(r)).unwrap();
    let err = a.cancel(moved, "no").await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");
    // Giving it up again changes nothing.
    assert_eq!(a.release(half).await.unwrap().instances, 0);

    // b adopts the half: its instances resume there.
    let adopted = b.adopt(half).await.unwrap();
    assert_eq!(adopted.instances, expected);
    // The moved children's jobs are handed out again, on b.
    for _ in 0..200 {
        if wb.handed.lock().unwrap().len() == children_in_half {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(complete_handed(&b, &wb).await, children_in_half);
    assert_eq!(
        complete_handed(&a, &wa).await,
        parents.len() - children_in_half
    );

    let owner = |r: &InstanceRef| if in_half(r) { &b } else { &a };
    for r in rels.iter().chain(&parents) {
        let out = finished(owner(r), r).await;
        assert!(out.status.is_finished(), "{r}: {:?}", out.status);
        let fired = count(owner(r), r, |e| matches!(e, Event::TimerFired { .. })).await;
        let done = count(owner(r), r, |e| matches!(e, Event::JobCompleted { .. })).await;
        let expected_fired = usize::from(r.id.0.starts_with("r-"));
        assert_eq!(fired, expected_fired, "{r}: timers fired");
        assert_eq!(done, 1, "{r}: jobs completed");
    }
    let work = wa.work.load(Ordering::SeqCst) + wb.work.load(Ordering::SeqCst);
    let after = wa.after.load(Ordering::SeqCst) + wb.after.load(Ordering::SeqCst);
    assert_eq!(work, rels.len());
    assert_eq!(after, parents.len());
    assert!(wb.work.load(Ordering::SeqCst) > 0, "no timer fired on b");
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_node_may_take_back_what_it_gave_up_and_the_single_node_gives_nothing_up() {
    let store = MemoryStore::new();
    let w = Work::default();
    let a = node(store.clone(), PartitionSet::all(), &w).await;
    a.deploy(&processes()).await.unwrap();
    let half = PartitionSet::share(0, 2);
    let mut rels = Vec::new();
    for i in 0..10 {
        let req = StartRequest {
            instance_id: Some(format!("back-{i}")),
            ..StartRequest::new("rel")
        };
        rels.push(a.start_instance(req).await.unwrap());
    }
    let released = a.release(half).await.unwrap();
    assert!(released.instances > 0);
    // Nobody adopted them meanwhile: their timers stay unfired.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let moved: Vec<&InstanceRef> = rels.iter().filter(|r| half.has_instance(&r.id.0)).collect();
    for r in &moved {
        let fired = count(&a, r, |e| matches!(e, Event::TimerFired { .. })).await;
        assert_eq!(fired, 0, "{r} fired while nobody served it");
    }
    // Taken back: they resume and complete here, once each.
    let back = a.adopt(half).await.unwrap();
    assert_eq!(back.instances, released.instances);
    for r in &rels {
        assert!(finished(&a, r).await.status.is_finished());
        let fired = count(&a, r, |e| matches!(e, Event::TimerFired { .. })).await;
        assert_eq!(fired, 1, "{r}");
    }
    assert_eq!(w.work.load(Ordering::SeqCst), rels.len());
    a.shutdown().await.unwrap();

    // The single node of its store serves every partition for good.
    let single = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await
    .unwrap();
    let err = single.release(half).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{err}");
    single.shutdown().await.unwrap();
}
