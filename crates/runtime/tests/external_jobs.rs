//! Jobs completed asynchronously by external workers, with a `MockClock`
//! (no sleeping): the task's `timeout` is a deadline renewed by heartbeats;
//! a worker that stops heartbeating fails the attempt (a retry, then an
//! incident); its late answer and heartbeat are refused; a completion by
//! key is recorded as `CompletedBy::External`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::{Arc, Mutex};
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_engine::event::CompletedBy;
use windlass_runtime::{
    HandlerResult, Handlers, Job, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions,
    StartRequest,
};
use windlass_store_api::{HistoryRead, InstanceRef, InstanceStatus};
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const SEC: i64 = 1_000;

/// start → "Approve" (an external worker's; timeout 1 minute, 2 attempts,
/// no backoff) → end.
fn approval() -> String {
    doc(r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <serviceTask id="t" name="Approve">
    <extensionElements>
      <task xmlns="urn:windlass:bpmn:1" kind="approval" timeout="PT1M" retries="2" backoff="PT0S"/>
    </extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// The job keys handed to the worker, in order.
type Handed = Arc<Mutex<Vec<String>>>;

fn worker(handed: Handed) -> impl Fn(&Job) -> HandlerResult {
    move |job: &Job| {
        handed.lock().unwrap().push(job.key.clone());
        HandlerResult::External
    }
}

async fn setup() -> (
    Arc<MockClock>,
    RuntimeHandle<MemoryStore>,
    Handed,
    InstanceRef,
) {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed: Handed = Arc::default();
    let handlers = Handlers::new().on_name("Approve", worker(handed.clone()));
    let opts = RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, MemoryStore::new(), handlers)
        .await
        .unwrap();
    rt.deploy(&approval()).await.unwrap();
    let id = rt.start_instance(StartRequest::new("p")).await.unwrap();
    settled(&rt, &id).await;
    (clock, rt, handed, id)
}

fn keys(h: &Handed) -> Vec<String> {
    h.lock().unwrap().clone()
}

#[tokio::test]
async fn heartbeats_keep_an_attempt_alive_and_a_completion_by_key_is_external() -> anyhow::Result<()>
{
    let (clock, rt, handed, id) = setup().await;
    let first = keys(&handed)[0].clone();
    // Three heartbeats, each within the minute: three minutes in all.
    for _ in 0..3 {
        clock.advance(59 * SEC);
        settled(&rt, &id).await;
        rt.heartbeat(&first).await?;
    }
    assert_eq!(keys(&handed).len(), 1, "still the first attempt");
    rt.complete_job(&first, Vars::new()).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    let by: Vec<CompletedBy> = rt
        .store()
        .history(&id)
        .await?
        .iter()
        .filter_map(|h| match decode_event(&h.payload).ok()? {
            Event::JobCompleted { by, .. } => Some(by),
            _ => None,
        })
        .collect();
    assert_eq!(by, [CompletedBy::External]);
    // The job is closed now: no heartbeat for it.
    let err = rt.heartbeat(&first).await.unwrap_err();
    assert!(matches!(err, RuntimeError::JobNotOpen(_)), "{err}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_worker_that_stops_heartbeating_fails_the_attempt_then_the_retries_run_out()
-> anyhow::Result<()> {
    let (clock, rt, handed, id) = setup().await;
    let first = keys(&handed)[0].clone();
    clock.advance(30 * SEC);
    settled(&rt, &id).await;
    rt.heartbeat(&first).await?;
    // 59 s after the heartbeat: alive; 60 s: the deadline passes.
    clock.advance(59 * SEC);
    settled(&rt, &id).await;
    assert_eq!(keys(&handed).len(), 1);
    clock.advance(SEC);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running);
    let handed_now = keys(&handed);
    assert_eq!(handed_now.len(), 2, "a second attempt: {handed_now:?}");
    assert_ne!(handed_now[1], first);
    // The first worker's late answer and heartbeat are refused.
    assert!(rt.complete_job(&first, Vars::new()).await.is_err());
    assert!(matches!(
        rt.heartbeat(&first).await,
        Err(RuntimeError::JobNotOpen(_))
    ));
    // The second attempt times out too: no attempt left, an incident.
    clock.advance(60 * SEC);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Incident, "{out:?}");
    assert!(
        out.incidents.iter().any(|i| i.contains("heartbeat")),
        "{:?}",
        out.incidents
    );
    assert_eq!(keys(&handed).len(), 2);
    rt.shutdown().await?;
    Ok(())
}
