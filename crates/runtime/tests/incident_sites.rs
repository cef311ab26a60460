//! Expressions evaluated after an activity's work — its output mappings and
//! the conditions of the flows leaving it — raise incidents through the
//! runtime on SQLite instead of failing the instance. The incident keeps
//! the job's outputs: it survives a restart, a retry maps them again
//! without running the job again, a skip sets the given variables and the
//! instance moves on. So do the timers and correlation keys of an
//! activity's boundary events: its work starts only once they open.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_engine::event::{FlowReason, IncidentSite};
use windlass_engine::ids::IncidentId;
use windlass_engine::{Event, IncidentAction};
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceRef, InstanceStatus};
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp, Vars};

/// `fetch` maps `reply.size * 2` into `size`; the flows leaving `check`
/// compare `size` with `limit`.
fn process() -> String {
    doc(r#"<process id="sites" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="fetch"/>
  <serviceTask id="fetch" name="Fetch">
    <extensionElements><output xmlns="urn:windlass:bpmn:1" source="reply.size * 2" target="size"/></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="fetch" targetRef="check"/>
  <serviceTask id="check" name="Check"/>
  <sequenceFlow id="big" sourceRef="check" targetRef="bigEnd">
    <conditionExpression>size &gt; limit</conditionExpression>
  </sequenceFlow>
  <sequenceFlow id="small" sourceRef="check" targetRef="smallEnd">
    <conditionExpression>size &lt;= limit</conditionExpression>
  </sequenceFlow>
  <endEvent id="bigEnd" name="Big"/>
  <endEvent id="smallEnd" name="Small"/>
</process>"#)
}

/// `fetch` answers without `size`; every call is counted.
fn handlers(calls: Arc<AtomicUsize>) -> Handlers {
    Handlers::new()
        .on_node("fetch", move |_: &Job| {
            calls.fetch_add(1, Ordering::SeqCst);
            let mut v = Vars::new();
            v.insert("reply".into(), json!({"sz": 3}));
            HandlerResult::Ready(JobOutcome::done(v))
        })
        .on_node("check", |_: &Job| {
            HandlerResult::Ready(JobOutcome::done(Vars::new()))
        })
}

async fn on_file(path: &Path, calls: &Arc<AtomicUsize>) -> RuntimeHandle<SqliteStore> {
    let opts = RuntimeOptions {
        clock: Arc::new(MockClock::new(Timestamp(1_767_225_600_000))),
        ..RuntimeOptions::default()
    };
    let store = SqliteStore::open(path).unwrap();
    Runtime::start(opts, store, handlers(calls.clone()))
        .await
        .unwrap()
}

/// The open incident raised last, with its site.
async fn last_incident(
    rt: &RuntimeHandle<SqliteStore>,
    id: &InstanceRef,
) -> (IncidentId, IncidentSite) {
    events(rt, id)
        .await
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::IncidentRaisedAt { incident, site, .. } => Some((*incident, site.clone())),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn output_mapping_and_leaving_condition_incidents_survive_a_restart_and_resolve()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let calls = Arc::new(AtomicUsize::new(0));
    let rt = on_file(&path, &calls).await;
    rt.deploy(&process()).await?;
    let mut req = StartRequest::new("sites");
    req.vars.insert("limit".into(), json!("x"));
    let id = rt.start_instance(req).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert_eq!(out.incidents.len(), 1, "{:?}", out.incidents);
    assert!(
        out.incidents[0].contains("'fetch'") && out.incidents[0].contains("reply.size * 2"),
        "{:?}",
        out.incidents
    );
    rt.shutdown().await?;
    drop(rt);

    // After a restart the incident is still open with the job's outputs.
    let rt = on_file(&path, &calls).await;
    let (incident, site) = last_incident(&rt, &id).await;
    let IncidentSite::Outputs { results } = site else {
        panic!("{site:?}");
    };
    assert_eq!(results.get("reply"), Some(&json!({"sz": 3})));
    rt.resolve_incident(&id, incident, IncidentAction::Retry)
        .await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.incidents.len(), 1, "the same outputs fail again");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the job did not run again");

    // Skip: `size` is set in place of the mapping; leaving `check` then
    // compares a number with the string `limit`.
    let (incident, _) = last_incident(&rt, &id).await;
    let skip = IncidentAction::Skip(Vars::from_iter([("size".to_string(), json!(6))]));
    rt.resolve_incident(&id, incident, skip).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert_eq!(out.executed.get("Check"), Some(&1));
    assert!(
        out.incidents[0].contains("'check'") && out.incidents[0].contains("size > limit"),
        "{:?}",
        out.incidents
    );
    let (incident, site) = last_incident(&rt, &id).await;
    assert_eq!(site, IncidentSite::Leave);
    let skip = IncidentAction::Skip(Vars::from_iter([("limit".to_string(), json!(10))]));
    rt.resolve_incident(&id, incident, skip).await?;
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables.get("size"), Some(&json!(6)));
    // 6 <= 10: the `small` flow, taken for its condition.
    let taken: Vec<String> = (events(&rt, &id).await.iter())
        .filter_map(|e| match e {
            Event::FlowTaken {
                reason: FlowReason::ConditionTrue { condition },
                ..
            } => Some(condition.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(taken, ["size <= limit"]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    rt.shutdown().await?;
    Ok(())
}

/// `work` has a timer boundary (`${patience}`) and a message boundary
/// keyed by `orderId`; neither variable is set at the start.
fn guarded() -> String {
    doc(
        r#"<message id="m" name="stop"><extensionElements><correlation xmlns="urn:windlass:bpmn:1" key="orderId"/></extensionElements></message>
<process id="guarded" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <boundaryEvent id="late" attachedToRef="work">
    <timerEventDefinition><timeDuration>${patience}</timeDuration></timerEventDefinition>
  </boundaryEvent>
  <boundaryEvent id="stopped" attachedToRef="work">
    <messageEventDefinition messageRef="m"/>
  </boundaryEvent>
  <sequenceFlow id="f2" sourceRef="work" targetRef="done"/>
  <sequenceFlow id="f3" sourceRef="late" targetRef="timedOut"/>
  <sequenceFlow id="f4" sourceRef="stopped" targetRef="stoppedEnd"/>
  <endEvent id="done" name="Done"/>
  <endEvent id="timedOut" name="Timed out"/>
  <endEvent id="stoppedEnd" name="Stopped"/>
</process>"#,
    )
}

#[tokio::test]
async fn boundary_timer_and_key_incidents_hold_the_work_until_resolved() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(1_767_225_600_000)));
    let calls = Arc::new(AtomicUsize::new(0));
    let start = |calls: Arc<AtomicUsize>| {
        let opts = RuntimeOptions {
            clock: clock.clone(),
            ..RuntimeOptions::default()
        };
        // The work never answers: only a boundary event ends it.
        let handlers = Handlers::new().on_node("work", move |_: &Job| {
            calls.fetch_add(1, Ordering::SeqCst);
            HandlerResult::Pending(Box::pin(std::future::pending()))
        });
        Runtime::start(opts, SqliteStore::open(&path).unwrap(), handlers)
    };
    let rt = start(calls.clone()).await?;
    rt.deploy(&guarded()).await?;
    let id = rt.start_instance(StartRequest::new("guarded")).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains("'late'") && out.incidents[0].contains("patience"),
        "{:?}",
        out.incidents
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the work has not started");
    rt.shutdown().await?;
    drop(rt);

    // After a restart: skip with `patience`; the message key fails next.
    let rt = start(calls.clone()).await?;
    let (incident, site) = last_incident(&rt, &id).await;
    assert_eq!(site, IncidentSite::Subscriptions);
    let skip = IncidentAction::Skip(Vars::from_iter([("patience".to_string(), json!("PT1H"))]));
    rt.resolve_incident(&id, incident, skip).await?;
    let out = settled(&rt, &id).await;
    assert!(
        out.incidents[0].contains("'stopped'") && out.incidents[0].contains("orderId"),
        "{:?}",
        out.incidents
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The timer opened before the key failed was closed with the incident:
    // an hour passing fires nothing.
    clock.advance(2 * 3_600 * 1_000);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Incident);

    // Skip with the key: both open again (the timer from now), the work
    // starts, and the message correlates by the key.
    let (incident, _) = last_incident(&rt, &id).await;
    let skip = IncidentAction::Skip(Vars::from_iter([("orderId".to_string(), json!("o-7"))]));
    rt.resolve_incident(&id, incident, skip).await?;
    // The handler holds the job (the instance does not settle).
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while calls.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await?;
    let published = rt
        .publish(windlass_runtime::Message {
            name: "stop".into(),
            correlation_key: Some("o-7".into()),
            message_id: None,
            vars: Vars::new(),
            ttl_millis: None,
        })
        .await?;
    assert!(
        matches!(
            published,
            windlass_runtime::PublishOutcome::Correlated { .. }
        ),
        "{published:?}"
    );
    let out = finished(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(
        out.executed.get("Stopped"),
        None,
        "end events are not counted"
    );
    assert!(
        events(&rt, &id)
            .await
            .iter()
            .any(|e| matches!(e, Event::MessageCorrelated { .. }))
    );
    assert!(
        !events(&rt, &id)
            .await
            .iter()
            .any(|e| matches!(e, Event::TimerFired { .. }))
    );
    rt.shutdown().await?;
    Ok(())
}
