//! Escalations from called processes in the runtime: the child's uncaught
//! escalation goes through a `child-escalated` outbox row to its parent's
//! call activity, whose boundary events catch it (non-interrupting: the
//! child goes on; interrupting: the child is terminated). A row left over
//! by a stop is delivered by recovery, and a second delivery of the same
//! escalation is refused and consumed. Memory store and SQLite files.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use windlass_engine::Event;
use windlass_engine::ids::TokenId;
use windlass_runtime::{
    ChildEscalation, HandlerResult, Handlers, Job, JobOutcome, OutboxEntry, Runtime,
    RuntimeOptions, StartRequest,
};
use windlass_store_api::{
    Batch, HistoryRead, InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus, OutboxChange,
    OutboxRead, Store, StoreWrite,
};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::Timestamp;

/// parent: call activity with a non-interrupting `late` and an
/// interrupting `abort` escalation boundary event. child: throws `late`,
/// runs "Work", then `abort` from an end event of a sub-process, then
/// "Finish" (never reached in time: no handler is bound, an incident).
fn escalating_call() -> String {
    doc(r#"<escalation id="esc_late" escalationCode="late"/>
<escalation id="esc_abort" escalationCode="abort"/>
<process id="parent" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
  <callActivity id="call" name="Call child" calledElement="child"/>
  <boundaryEvent id="lateCaught" attachedToRef="call" cancelActivity="false">
    <escalationEventDefinition escalationRef="esc_late"/>
  </boundaryEvent>
  <sequenceFlow id="f2" sourceRef="lateCaught" targetRef="notify"/>
  <serviceTask id="notify" name="Notify"/>
  <boundaryEvent id="aborted" attachedToRef="call">
    <escalationEventDefinition escalationRef="esc_abort"/>
  </boundaryEvent>
  <sequenceFlow id="f3" sourceRef="aborted" targetRef="handle"/>
  <serviceTask id="handle" name="Handle"/>
  <sequenceFlow id="f4" sourceRef="call" targetRef="never"/>
  <serviceTask id="never" name="Never"/>
</process>
<process id="child" isExecutable="true">
  <startEvent id="cs"/>
  <sequenceFlow id="c1" sourceRef="cs" targetRef="late"/>
  <intermediateThrowEvent id="late"><escalationEventDefinition escalationRef="esc_late"/></intermediateThrowEvent>
  <sequenceFlow id="c2" sourceRef="late" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="c3" sourceRef="work" targetRef="inner"/>
  <subProcess id="inner">
    <startEvent id="is"/>
    <sequenceFlow id="i1" sourceRef="is" targetRef="abort"/>
    <endEvent id="abort"><escalationEventDefinition escalationRef="esc_abort"/></endEvent>
  </subProcess>
  <sequenceFlow id="c4" sourceRef="inner" targetRef="finish"/>
  <serviceTask id="finish" name="Finish"/>
</process>"#)
}

fn done(_: &Job) -> HandlerResult {
    HandlerResult::Ready(JobOutcome::done(Default::default()))
}

fn handlers() -> Handlers {
    Handlers::new()
        .on_name("Notify", done)
        .on_name("Work", done)
        .on_name("Handle", done)
        .on_name("Never", done)
}

/// The only child of `parent`.
async fn child_of<S: Store>(store: &S, parent: &InstanceRef) -> InstanceRef {
    let children = store
        .query_instances(&InstanceQuery {
            parent: Some(parent.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    children[0].instance.clone()
}

async fn escalations_reach_the_call_activity<S: Store>(store: S) -> anyhow::Result<()> {
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers()).await?;
    rt.deploy(&escalating_call()).await?;
    let parent = rt.start_instance(StartRequest::new("parent")).await?;
    let out = finished(&rt, &parent).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    assert_eq!(out.executed.get("Notify"), Some(&1), "{out:?}");
    assert_eq!(out.executed.get("Handle"), Some(&1), "{out:?}");
    assert_eq!(out.executed.get("Never"), None, "{out:?}");
    let child = child_of(rt.store(), &parent).await;
    assert_eq!(
        finished(&rt, &child).await.status,
        InstanceStatus::Terminated
    );
    let taken: Vec<(u32, Option<String>)> = events(&rt, &parent)
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::ChildEscalated { number, code, .. } => Some((number, code)),
            _ => None,
        })
        .collect();
    assert_eq!(
        taken,
        [
            (0, Some("late".to_string())),
            (1, Some("abort".to_string()))
        ]
    );
    assert!(
        rt.store().pending_outbox().await?.is_empty(),
        "{:?}",
        rt.store().pending_outbox().await?
    );
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn child_escalations_reach_the_call_activity_in_memory() -> anyhow::Result<()> {
    escalations_reach_the_call_activity(MemoryStore::new()).await
}

#[tokio::test]
async fn child_escalations_reach_the_call_activity_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    escalations_reach_the_call_activity(SqliteStore::open(dir.path().join("w.db"))?).await
}

/// A parent whose call activity waits for a child stuck at an incident
/// ("Slow" has no handler); the parent catches `late` without interrupting.
fn waiting_call() -> String {
    doc(r#"<escalation id="esc_late" escalationCode="late"/>
<process id="parent" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
  <callActivity id="call" name="Call child" calledElement="child"/>
  <boundaryEvent id="lateCaught" attachedToRef="call" cancelActivity="false">
    <escalationEventDefinition escalationRef="esc_late"/>
  </boundaryEvent>
  <sequenceFlow id="f2" sourceRef="lateCaught" targetRef="notify"/>
  <serviceTask id="notify" name="Notify"/>
  <sequenceFlow id="f3" sourceRef="call" targetRef="e"/>
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

/// Commits a `child-escalated` row as a child's commit would have.
async fn leave_row(path: &std::path::Path, parent: &InstanceRef, child: &InstanceRef) {
    let entry = OutboxEntry::ChildEscalated {
        parent: parent.clone(),
        escalation: Box::new(ChildEscalation {
            child_id: child.id.0.clone(),
            child_run: child.run.0.clone(),
            token: call_token(child),
            number: 0,
            code: Some("late".into()),
        }),
    };
    let store = SqliteStore::open(path).unwrap();
    let mut batch = Batch::new();
    batch.outbox(OutboxChange::Insert(entry.to_row(Timestamp(1))));
    store.commit(batch).await.unwrap();
}

/// The parent's call activity token, read from the child's id.
fn call_token(child: &InstanceRef) -> TokenId {
    let n = child.id.0.rsplit('/').next().unwrap();
    TokenId(n.parse().unwrap())
}

async fn notify_count(path: &std::path::Path, parent: &InstanceRef) -> (usize, usize) {
    let store = SqliteStore::open(path).unwrap();
    let history = store.history(parent).await.unwrap();
    let events: Vec<Event> = history
        .iter()
        .map(|h| windlass_engine::codec::decode_event(&h.payload).unwrap())
        .collect();
    let taken = events
        .iter()
        .filter(|e| matches!(e, Event::ChildEscalated { .. }))
        .count();
    let notified = events
        .iter()
        .filter(|e| matches!(e, Event::JobCompleted { .. }))
        .count();
    (taken, notified)
}

/// Runs the waiting parent of [`waiting_call`] on a new SQLite file until
/// its child is stuck, then stops: (the file's directory, parent, child).
async fn stopped_with_a_waiting_child()
-> anyhow::Result<(tempfile::TempDir, InstanceRef, InstanceRef)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let (parent, child) = {
        let rt = Runtime::start(
            RuntimeOptions::default(),
            SqliteStore::open(&path)?,
            handlers(),
        )
        .await?;
        rt.deploy(&waiting_call()).await?;
        let parent = rt.start_instance(StartRequest::new("parent")).await?;
        let child = loop {
            let children = rt
                .store()
                .query_instances(&InstanceQuery {
                    parent: Some(parent.clone()),
                    ..Default::default()
                })
                .await?;
            if let Some(c) = children.first() {
                break c.instance.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        settled(&rt, &child).await;
        settled(&rt, &parent).await;
        rt.shutdown().await?;
        drop(rt);
        (parent, child)
    };
    Ok((dir, parent, child))
}

#[tokio::test]
async fn a_left_over_escalation_reaches_the_parent_before_the_childs_end() -> anyhow::Result<()> {
    let (dir, parent, child) = stopped_with_a_waiting_child().await?;
    let path = dir.path().join("w.db");
    leave_row(&path, &parent, &child).await;
    // The child's end, committed after its escalation (`child-done` sorts
    // before `child-escalated` as text).
    let done = OutboxEntry::ChildDone {
        child: child.clone(),
        parent: parent.clone(),
        done: Box::new(windlass_runtime::ChildDone {
            token: call_token(&child),
            completed: true,
            outputs: Default::default(),
            code: None,
            message: String::new(),
            not_started: false,
        }),
    };
    {
        let store = SqliteStore::open(&path)?;
        let mut batch = Batch::new();
        batch.outbox(OutboxChange::Insert(done.to_row(Timestamp(1))));
        store.commit(batch).await?;
    }
    let rt = Runtime::start(
        RuntimeOptions::default(),
        SqliteStore::open(&path)?,
        handlers(),
    )
    .await?;
    let out = finished(&rt, &parent).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{out:?}");
    assert_eq!(out.executed.get("Notify"), Some(&1), "{out:?}");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_left_over_escalation_is_delivered_by_recovery_once() -> anyhow::Result<()> {
    let (dir, parent, child) = stopped_with_a_waiting_child().await?;
    let path = dir.path().join("w.db");
    // As if the child had sent `late` up and the process stopped before the
    // parent took it.
    leave_row(&path, &parent, &child).await;
    for round in 0..2 {
        let rt = Runtime::start(
            RuntimeOptions::default(),
            SqliteStore::open(&path)?,
            handlers(),
        )
        .await?;
        assert!(rt.recovery().outbox_rows >= 1);
        let mut left = rt.store().pending_outbox().await?;
        for _ in 0..500 {
            if !left.iter().any(|r| r.kind == "child-escalated") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            left = rt.store().pending_outbox().await?;
        }
        assert!(
            !left.iter().any(|r| r.kind == "child-escalated"),
            "round {round}: {left:?}"
        );
        settled(&rt, &parent).await;
        rt.shutdown().await?;
        drop(rt);
        // Taken once; Notify ran once (the second delivery was refused).
        assert_eq!(notify_count(&path, &parent).await, (1, 1), "round {round}");
        // The same row again: a second delivery after a crash.
        leave_row(&path, &parent, &child).await;
    }
    Ok(())
}
