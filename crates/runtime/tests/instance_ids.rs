//! Instance ids and runs: UUIDv7 run ids (children included), at most one
//! unfinished run per instance id decided by the owning shard, the
//! `OnConflict` policies, the `windlass:instanceId` template, and legacy
//! runs `"1"`. Every runtime runs on a mock clock.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use windlass_engine::codec::decode_event;
use windlass_engine::event::Event;
use windlass_runtime::{
    HandlerResult, Handlers, Job, OnConflict, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions,
    SUPERSEDED_REASON, StartRequest, job_key, parse_job_key,
};
use windlass_store_api::{
    Batch, HistoryRead, InstanceId, InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus,
    OutboxChange, OutboxRead, RunId, Store, StoreWrite,
};
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp};

fn options() -> RuntimeOptions {
    RuntimeOptions {
        clock: Arc::new(MockClock::new(Timestamp(1_700_000_000_000))),
        ..RuntimeOptions::default()
    }
}

/// "Work" stays open (an external worker would complete it).
fn external() -> Handlers {
    Handlers::new().on_name("Work", |_: &Job| HandlerResult::External)
}

/// start → end: finishes in its first commit.
fn instant(process: &str) -> String {
    doc(&format!(
        r#"<process id="{process}" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

fn start(id: &str, on_conflict: OnConflict) -> StartRequest {
    StartRequest {
        instance_id: Some(id.into()),
        on_conflict,
        ..StartRequest::new("p")
    }
}

async fn runs_of<S: Store>(rt: &RuntimeHandle<S>, id: &str) -> Vec<(InstanceRef, InstanceStatus)> {
    let q = InstanceQuery {
        id: Some(InstanceId::new(id)),
        ..Default::default()
    };
    let mut rows = rt.store().query_instances(&q).await.unwrap();
    rows.sort_by(|a, b| a.instance.run.run_order().cmp(&b.instance.run.run_order()));
    rows.into_iter().map(|r| (r.instance, r.status)).collect()
}

fn is_uuid_v7(run: &RunId) -> bool {
    uuid::Uuid::parse_str(run.as_str()).is_ok_and(|u| u.get_version_num() == 7)
}

#[tokio::test]
async fn runs_are_uuid_v7_and_reject_is_the_default() -> anyhow::Result<()> {
    let rt = Runtime::start(options(), MemoryStore::new(), external()).await?;
    rt.deploy(&simple("p")).await?;
    let first = rt
        .start_instance(start("job", OnConflict::default()))
        .await?;
    assert!(is_uuid_v7(&first.run), "{first}");
    let err = rt
        .start_instance(start("job", OnConflict::Reject))
        .await
        .unwrap_err();
    match err {
        RuntimeError::InstanceExists(r) => assert_eq!(r, first),
        other => panic!("expected InstanceExists, got {other:?}"),
    }
    // A generated id gets a UUIDv7 id and run.
    let generated = rt.start_instance(StartRequest::new("p")).await?;
    assert!(is_uuid_v7(&generated.run));
    assert!(uuid::Uuid::parse_str(generated.id.as_str()).is_ok());
    assert_eq!(runs_of(&rt, "job").await.len(), 1);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn use_existing_answers_with_the_live_run() -> anyhow::Result<()> {
    let rt = Runtime::start(options(), MemoryStore::new(), external()).await?;
    rt.deploy(&simple("p")).await?;
    let first = rt.start_instance(start("job", OnConflict::Reject)).await?;
    let again = rt
        .start_instance(start("job", OnConflict::UseExisting))
        .await?;
    assert_eq!(again, first);
    assert_eq!(runs_of(&rt, "job").await.len(), 1);
    // Detached starts cannot learn the live run: refused by name.
    let err = rt
        .start_detached(start("job", OnConflict::UseExisting))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("use-existing"), "{err}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn terminate_existing_ends_the_live_run_and_creates_the_next() -> anyhow::Result<()> {
    let rt = Runtime::start(options(), MemoryStore::new(), external()).await?;
    rt.deploy(&simple("p")).await?;
    let first = rt.start_instance(start("job", OnConflict::Reject)).await?;
    let second = rt
        .start_instance(start("job", OnConflict::TerminateExisting))
        .await?;
    assert_eq!(second.id, first.id);
    assert!(first.run.run_order() < second.run.run_order());
    let runs = runs_of(&rt, "job").await;
    assert_eq!(
        runs,
        [
            (first.clone(), InstanceStatus::Terminated),
            (second.clone(), InstanceStatus::Running)
        ]
    );
    let history = rt.store().history(&first).await?;
    let last = decode_event(&history.last().unwrap().payload)?;
    match last {
        Event::InstanceTerminated { reason } => assert_eq!(reason, SUPERSEDED_REASON),
        other => panic!("expected InstanceTerminated, got {other:?}"),
    }
    let latest = rt
        .store()
        .latest_run(&InstanceId::new("job"))
        .await?
        .unwrap();
    assert_eq!(latest.instance, second);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_finished_run_does_not_clash() -> anyhow::Result<()> {
    let rt = Runtime::start(options(), MemoryStore::new(), Handlers::new()).await?;
    rt.deploy(&instant("p")).await?;
    let first = rt
        .start_instance(start("daily", OnConflict::Reject))
        .await?;
    rt.wait_finished(&first).await?;
    let second = rt
        .start_instance(start("daily", OnConflict::Reject))
        .await?;
    assert_ne!(first.run, second.run);
    rt.wait_finished(&second).await?;
    let runs = runs_of(&rt, "daily").await;
    assert_eq!(
        runs,
        [
            (first, InstanceStatus::Completed),
            (second.clone(), InstanceStatus::Completed)
        ]
    );
    let latest = rt
        .store()
        .latest_run(&InstanceId::new("daily"))
        .await?
        .unwrap();
    assert_eq!(latest.instance, second);
    rt.shutdown().await?;
    Ok(())
}

/// A live run only in the store (the runtime did not resume it, like
/// `windlass run`) still clashes, and `TerminateExisting` loads and ends it.
#[tokio::test]
async fn a_live_run_the_runtime_did_not_resume_still_counts() -> anyhow::Result<()> {
    let store = MemoryStore::new();
    let rt = Runtime::start(options(), store.clone(), external()).await?;
    rt.deploy(&simple("p")).await?;
    let first = rt.start_instance(start("job", OnConflict::Reject)).await?;
    rt.shutdown().await?;

    let opts = RuntimeOptions {
        resume_unfinished: false,
        ..options()
    };
    let rt = Runtime::start(opts, store, external()).await?;
    let err = rt
        .start_instance(start("job", OnConflict::Reject))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RuntimeError::InstanceExists(r) if *r == first),
        "{err:?}"
    );
    let same = rt
        .start_instance(start("job", OnConflict::UseExisting))
        .await?;
    assert_eq!(same, first);
    let next = rt
        .start_instance(start("job", OnConflict::TerminateExisting))
        .await?;
    assert_eq!(
        runs_of(&rt, "job").await,
        [
            (first, InstanceStatus::Terminated),
            (next, InstanceStatus::Running)
        ]
    );
    rt.shutdown().await?;
    Ok(())
}

/// Databases written before run ids were UUIDs hold runs `"1"`: they are
/// resumed, clash like any live run, and sort before new runs.
#[tokio::test]
async fn legacy_first_runs_keep_working() -> anyhow::Result<()> {
    let store = MemoryStore::new();
    let rt = Runtime::start(options(), store.clone(), external()).await?;
    rt.deploy(&simple("p")).await?;
    let model = rt
        .start_instance(start("model", OnConflict::Reject))
        .await?;
    rt.shutdown().await?;
    // Copy the model run's row and history under run "1" of id "old".
    let mut row = store.instance(&model).await?.unwrap();
    let events: Vec<Vec<u8>> = store
        .history(&model)
        .await?
        .into_iter()
        .map(|e| e.payload)
        .collect();
    let legacy = InstanceRef::new("old", windlass_runtime::FIRST_RUN);
    row.instance = legacy.clone();
    let mut batch = Batch::new();
    batch.create(row, events);
    // Its open job's outbox row, under the legacy run's job key.
    for mut job in store.pending_outbox().await? {
        let (_, key) = parse_job_key(&job.key)?;
        job.key = job_key(&legacy, &key);
        job.instance = Some(legacy.clone());
        batch.outbox(OutboxChange::Insert(job));
    }
    store.commit(batch).await?;

    let rt = Runtime::start(options(), store, external()).await?;
    assert_eq!(rt.recovery().instances, 2);
    let err = rt
        .start_instance(start("old", OnConflict::Reject))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RuntimeError::InstanceExists(r) if *r == legacy),
        "{err:?}"
    );
    let next = rt
        .start_instance(start("old", OnConflict::TerminateExisting))
        .await?;
    assert!(is_uuid_v7(&next.run));
    let latest = rt
        .store()
        .latest_run(&InstanceId::new("old"))
        .await?
        .unwrap();
    assert_eq!(latest.instance, next);
    assert_eq!(
        rt.store().instance(&legacy).await?.unwrap().status,
        InstanceStatus::Terminated
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn children_run_under_their_parents_run_id() -> anyhow::Result<()> {
    let handlers = Handlers::new().fallback(|_: &Job| HandlerResult::External);
    let rt = Runtime::start(options(), MemoryStore::new(), handlers).await?;
    rt.deploy(&parent_and_child()).await?;
    let parent = rt.start_instance(StartRequest::new("parent")).await?;
    let out = rt.wait_settled(&parent).await?;
    assert_eq!(out.called.len(), 1);
    let child = &out.called[0];
    assert_eq!(child.run, parent.run);
    assert!(
        child
            .id
            .as_str()
            .starts_with(&format!("{}/{}/call/", parent.id, parent.run))
    );
    let row = rt.store().instance(child).await?.unwrap();
    assert_eq!(row.parent.as_ref(), Some(&parent));
    rt.shutdown().await?;
    Ok(())
}

/// `windlass:instanceId` renders strictly from the start variables; an
/// explicit id wins; the result is checked like a user id.
#[tokio::test]
async fn instance_id_templates_render_strictly() -> anyhow::Result<()> {
    let xml = doc(r#"<process id="renew" isExecutable="true">
  <extensionElements xmlns:windlass="urn:windlass:bpmn:1">
    <windlass:instanceId template="renew-{event.namespace}/{event.name}"/>
  </extensionElements>
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#);
    let rt = Runtime::start(options(), MemoryStore::new(), external()).await?;
    rt.deploy(&xml).await?;
    let with = |vars: serde_json::Value| {
        let serde_json::Value::Object(vars) = vars else {
            unreachable!()
        };
        StartRequest {
            vars,
            ..StartRequest::new("renew")
        }
    };
    let event = serde_json::json!({"event": {"namespace": "web", "name": "shop"}});
    let r = rt.start_instance(with(event.clone())).await?;
    assert_eq!(r.id.as_str(), "renew-web/shop");
    // The same variables name the same instance: a clash.
    let err = rt.start_instance(with(event)).await.unwrap_err();
    assert!(matches!(err, RuntimeError::InstanceExists(_)), "{err:?}");

    let err = rt
        .start_instance(with(serde_json::json!({"event": {"namespace": "web"}})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::InstanceIdTemplate { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("process 'renew'"), "{text}");
    assert!(text.contains("{event.name}"), "{text}");

    let reserved = serde_json::json!({"event": {"namespace": "x/1/call", "name": "7"}});
    let err = rt.start_instance(with(reserved)).await.unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
    let long = serde_json::json!({"event": {"namespace": "n", "name": "x".repeat(2000)}});
    let err = rt.start_instance(with(long)).await.unwrap_err();
    assert!(err.to_string().contains("at most 1024 bytes"), "{err}");

    let mut req = with(serde_json::json!({}));
    req.instance_id = Some("explicit".into());
    assert_eq!(rt.start_instance(req).await?.id.as_str(), "explicit");
    rt.shutdown().await?;
    Ok(())
}
