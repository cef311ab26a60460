//! Timers through the runtime, driven by a `MockClock` (no sleeping for
//! time to pass): a catch event, an interrupting boundary event stopping
//! its running handler, a non-interrupting cycle, timer rows written with
//! the events, and timers surviving a restart on SQLite (including one
//! that fell due while the runtime was down, which fires once).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use windlass_runtime::{
    HandlerResult, Handlers, InstanceOutcome, Job, JobOutcome, Runtime, RuntimeHandle,
    RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceRef, InstanceStatus, Store};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// start → wait `duration` → "After" → end.
fn catch(duration: &str) -> String {
    doc(&format!(
        r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
  <intermediateCatchEvent id="wait" name="Wait">
    <timerEventDefinition><timeDuration>{duration}</timeDuration></timerEventDefinition>
  </intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
  <serviceTask id="after" name="After"/>
  <sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

/// start → "Work" (a timer boundary event: `cycle` non-interrupting →
/// "Nudge", or `PT1H` interrupting → "Escalate") → end.
fn boundary(interrupting: bool, spec: &str) -> String {
    let (attr, target, name) = if interrupting {
        ("true", "escalate", "Escalate")
    } else {
        ("false", "nudge", "Nudge")
    };
    let def = if interrupting {
        format!("<timeDuration>{spec}</timeDuration>")
    } else {
        format!("<timeCycle>{spec}</timeCycle>")
    };
    doc(&format!(
        r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <boundaryEvent id="b" attachedToRef="work" cancelActivity="{attr}">
    <timerEventDefinition>{def}</timerEventDefinition>
  </boundaryEvent>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
  <sequenceFlow id="f3" sourceRef="b" targetRef="{target}"/>
  <serviceTask id="{target}" name="{name}"/>
  <sequenceFlow id="f4" sourceRef="{target}" targetRef="e2"/>
  <endEvent id="e2"/>
</process>"#
    ))
}

fn done(_: &Job) -> HandlerResult {
    HandlerResult::Ready(JobOutcome::done(Default::default()))
}

fn opts(clock: &Arc<MockClock>) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    }
}

/// The due times of the instance's timer rows, relative to `T0`.
async fn rows<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> Vec<i64> {
    let rows = rt.store().timers_of(id).await.unwrap();
    rows.iter().map(|r| r.due_at.millis() - T0).collect()
}

fn ran(out: &InstanceOutcome, task: &str) -> u32 {
    out.executed.get(task).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_catch_event_waits_for_the_clock_then_moves_on() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = Handlers::new().on_name("After", done);
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&catch("PT10M")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running, "waiting for the timer");
    assert_eq!(rows(&rt, &id).await, vec![10 * MIN], "the row is written");
    clock.advance(10 * MIN - 1);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running, "not before its time");
    clock.advance(1);
    // No sleep: a due timer fires (and "After" runs) before the answer.
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(ran(&out, "After"), 1);
    assert!(rows(&rt, &id).await.is_empty(), "the row is deleted");
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_interrupting_boundary_timer_stops_the_running_handler() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let started = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(AtomicBool::new(false));
    let (s, st) = (started.clone(), stopped.clone());
    let handlers = Handlers::new()
        .on_name("Work", move |job: &Job| {
            s.store(true, Ordering::SeqCst);
            let token = job.cancel.clone();
            let st = st.clone();
            tokio::spawn(async move {
                token.cancelled().await;
                st.store(true, Ordering::SeqCst);
            });
            HandlerResult::Pending(Box::pin(async {
                std::future::pending::<()>().await;
                JobOutcome::done(Default::default())
            }))
        })
        .on_name("Escalate", done);
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&boundary(true, "PT1H")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    until("the handler starts", || started.load(Ordering::SeqCst)).await;
    assert_eq!(rows(&rt, &id).await, vec![60 * MIN]);
    clock.advance(60 * MIN);
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!((ran(&out, "Work"), ran(&out, "Escalate")), (0, 1));
    until("the handler is told to stop", || {
        stopped.load(Ordering::SeqCst)
    })
    .await;
    assert!(rows(&rt, &id).await.is_empty());
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_non_interrupting_cycle_fires_its_repetitions_then_closes() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = Handlers::new()
        .on_name("Work", |_: &Job| HandlerResult::External)
        .on_name("Nudge", done);
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&boundary(false, "R3/PT10M")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let out = settled(&rt, &id).await;
    assert_eq!(ran(&out, "Nudge"), 0);
    assert_eq!(rows(&rt, &id).await, vec![10 * MIN]);
    for n in 1..=3 {
        clock.advance(10 * MIN);
        let out = settled(&rt, &id).await;
        assert_eq!(ran(&out, "Nudge"), n, "fire {n}");
        assert_eq!(out.status, InstanceStatus::Running, "Work still runs");
    }
    assert!(
        rows(&rt, &id).await.is_empty(),
        "three repetitions, no more"
    );
    clock.advance(60 * MIN);
    let out = settled(&rt, &id).await;
    assert_eq!(ran(&out, "Nudge"), 3);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_unbounded_cycle_closes_when_its_activity_completes() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = Handlers::new()
        .on_name("Work", |_: &Job| HandlerResult::External)
        .on_name("Nudge", done);
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&boundary(false, "R/PT10M")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &id).await;
    clock.advance(10 * MIN);
    settled(&rt, &id).await;
    clock.advance(10 * MIN);
    let out = settled(&rt, &id).await;
    assert_eq!(ran(&out, "Nudge"), 2);
    assert_eq!(rows(&rt, &id).await, vec![30 * MIN], "re-armed");
    let key = {
        use windlass_store_api::OutboxRead;
        let pending = rt.store().pending_outbox().await?;
        pending
            .into_iter()
            .find(|r| r.kind.starts_with("job"))
            .map(|r| r.key)
            .unwrap()
    };
    rt.complete_job(&key, Default::default()).await?;
    let out = tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(&id)).await??;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert!(rows(&rt, &id).await.is_empty(), "closed with its activity");
    clock.advance(60 * MIN);
    let out = rt.outcome(&id).await?;
    assert_eq!(ran(&out, "Nudge"), 2);
    rt.shutdown().await?;
    Ok(())
}

/// Starts a runtime on the SQLite file at `path`, counting "After"/"Nudge".
async fn on_file(
    path: &Path,
    clock: &Arc<MockClock>,
    count: &Arc<AtomicUsize>,
) -> RuntimeHandle<SqliteStore> {
    on_file_with(path, opts(clock), count).await
}

async fn on_file_with(
    path: &Path,
    opts: RuntimeOptions,
    count: &Arc<AtomicUsize>,
) -> RuntimeHandle<SqliteStore> {
    let handlers = Handlers::new()
        .on_name("After", counting(count.clone(), "after"))
        .on_name("Nudge", counting(count.clone(), "nudge"))
        .on_name("Work", |_: &Job| HandlerResult::External);
    Runtime::start(opts, SqliteStore::open(path).unwrap(), handlers)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_timer_survives_a_restart_and_fires_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let count = Arc::new(AtomicUsize::new(0));
    let rt = on_file(&path, &clock, &count).await;
    rt.deploy(&catch("PT10M")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &id).await;
    clock.advance(5 * MIN);
    rt.shutdown().await?;
    drop(rt);

    let rt = on_file(&path, &clock, &count).await;
    assert_eq!(rows(&rt, &id).await, vec![10 * MIN]);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Running, "re-armed, not fired");
    clock.advance(5 * MIN);
    let out = settled(&rt, &id).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(rows(&rt, &id).await.is_empty());
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn timers_due_while_down_fire_once_at_start() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let count = Arc::new(AtomicUsize::new(0));
    let rt = on_file(&path, &clock, &count).await;
    rt.deploy(&catch("PT10M")).await?;
    rt.deploy(&boundary(false, "R/PT10M").replace("\"p\"", "\"cyc\""))
        .await?;
    let a = rt.start_instance(StartRequest::new("p")).await?;
    let b = rt.start_instance(StartRequest::new("cyc")).await?;
    settled(&rt, &a).await;
    settled(&rt, &b).await;
    rt.shutdown().await?;
    drop(rt);

    // Down for 55 minutes: the catch event is due, and the cycle missed
    // five of its occurrences.
    clock.advance(55 * MIN);
    let rt = on_file(&path, &clock, &count).await;
    let out = settled(&rt, &a).await;
    assert_eq!(out.status, InstanceStatus::Completed);
    let out = settled(&rt, &b).await;
    assert_eq!(ran(&out, "Nudge"), 1, "a late cycle fires once");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(rows(&rt, &b).await, vec![60 * MIN], "the next occurrence");
    assert_eq!(rt.timer_stats().fired, 2);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn cycle_fires_older_than_the_catch_up_window_are_skipped() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let count = Arc::new(AtomicUsize::new(0));
    let windowed = RuntimeOptions {
        timer_catch_up: Some(Duration::from_secs(5 * 60)),
        ..opts(&clock)
    };
    let rt = on_file_with(&path, windowed.clone(), &count).await;
    rt.deploy(&catch("PT10M")).await?;
    rt.deploy(&boundary(false, "R/PT10M").replace("\"p\"", "\"cyc\""))
        .await?;
    let b = rt.start_instance(StartRequest::new("cyc")).await?;
    // Within the window: a fire 4 minutes late runs.
    clock.advance(14 * MIN);
    assert_eq!(ran(&settled(&rt, &b).await, "Nudge"), 1);
    // Due at +24 minutes.
    let a = rt.start_instance(StartRequest::new("p")).await?;
    settled(&rt, &a).await;
    assert_eq!(rt.timer_stats().skipped, 0);
    rt.shutdown().await?;
    drop(rt);

    // Down for an hour: the cycle's fire is 54 minutes late.
    clock.advance(60 * MIN);
    let rt = on_file_with(&path, windowed, &count).await;
    let out = settled(&rt, &b).await;
    assert_eq!(ran(&out, "Nudge"), 1, "the late occurrence is skipped");
    assert_eq!(rt.timer_stats().skipped, 1, "and counted");
    assert_eq!(rows(&rt, &b).await, vec![80 * MIN], "re-armed");
    let history = windlass_store_api::HistoryRead::history(rt.store(), &b).await?;
    let skipped = history
        .iter()
        .filter_map(|h| windlass_engine::codec::decode_event(&h.payload).ok())
        .filter(|e| matches!(e, windlass_engine::Event::TimerSkipped { .. }))
        .count();
    assert_eq!(skipped, 1, "recorded in the history");
    // A one-shot timer is never skipped, however late (50 minutes).
    assert_eq!(settled(&rt, &a).await.status, InstanceStatus::Completed);
    assert_eq!(count.load(Ordering::SeqCst), 2, "one Nudge, one After");
    clock.advance(6 * MIN);
    assert_eq!(ran(&settled(&rt, &b).await, "Nudge"), 2, "on time again");
    rt.shutdown().await?;
    Ok(())
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn waiting_through_timers_returns_when_the_timer_has_fired() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = Handlers::new().on_name("After", done);
    let rt = Runtime::start(opts(&clock), MemoryStore::new(), handlers).await?;
    rt.deploy(&catch("PT10M")).await?;
    let id = rt.start_instance(StartRequest::new("p")).await?;
    let waiting = {
        let (rt, id) = (rt.clone(), id.clone());
        tokio::spawn(async move { rt.wait_settled_through_timers(&id).await })
    };
    // The shard and the waiter both wait for the clock.
    until("both wait for the clock", || clock.sleepers() >= 2).await;
    assert!(!waiting.is_finished(), "a pending timer is not settled");
    clock.advance(10 * MIN);
    let out = tokio::time::timeout(Duration::from_secs(20), waiting).await???;
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(ran(&out, "After"), 1);
    rt.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn timers_due_at_once_fire_a_group_at_a_time() -> anyhow::Result<()> {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = Handlers::new().on_name("After", done);
    let small = RuntimeOptions {
        group_cap: 3,
        ..opts(&clock)
    };
    let rt = Runtime::start(small, MemoryStore::new(), handlers).await?;
    rt.deploy(&catch("PT10M")).await?;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(rt.start_instance(StartRequest::new("p")).await?);
    }
    clock.advance(10 * MIN);
    for id in &ids {
        assert_eq!(settled(&rt, id).await.status, InstanceStatus::Completed);
    }
    assert_eq!(rt.timer_stats().fired, 10);
    rt.shutdown().await?;
    Ok(())
}
