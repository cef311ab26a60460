//! Cancelling a child instance: a parent's call activity is interrupted (an
//! error from a parallel branch ends the embedded sub-process around it)
//! while the child runs a long handler. The `cancel-child` outbox row makes
//! the child's shard apply `Command::Terminate`: the child ends Terminated in
//! the store, its handler observes its cancellation token, it sends the
//! parent no notice, and the parent goes on through its error boundary. Run
//! on the memory store and on an SQLite file.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_engine::ids::TokenId;
use windlass_runtime::{
    CancelChild, HandlerResult, Handlers, Job, JobOutcome, OutboxEntry, Runtime, RuntimeOptions,
    StartChild, StartRequest,
};
use windlass_store_api::{
    Batch, InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus, OutboxChange, OutboxRead,
    Store, StoreWrite,
};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::Timestamp;

/// parent: sub-process { fork → call activity (child) and "Fail" } with an
/// error boundary → "Recover" → end. child: "Slow" → end.
fn interrupted_call() -> String {
    doc(r#"<process id="parent" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f0" sourceRef="s" targetRef="sub"/>
  <subProcess id="sub" name="Both">
    <startEvent id="ss"/>
    <sequenceFlow id="s0" sourceRef="ss" targetRef="fork"/>
    <parallelGateway id="fork"/>
    <sequenceFlow id="s1" sourceRef="fork" targetRef="call"/>
    <sequenceFlow id="s2" sourceRef="fork" targetRef="fail"/>
    <callActivity id="call" name="Call child" calledElement="child"/>
    <serviceTask id="fail" name="Fail"/>
    <sequenceFlow id="s3" sourceRef="call" targetRef="join"/>
    <sequenceFlow id="s4" sourceRef="fail" targetRef="join"/>
    <parallelGateway id="join"/>
    <sequenceFlow id="s5" sourceRef="join" targetRef="se"/>
    <endEvent id="se"/>
  </subProcess>
  <boundaryEvent id="caught" attachedToRef="sub"><errorEventDefinition/></boundaryEvent>
  <sequenceFlow id="f1" sourceRef="caught" targetRef="recover"/>
  <serviceTask id="recover" name="Recover"/>
  <sequenceFlow id="f2" sourceRef="recover" targetRef="e"/>
  <sequenceFlow id="f3" sourceRef="sub" targetRef="e"/>
  <endEvent id="e"/>
</process>
<process id="child" isExecutable="true">
  <startEvent id="cs"/>
  <sequenceFlow id="c1" sourceRef="cs" targetRef="slow"/>
  <serviceTask id="slow" name="Slow"/>
  <sequenceFlow id="c2" sourceRef="slow" targetRef="ce"/>
  <endEvent id="ce"/>
</process>"#)
}

/// What the test observes of the child's handler.
#[derive(Default)]
struct Seen {
    /// The "Slow" handler started (the "Fail" branch waits for it).
    started: Notify,
    /// Its cancellation token was cancelled.
    observed: AtomicBool,
    /// It ran to its end (it must not).
    finished: AtomicBool,
}

fn handlers(seen: Arc<Seen>) -> Handlers {
    let slow = seen.clone();
    Handlers::new()
        .on_name("Slow", move |job: &Job| {
            let seen = slow.clone();
            let token = job.cancel.clone();
            seen.started.notify_one();
            let watcher = seen.clone();
            tokio::spawn(async move {
                token.cancelled().await;
                watcher.observed.store(true, Ordering::SeqCst);
            });
            HandlerResult::Pending(Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                seen.finished.store(true, Ordering::SeqCst);
                JobOutcome::done(Default::default())
            }))
        })
        .on_name("Fail", move |_: &Job| {
            let seen = seen.clone();
            HandlerResult::Pending(Box::pin(async move {
                seen.started.notified().await;
                JobOutcome::bpmn_error("boom", None)
            }))
        })
        .on_name("Recover", |_: &Job| {
            HandlerResult::Ready(JobOutcome::done(Default::default()))
        })
}

async fn eventually(flag: &AtomicBool) -> bool {
    for _ in 0..300 {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

async fn interrupted_call_terminates_the_child<S: Store>(store: S) -> anyhow::Result<()> {
    let seen = Arc::new(Seen::default());
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers(seen.clone())).await?;
    rt.deploy(&interrupted_call()).await?;
    let parent = rt.start_instance(StartRequest::new("parent")).await?;
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&parent)).await??;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    assert_eq!(out.executed.get("Recover"), Some(&1), "{out:?}");

    let children = rt
        .store()
        .query_instances(&InstanceQuery {
            parent: Some(parent.clone()),
            ..Default::default()
        })
        .await?;
    assert_eq!(children.len(), 1, "{children:?}");
    let child = children[0].instance.clone();
    let status = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&child))
        .await??
        .status;
    assert_eq!(status, InstanceStatus::Terminated);
    assert!(
        eventually(&seen.observed).await,
        "the child's handler observed its cancellation token"
    );
    assert!(!seen.finished.load(Ordering::SeqCst));

    let history = rt.store().history(&child).await?;
    let last = decode_event(&history.last().unwrap().payload)?;
    assert!(
        matches!(&last, Event::InstanceTerminated { reason } if reason.contains("was interrupted")),
        "{last:?}"
    );
    // The parent got no notice from the terminated child.
    let parent_events = rt.store().history(&parent).await?;
    for h in &parent_events {
        let e = decode_event(&h.payload)?;
        assert!(
            !matches!(e, Event::ChildCompleted { .. }),
            "unexpected notice {e:?}"
        );
    }
    // Every outbox row was consumed: the cancel-child row, the job rows.
    assert!(
        rt.store().pending_outbox().await?.is_empty(),
        "{:?}",
        rt.store().pending_outbox().await?
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_interrupted_call_activity_terminates_its_child_in_memory() -> anyhow::Result<()> {
    interrupted_call_terminates_the_child(MemoryStore::new()).await
}

#[tokio::test]
async fn an_interrupted_call_activity_terminates_its_child_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("w.db"))?;
    interrupted_call_terminates_the_child(store).await
}

/// The same parent without the error boundary: the uncaught error fails the
/// parent, and its waiting child is terminated too (the parent-close policy
/// is terminate).
#[tokio::test]
async fn a_failing_parent_terminates_its_child() -> anyhow::Result<()> {
    let seen = Arc::new(Seen::default());
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        handlers(seen.clone()),
    )
    .await?;
    // Without the boundary, "Recover" and its flows.
    let xml: String = interrupted_call()
        .lines()
        .filter(|l| !["caught", "recover"].iter().any(|w| l.contains(w)))
        .collect::<Vec<_>>()
        .join("\n");
    rt.deploy(&xml).await?;
    let parent = rt.start_instance(StartRequest::new("parent")).await?;
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&parent)).await??;
    assert_eq!(out.status, InstanceStatus::Failed, "{out:?}");
    let children = rt
        .store()
        .query_instances(&InstanceQuery {
            parent: Some(parent.clone()),
            ..Default::default()
        })
        .await?;
    assert_eq!(children.len(), 1, "{children:?}");
    let child = children[0].instance.clone();
    let status = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&child))
        .await??
        .status;
    assert_eq!(status, InstanceStatus::Terminated);
    assert!(eventually(&seen.observed).await);
    rt.shutdown().await?;
    Ok(())
}

/// Recovery finds a child's start row and its termination row both pending
/// (the parent committed both, then the process stopped before carrying
/// them out; `cancel-child:` sorts before `start-child:`). The start is
/// taken first and the child then terminated: it never runs on.
#[tokio::test]
async fn a_pending_child_start_with_a_pending_termination_never_runs_on() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let seen = Arc::new(Seen::default());
    let parent_key = {
        let rt = Runtime::start(
            RuntimeOptions::default(),
            SqliteStore::open(&path)?,
            handlers(seen.clone()),
        )
        .await?;
        let d = rt.deploy(&interrupted_call()).await?;
        rt.shutdown().await?;
        d.processes
            .iter()
            .find(|(id, _, _)| id == "parent")
            .map(|(_, key, _)| key.clone())
            .unwrap()
    };
    let parent = InstanceRef::new("p-1", "1");
    // The child id a call activity token 3 of `p-1` run 1 gets.
    let child = InstanceRef::new("p-1/1/call/3", "1");
    let start = OutboxEntry::StartChild {
        child: child.clone(),
        start: Box::new(StartChild {
            parent_id: "p-1".into(),
            parent_run: "1".into(),
            parent_definition: parent_key,
            process_id: "child".into(),
            binding: windlass_model::CallBinding::Deployment,
            token: TokenId(3),
            vars: Default::default(),
        }),
    };
    let cancel = OutboxEntry::CancelChild {
        child: child.clone(),
        cancel: CancelChild::interrupted_in(&parent),
    };
    {
        let store = SqliteStore::open(&path)?;
        let mut batch = Batch::new();
        batch.outbox(OutboxChange::Insert(start.to_row(Timestamp(1))));
        batch.outbox(OutboxChange::Insert(cancel.to_row(Timestamp(1))));
        store.commit(batch).await?;
    }
    let rt = Runtime::start(
        RuntimeOptions::default(),
        SqliteStore::open(&path)?,
        handlers(seen.clone()),
    )
    .await?;
    assert_eq!(rt.recovery().outbox_rows, 2);
    let status = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&child))
        .await??
        .status;
    assert_eq!(status, InstanceStatus::Terminated);
    assert!(!seen.finished.load(Ordering::SeqCst));
    assert!(rt.store().pending_outbox().await?.is_empty());
    rt.shutdown().await?;
    Ok(())
}
