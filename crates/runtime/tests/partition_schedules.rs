//! Schedules on runtimes serving some partitions (two nodes sharing one
//! in-memory store, as two nodes share one PostgreSQL database; the fenced
//! PostgreSQL version is in `partition_failover.rs`): a schedule belongs to
//! the node serving its id's partition, which alone deploys, pauses and
//! fires it; the other node lists it and refuses the rest naming the
//! partition; adopting the partition takes the schedule over from its row
//! as last committed, so each occurrence fires once.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;
use windlass_runtime::{Handlers, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions};
use windlass_store_api::{
    DefinitionRead, InstanceId, InstanceIndex, InstanceQuery, InstanceRow, InstanceStatus,
    Partition, PartitionSet, ScheduleRead,
};
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

/// The schedule of [`hourly`].
const SCHEDULE: &str = "hourly/s";

/// A process started every hour by its timer start event `s` (or by
/// hand at `manual`); `version` names its end event, so each is a new
/// version.
fn hourly(version: u32) -> String {
    doc(&format!(
        r#"<process id="hourly" isExecutable="true">
  <startEvent id="s"><timerEventDefinition><timeCycle>R/PT1H</timeCycle></timerEventDefinition></startEvent>
  <startEvent id="manual"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  <sequenceFlow id="f2" sourceRef="manual" targetRef="e"/>
  <endEvent id="e" name="v{version}"/>
</process>"#
    ))
}

/// The definition key of version `version` of `hourly`.
async fn key_of(store: &MemoryStore, version: u32) -> String {
    store
        .definitions()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.process_id == "hourly" && d.version == version)
        .unwrap()
        .key
}

/// A process with two timer start events, whose schedules land in
/// different partitions.
fn two_schedules(a: &str, b: &str) -> String {
    doc(&format!(
        r#"<process id="twice" isExecutable="true">
  <startEvent id="{a}"><timerEventDefinition><timeCycle>R/PT1H</timeCycle></timerEventDefinition></startEvent>
  <startEvent id="{b}"><timerEventDefinition><timeCycle>R/PT2H</timeCycle></timerEventDefinition></startEvent>
  <sequenceFlow id="f1" sourceRef="{a}" targetRef="e"/>
  <sequenceFlow id="f2" sourceRef="{b}" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

/// The two halves of the partitions: the one holding `id`, then the other.
fn halves_around(id: &str) -> (PartitionSet, PartitionSet) {
    let p = Partition::of_instance(id);
    let first = PartitionSet::share(0, 2);
    if first.contains(p) {
        (first, PartitionSet::share(1, 2))
    } else {
        (PartitionSet::share(1, 2), first)
    }
}

async fn node(
    store: MemoryStore,
    partitions: PartitionSet,
    clock: Arc<MockClock>,
) -> RuntimeHandle<MemoryStore> {
    let opts = RuntimeOptions {
        clock,
        partitions: Some(partitions),
        ..RuntimeOptions::default()
    };
    Runtime::start(opts, store, Handlers::new()).await.unwrap()
}

/// Every run of instance id `id`, oldest first.
async fn runs(store: &MemoryStore, id: &str) -> Vec<InstanceRow> {
    let q = InstanceQuery {
        id: Some(InstanceId::new(id)),
        ..Default::default()
    };
    store.query_instances(&q).await.unwrap()
}

/// Advances the clock and waits until `rt`'s schedule service has fired
/// what fell due (it serves due fires before requests).
async fn advance(rt: &RuntimeHandle<MemoryStore>, clock: &MockClock, ms: i64) {
    clock.advance(ms);
    tokio::time::timeout(Duration::from_secs(20), rt.schedules())
        .await
        .unwrap()
        .unwrap();
}

/// Waits (up to 10 s) until instance id `id` has `n` completed runs.
async fn completed_runs(store: &MemoryStore, id: &str, n: usize) -> Vec<InstanceRow> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = runs(store, id).await;
        let done = rows
            .iter()
            .filter(|r| r.status == InstanceStatus::Completed)
            .count();
        if done >= n || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_schedule_fires_once_on_the_node_serving_it_and_moves_with_its_partition() {
    let store = MemoryStore::new();
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (own, other) = halves_around(SCHEDULE);
    let partition = Partition::of_instance(SCHEDULE).0;
    let a = node(store.clone(), own, clock.clone()).await;
    let b = node(store.clone(), other, clock.clone()).await;

    // Only the node serving the schedule's partition deploys its process;
    // the other refuses before writing, naming the partition to go to.
    let err = b.deploy(&hourly(1)).await.unwrap_err();
    let RuntimeError::ScheduleElsewhere {
        schedule,
        partition: p,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((schedule.as_str(), *p), (SCHEDULE, partition));
    assert!(store.definitions().await.unwrap().is_empty());
    a.deploy(&hourly(1)).await.unwrap();
    // b starts one by hand: it knows version 1 as the latest from now on.
    let by_hand = b
        .start_instance(windlass_runtime::StartRequest::new("hourly"))
        .await
        .unwrap();
    assert_eq!(
        finished(&b, &by_hand).await.status,
        InstanceStatus::Completed
    );

    // Both list it; only its node pauses it or tells its next times.
    for rt in [&a, &b] {
        let listed = rt.schedules().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, SCHEDULE);
        assert_eq!(listed[0].next_fire_at, Some(Timestamp(T0 + HOUR)));
    }
    for err in [
        b.pause_schedule(SCHEDULE).await.unwrap_err(),
        b.trigger_schedule(SCHEDULE).await.unwrap_err(),
        b.next_fire_times(SCHEDULE, 2).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, RuntimeError::ScheduleElsewhere { partition: p, .. } if *p == partition),
            "{err}"
        );
    }
    assert_eq!(
        a.next_fire_times(SCHEDULE, 2).await.unwrap(),
        vec![Timestamp(T0 + HOUR), Timestamp(T0 + 2 * HOUR)]
    );
    // A redeploy through the other node is refused too, even one that
    // drops the timer start event: the row it would delete is not its.
    let err = b.deploy(&simple("hourly")).await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::ScheduleElsewhere { .. }),
        "{err}"
    );

    // The hour comes: its node fires once, under the schedule's id.
    advance(&a, &clock, HOUR).await;
    advance(&b, &clock, 0).await;
    let rows = completed_runs(&store, SCHEDULE, 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, InstanceStatus::Completed);
    // Its node deploys version 2 (the schedule is unchanged and stays).
    a.deploy(&hourly(2)).await.unwrap();

    // Its node stops (as if dead); the other adopts the partition and
    // goes on from the row as committed: the next hour fires once more.
    a.shutdown().await.unwrap();
    b.adopt(own).await.unwrap();
    let listed = b.schedules().await.unwrap();
    assert_eq!(listed[0].next_fire_at, Some(Timestamp(T0 + 2 * HOUR)));
    assert_eq!(
        listed[0].last_fire_at,
        Some(Timestamp(T0 + HOUR)),
        "{listed:?}"
    );
    advance(&b, &clock, HOUR).await;
    let rows = completed_runs(&store, SCHEDULE, 2).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    // It started the latest version, not the one b knew before adopting.
    assert_eq!(rows[0].definition_key, key_of(&store, 1).await);
    assert_eq!(rows[1].definition_key, key_of(&store, 2).await);
    // Now its node, it pauses and redeploys it.
    b.pause_schedule(SCHEDULE).await.unwrap();
    b.deploy(&simple("hourly")).await.unwrap();
    assert!(b.schedules().await.unwrap().is_empty());
    assert!(store.schedules().await.unwrap().is_empty());
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_process_with_schedules_in_partitions_of_two_nodes_is_refused_by_name() {
    let store = MemoryStore::new();
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (own, _) = halves_around("twice/a0");
    // A second start event whose schedule lies in the other half.
    let b_id = (0..)
        .map(|i| format!("b{i}"))
        .find(|id| !own.contains(Partition::of_instance(&format!("twice/{id}"))))
        .unwrap();
    let a = node(store.clone(), own, clock).await;
    let err = a.deploy(&two_schedules("a0", &b_id)).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{text}");
    assert!(
        text.contains("process 'twice' has schedules in several partitions"),
        "{text}"
    );
    assert!(store.definitions().await.unwrap().is_empty());
    a.shutdown().await.unwrap();
}

/// A node giving a schedule's partition up (rebalancing,
/// `RuntimeHandle::release`) stops firing it; the node adopting the
/// partition takes it over from its row as last committed, fires the
/// occurrence missed in between once, and fires on from then on.
#[tokio::test]
async fn a_schedule_given_up_fires_on_at_the_adopting_node_and_nowhere_else() {
    let store = MemoryStore::new();
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (own, _) = halves_around(SCHEDULE);
    let a = node(store.clone(), PartitionSet::all(), clock.clone()).await;
    let b = node(store.clone(), PartitionSet::none(), clock.clone()).await;
    a.deploy(&hourly(1)).await.unwrap();
    advance(&a, &clock, HOUR).await;
    assert_eq!(completed_runs(&store, SCHEDULE, 1).await.len(), 1);

    let released = a.release(own).await.unwrap();
    assert_eq!(released.schedules, 1);
    let err = a.next_fire_times(SCHEDULE, 1).await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::ScheduleElsewhere { .. }),
        "{err}"
    );
    // Nobody serves it for an hour: nothing fires.
    advance(&a, &clock, HOUR).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(runs(&store, SCHEDULE).await.len(), 1);

    // b adopts the partition: the missed occurrence fires once, there.
    let adopted = b.adopt(own).await.unwrap();
    assert_eq!(adopted.instances, 0);
    let rows = completed_runs(&store, SCHEDULE, 2).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    advance(&b, &clock, HOUR).await;
    advance(&a, &clock, 0).await;
    let rows = completed_runs(&store, SCHEDULE, 3).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(runs(&store, SCHEDULE).await.len(), 3);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
