//! `RuntimeHandle::reset` on a `MockClock`: a finished run reset to a
//! point where its first job waited runs again from there in a new run
//! that carries the old history with its original times, survives a
//! restart on SQLite, and gets the signals the old run received after the
//! point (or not, when told); resetting the live run terminates it and
//! stops its job; a timer open at the point is armed in the new run;
//! refused points and runs change nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_engine::{DecideError, Event};
use windlass_runtime::{
    Handlers, ResetRequest, Runtime, RuntimeError, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_store_api::{HistoryRead, InstanceIndex, InstanceRef, InstanceStatus, Store};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// start → "First" (external) → catch signal "go" → "Second" → end.
fn first_then_signal() -> String {
    doc(r#"<signal id="go_sig" name="go"/>
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
  <serviceTask id="first" name="First"/>
  <sequenceFlow id="f2" sourceRef="first" targetRef="go"/>
  <intermediateCatchEvent id="go" name="Go">
    <signalEventDefinition signalRef="go_sig"/>
  </intermediateCatchEvent>
  <sequenceFlow id="f3" sourceRef="go" targetRef="second"/>
  <serviceTask id="second" name="Second"/>
  <sequenceFlow id="f4" sourceRef="second" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

fn opts(clock: &Arc<MockClock>) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    }
}

fn handlers(handed: &Handed, second: &Arc<AtomicUsize>) -> Handlers {
    Handlers::new()
        .on_name("First", external(handed.clone()))
        .on_name("Second", counting(second.clone(), "second"))
}

/// The number of events of the start's commit (First waiting).
async fn first_waiting<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> u64 {
    let ev = events(rt, id).await;
    let i = ev
        .iter()
        .position(|e| matches!(e, Event::JobCreated { .. }))
        .unwrap();
    i as u64 + 1
}

fn reset(instance: &InstanceRef, to_event: u64, reapply_signals: bool) -> ResetRequest {
    ResetRequest {
        instance: instance.clone(),
        to_event,
        reason: "First was wrong".into(),
        reapply_signals,
    }
}

fn last_key(handed: &Handed) -> String {
    handed.lock().unwrap().last().unwrap().0.clone()
}

#[tokio::test]
async fn a_finished_run_reset_runs_again_with_its_history_and_signals_across_a_restart()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let second = Arc::new(AtomicUsize::new(0));
    let start = || {
        Runtime::start(
            opts(&clock),
            SqliteStore::open(&path).unwrap(),
            handlers(&handed, &second),
        )
    };
    let rt = start().await?;
    rt.deploy(&first_then_signal()).await?;
    let old = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &old).await;
    let at = first_waiting(&rt, &old).await;
    clock.advance(MIN);
    rt.complete_job(&last_key(&handed), Vars::new()).await?;
    settled(&rt, &old).await;
    clock.advance(MIN);
    let go = serde_json::json!({"by": "ann"});
    rt.signal(&old, "go", go.as_object().cloned().unwrap())
        .await?;
    assert_eq!(finished(&rt, &old).await.status, InstanceStatus::Completed);
    assert_eq!(second.load(Ordering::SeqCst), 1);

    clock.advance(MIN);
    let new = rt.reset(reset(&old, at, true)).await?;
    assert_eq!(new.id, old.id);
    assert_ne!(new.run, old.run);
    assert!(new.run.run_order() > old.run.run_order());
    // The carried events are the old run's, bytes and times.
    let old_h = rt.store().history(&old).await?;
    let new_h = rt.store().history(&new).await?;
    for (o, n) in old_h.iter().zip(&new_h).take(at as usize) {
        assert_eq!(
            (o.seq, &o.payload, o.recorded_at),
            (n.seq, &n.payload, n.recorded_at)
        );
    }
    assert_eq!(new_h[at as usize].recorded_at, Timestamp(T0 + 3 * MIN));
    let ev = events(&rt, &new).await;
    assert!(matches!(
        &ev[at as usize],
        Event::RunReset { from_run, at_seq, reason }
            if from_run == old.run.as_str() && *at_seq == at && reason == "First was wrong"
    ));
    // The signal the old run got after the point is kept by the new run.
    assert!(matches!(&ev[at as usize + 1], Event::SignalBuffered { name, .. } if name == "go"));
    assert_eq!(rt.store().latest_run(&old.id).await?.unwrap().instance, new);
    // The old run stays as it ended.
    assert_eq!(finished(&rt, &old).await.status, InstanceStatus::Completed);
    assert_eq!(handed.lock().unwrap().len(), 2, "First is asked for again");
    assert!(last_key(&handed).contains(new.run.as_str()));
    rt.shutdown().await?;
    drop(rt);

    // After a restart the new run's job is dispatched again; answered, the
    // kept signal lets it through to its end.
    let rt = start().await?;
    settled(&rt, &new).await;
    assert_eq!(handed.lock().unwrap().len(), 3);
    rt.complete_job(&last_key(&handed), Vars::new()).await?;
    let out = finished(&rt, &new).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(second.load(Ordering::SeqCst), 2);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn resetting_the_live_run_terminates_it_and_stops_its_job() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let second = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers(&handed, &second)).await?;
    rt.deploy(&first_then_signal()).await?;
    let live = rt
        .start_instance(StartRequest {
            instance_id: Some("order-7".into()),
            ..StartRequest::new("p")
        })
        .await?;
    settled(&rt, &live).await;
    let at = first_waiting(&rt, &live).await;
    let (old_key, old_token) = handed.lock().unwrap().last().unwrap().clone();

    let new = rt.reset(reset(&live, at, false)).await?;
    let out = finished(&rt, &live).await;
    assert_eq!(out.status, InstanceStatus::Terminated);
    let failure = out.failure.unwrap_or_default();
    assert!(
        failure.contains("reset") && failure.contains(new.run.as_str()),
        "{failure}"
    );
    assert!(old_token.is_cancelled(), "the live run's job is stopped");
    assert!(rt.complete_job(&old_key, Vars::new()).await.is_err());
    // The new run waits for First again; without reapplied signals it
    // then waits at the catch event.
    rt.complete_job(&last_key(&handed), Vars::new()).await?;
    let out = settled(&rt, &new).await;
    assert_eq!(out.status, InstanceStatus::Running);
    assert_eq!(out.executed.get("First"), Some(&1));
    rt.signal(&new, "go", Vars::new()).await?;
    assert_eq!(finished(&rt, &new).await.status, InstanceStatus::Completed);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_timer_open_at_the_point_is_armed_in_the_new_run() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let after = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_name("After", counting(after.clone(), "after"));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&timer_catch()).await?;
    let old = rt.start_instance(StartRequest::new("t")).await?;
    settled(&rt, &old).await;
    let at = events(&rt, &old).await.len() as u64;
    clock.advance(10 * MIN);
    assert_eq!(finished(&rt, &old).await.status, InstanceStatus::Completed);

    // The timer was due at T0 + 10 min, which has passed: it fires at once.
    let new = rt.reset(reset(&old, at, true)).await?;
    assert_eq!(finished(&rt, &new).await.status, InstanceStatus::Completed);
    assert_eq!(after.load(Ordering::SeqCst), 2);
    let ev = events(&rt, &new).await;
    assert!(ev.iter().any(|e| matches!(e, Event::TimerFired { .. })));
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn refused_resets_change_nothing() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handed = Handed::default();
    let second = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers(&handed, &second)).await?;
    rt.deploy(&first_then_signal()).await?;
    rt.deploy(&parent_and_child()).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &id).await;
    let last = events(&rt, &id).await.len() as u64;

    for to in [0, last + 1] {
        let e = rt.reset(reset(&id, to, true)).await.unwrap_err();
        assert!(
            matches!(&e, RuntimeError::ResetRefused { reason, .. } if reason.contains("not in the run's history")),
            "{e}"
        );
    }
    let e = rt.reset(reset(&id, 1, true)).await.unwrap_err();
    assert!(
        matches!(
            &e,
            RuntimeError::Rejected {
                reason: DecideError::ResetInsideDecision { at_seq: 1, .. },
                ..
            }
        ),
        "{e}"
    );
    let unknown = InstanceRef::new(id.id.as_str(), "0190e9c4-0000-7000-8000-000000000001");
    let e = rt.reset(reset(&unknown, last, true)).await.unwrap_err();
    assert!(matches!(e, RuntimeError::UnknownInstance(_)), "{e}");
    // A call activity's child is reset through its caller.
    let parent = rt.start_instance(StartRequest::new("parent")).await?;
    let child = settled(&rt, &parent).await.called[0].clone();
    let e = rt.reset(reset(&child, 1, true)).await.unwrap_err();
    assert!(e.to_string().contains("reset that instance instead"), "{e}");

    // The run is untouched: still live, still the latest, its job open.
    assert_eq!(rt.store().latest_run(&id.id).await?.unwrap().instance, id);
    assert_eq!(settled(&rt, &id).await.status, InstanceStatus::Running);
    assert_eq!(events(&rt, &id).await.len() as u64, last);
    rt.complete_job(&last_key(&handed), Vars::new()).await?;
    assert_eq!(settled(&rt, &id).await.executed.get("First"), Some(&1));
    rt.shutdown().await?;
    Ok(())
}
