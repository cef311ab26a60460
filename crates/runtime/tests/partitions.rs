//! A runtime serving only some instance partitions
//! (`RuntimeOptions::partitions`), on the in-memory store shared by two
//! runtimes (as two nodes share one PostgreSQL database; the fenced
//! PostgreSQL version is `partition_failover.rs`): generated ids land in
//! its partitions, requests elsewhere are refused naming the partition,
//! what is not partitioned yet is refused by name, recovery takes only its
//! partitions, and adopting the others while running takes over their
//! instances, jobs and timers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_runtime::{
    Handlers, Message, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_store_api::{
    DefinitionRead, InstanceIndex, InstanceRef, InstanceStatus, PartitionSet,
};
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

fn half(i: u16) -> PartitionSet {
    PartitionSet::share(i, 2)
}

/// A runtime on `store`: the single node (`None`) or a node serving the
/// partitions given.
async fn node(
    store: MemoryStore,
    partitions: Option<PartitionSet>,
    clock: Arc<MockClock>,
    handed: Handed,
    after: Arc<AtomicUsize>,
) -> RuntimeHandle<MemoryStore> {
    let handlers = Handlers::new()
        .on_name("Work", external(handed))
        .on_name("After", counting(after, "after"));
    let opts = RuntimeOptions {
        clock,
        partitions,
        ..RuntimeOptions::default()
    };
    Runtime::start(opts, store, handlers).await.unwrap()
}

fn keys(handed: &Handed) -> Vec<String> {
    handed
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect()
}

/// Waits (up to 10 s) until `n` jobs were handed out, and a moment more
/// to see that no more come.
async fn handed_out(handed: &Handed, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while keys(handed).len() < n && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(keys(handed).len(), n);
}

/// The job key's instance id (keys are `instance/run/node/token/attempt`).
fn instance_of(key: &str) -> String {
    windlass_runtime::parse_job_key(key).unwrap().0.id.0
}

#[tokio::test]
async fn a_runtime_serves_only_its_partitions_and_refuses_what_is_not_partitioned() {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let mine = half(0);
    let rt = node(
        MemoryStore::new(),
        Some(mine),
        clock,
        handed.clone(),
        Arc::default(),
    )
    .await;
    assert_eq!(rt.partitions(), mine);
    rt.deploy(&simple("p")).await.unwrap();

    // Generated ids land in its partitions.
    let mut started = Vec::new();
    for _ in 0..30 {
        let id = rt.start_instance(StartRequest::new("p")).await.unwrap();
        assert!(mine.contains(id.partition()), "{id} outside {mine}");
        started.push(id);
    }
    // A chosen id elsewhere is refused, naming its partition.
    let outside = (0..)
        .map(|i| format!("order-{i}"))
        .find(|id| !mine.has_instance(id))
        .unwrap();
    let req = StartRequest {
        instance_id: Some(outside.clone()),
        ..StartRequest::new("p")
    };
    let err = rt.start_instance(req).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::NotOwner { instance, .. } if *instance == outside),
        "{err}"
    );
    assert!(err.to_string().contains("does not serve"), "{err}");
    // Commands for an instance elsewhere are refused the same way.
    let elsewhere = InstanceRef::new(outside.clone(), "r");
    let err = rt.cancel(&elsewhere, "test").await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");
    let reset = windlass_runtime::ResetRequest {
        instance: elsewhere.clone(),
        to_event: 1,
        reason: "test".into(),
        reapply_signals: false,
    };
    let err = rt.reset(reset).await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");
    let err = rt.wait_settled(&elsewhere).await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");

    // Its own work runs.
    for id in &started {
        settled(&rt, id).await;
    }
    for key in keys(&handed) {
        rt.complete_job(&key, Vars::new()).await.unwrap();
    }
    for id in &started {
        assert_eq!(finished(&rt, id).await.status, InstanceStatus::Completed);
    }

    // What is not partitioned yet is refused by name, before anything is
    // written.
    let err = rt.deploy(&message_start()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{text}");
    assert!(text.contains("a message event (element 'ms')"), "{text}");
    assert_eq!(rt.store().definitions().await.unwrap().len(), 1);
    let err = rt.deploy(&timer_start_allow_all()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("timer start event with overlap allow-all (element 's')"),
        "{err}"
    );
    let err = rt
        .publish(Message {
            name: "paid".into(),
            correlation_key: Some("o-1".into()),
            message_id: None,
            vars: Vars::new(),
            ttl_millis: None,
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("publishing message 'paid'"),
        "{err}"
    );
    rt.shutdown().await.unwrap();

    // A node that owns every partition is still one node among others.
    let rt = node(
        MemoryStore::new(),
        Some(PartitionSet::all()),
        Arc::new(MockClock::new(Timestamp(T0))),
        Handed::default(),
        Arc::default(),
    )
    .await;
    let err = rt.deploy(&message_start()).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{err}");
    rt.shutdown().await.unwrap();
}

/// A process started by the message `go`.
fn message_start() -> String {
    doc(r#"<message id="go" name="go"/>
<process id="on-go" isExecutable="true">
  <startEvent id="ms"><messageEventDefinition messageRef="go"/></startEvent>
  <sequenceFlow id="f1" sourceRef="ms" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// A process started every hour by a timer start event whose fires run
/// side by side under per-fire ids (in other partitions than the
/// schedule's).
fn timer_start_allow_all() -> String {
    doc(
        r#"<process id="hourly" isExecutable="true" xmlns:windlass="urn:windlass:bpmn:1">
  <startEvent id="s">
    <extensionElements><windlass:schedule overlap="allow-all"/></extensionElements>
    <timerEventDefinition><timeCycle>R/PT1H</timeCycle></timerEventDefinition></startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  <endEvent id="e"/>
</process>"#,
    )
}

#[tokio::test]
async fn recovery_takes_its_partitions_and_adoption_takes_over_the_rest() {
    let store = MemoryStore::new();
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let after = Arc::new(AtomicUsize::new(0));

    // One runtime serving everything starts work that waits: jobs for an
    // external worker, and timers.
    let all_keys = Handed::default();
    let rt = node(
        store.clone(),
        None,
        clock.clone(),
        all_keys.clone(),
        after.clone(),
    )
    .await;
    rt.deploy(&simple("p")).await.unwrap();
    rt.deploy(&timer_catch()).await.unwrap();
    let mut jobs = Vec::new();
    let mut timers = Vec::new();
    for _ in 0..40 {
        jobs.push(rt.start_instance(StartRequest::new("p")).await.unwrap());
        timers.push(rt.start_instance(StartRequest::new("t")).await.unwrap());
    }
    for id in jobs.iter().chain(&timers) {
        settled(&rt, id).await;
    }
    rt.shutdown().await.unwrap();
    let in_first = |id: &InstanceRef| half(0).contains(id.partition());
    let first = jobs.iter().chain(&timers).filter(|i| in_first(i)).count();
    assert!(first > 10 && first < 70, "{first} of 80 in the first half");

    // A node serving the first half recovers only its instances and
    // re-dispatches only their jobs.
    let handed = Handed::default();
    let rt = node(
        store.clone(),
        Some(half(0)),
        clock.clone(),
        handed.clone(),
        after.clone(),
    )
    .await;
    assert_eq!(rt.recovery().instances, first);
    let own_jobs = jobs.iter().filter(|i| in_first(i)).count();
    handed_out(&handed, own_jobs).await;
    assert!(
        keys(&handed)
            .iter()
            .all(|k| half(0).has_instance(&instance_of(k)))
    );
    // Only its timers fire.
    clock.advance(10 * 60 * 1000);
    for id in timers.iter().filter(|i| in_first(i)) {
        assert_eq!(finished(&rt, id).await.status, InstanceStatus::Completed);
    }
    let own_timers = timers.iter().filter(|i| in_first(i)).count();
    assert_eq!(after.load(Ordering::SeqCst), own_timers);
    for id in timers.iter().filter(|i| !in_first(i)) {
        let row = store.instance(id).await.unwrap().unwrap();
        assert_eq!(row.status, InstanceStatus::Running, "{id} fired elsewhere");
    }
    // A job of the other half is not its to complete.
    let key = keys(&all_keys)
        .into_iter()
        .find(|k| !half(0).has_instance(&instance_of(k)))
        .unwrap();
    let err = rt.complete_job(&key, Vars::new()).await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotOwner { .. }), "{err}");

    // Adopting the second half takes over its instances: their jobs are
    // handed out again and their timers (overdue now) fire.
    let report = rt.adopt(half(1)).await.unwrap();
    assert_eq!(report.instances, 80 - first);
    assert!(rt.partitions().is_all());
    handed_out(&handed, 40).await;
    for key in keys(&handed) {
        rt.complete_job(&key, Vars::new()).await.unwrap();
    }
    for id in jobs.iter().chain(&timers) {
        assert_eq!(finished(&rt, id).await.status, InstanceStatus::Completed);
    }
    assert_eq!(after.load(Ordering::SeqCst), 40);
    // Adopting what is served already takes nothing.
    assert_eq!(rt.adopt(half(1)).await.unwrap().instances, 0);
    // Still one node among others: a message is not its to publish.
    let message = Message {
        name: "paid".into(),
        correlation_key: Some("o-1".into()),
        message_id: None,
        vars: Vars::new(),
        ttl_millis: None,
    };
    let err = rt.publish(message).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{err}");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_partial_runtime_refuses_a_store_with_schedules_firing_elsewhere() {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    // A store the single node deployed `xml` into.
    let store_with = |xml: String| {
        let clock = clock.clone();
        async move {
            let store = MemoryStore::new();
            let rt = node(
                store.clone(),
                None,
                clock,
                Handed::default(),
                Arc::default(),
            )
            .await;
            rt.deploy(&xml).await.unwrap();
            rt.shutdown().await.unwrap();
            store
        }
    };
    let as_node = |store: MemoryStore| {
        let opts = RuntimeOptions {
            clock: clock.clone(),
            partitions: Some(half(0)),
            ..RuntimeOptions::default()
        };
        Runtime::start(opts, store, Handlers::new())
    };
    let err = as_node(store_with(timer_start_allow_all()).await)
        .await
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(matches!(err, RuntimeError::Partitioned { .. }), "{text}");
    assert!(
        text.contains("schedule 'hourly/s' (process 'hourly'), which has overlap allow-all"),
        "{text}"
    );
    // Fires under an instance id template land anywhere too.
    let templated =
        timer_start_allow_all().replace(r#"<windlass:schedule overlap="allow-all"/>"#, "");
    let templated = templated.replace(
        r#"<startEvent id="s">"#,
        r#"<extensionElements><windlass:instanceId template="run-{scheduledTime}"/></extensionElements>
  <startEvent id="s">"#,
    );
    let err = as_node(store_with(templated).await).await.err().unwrap();
    assert!(
        err.to_string()
            .contains("uses a timer start event with an instance id template (element 's')"),
        "{err}"
    );
    // A schedule whose fires start under its own id is taken.
    let plain = timer_start_allow_all().replace(r#"<windlass:schedule overlap="allow-all"/>"#, "");
    let rt = as_node(store_with(plain).await).await.unwrap();
    rt.shutdown().await.unwrap();
}
