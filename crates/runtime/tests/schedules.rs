//! Schedules through the runtime, driven by a `MockClock` (no sleeping):
//! timer start events with cron, `R3/…` and date timers, every overlap
//! policy, pause / unpause, trigger now, the next fire times, redeploys,
//! catch-up after a restart on SQLite, and a `windlass:cron` source
//! starting an instance through its message.
//!
//! `rt.schedules()` is the synchronisation point after advancing the
//! clock: the service fires what is due before it answers a request.
#![allow(clippy::unwrap_used)]

mod common;

use common::doc;
use std::sync::Arc;
use std::time::Duration;
use windlass_model::OverlapPolicy;
use windlass_runtime::{HandlerResult, Handlers, Job, Runtime, RuntimeHandle, RuntimeOptions};
use windlass_store_api::{
    InstanceId, InstanceQuery, InstanceRow, InstanceStatus, ScheduleRead, Store,
};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// A process `p` whose timer start event `s` (`part` = `timeCycle`,
/// `timeDate`, …) leads to the external task "Work", then the end.
fn timer_process(part: &str, value: &str, overlap: Option<&str>) -> String {
    let ext = overlap.map_or(String::new(), |o| {
        format!(r#"<extensionElements><windlass:schedule overlap="{o}"/></extensionElements>"#)
    });
    doc(&format!(
        r#"<process id="p" isExecutable="true" xmlns:windlass="urn:windlass:bpmn:1">
  <startEvent id="s">{ext}
    <timerEventDefinition><{part}>{value}</{part}></timerEventDefinition>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

fn external(_: &Job) -> HandlerResult {
    HandlerResult::External
}

fn opts(clock: &Arc<MockClock>) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    }
}

async fn start_rt(clock: &Arc<MockClock>) -> RuntimeHandle<MemoryStore> {
    let handlers = Handlers::new().on_name("Work", external);
    Runtime::start(opts(clock), MemoryStore::new(), handlers)
        .await
        .unwrap()
}

/// Advances the clock and waits until the service has fired what is due.
async fn advance<S: Store>(rt: &RuntimeHandle<S>, clock: &MockClock, ms: i64) {
    clock.advance(ms);
    tokio::time::timeout(Duration::from_secs(20), rt.schedules())
        .await
        .unwrap()
        .unwrap();
}

/// Every run of instance id `id`, oldest first.
async fn runs<S: Store>(rt: &RuntimeHandle<S>, id: &str) -> Vec<InstanceRow> {
    let q = InstanceQuery {
        id: Some(InstanceId::new(id)),
        ..Default::default()
    };
    rt.store().query_instances(&q).await.unwrap()
}

async fn all_rows<S: Store>(rt: &RuntimeHandle<S>) -> Vec<InstanceRow> {
    let q = InstanceQuery {
        created_from: Some(Timestamp(0)),
        ..Default::default()
    };
    rt.store().query_instances(&q).await.unwrap()
}

fn statuses(rows: &[InstanceRow]) -> Vec<InstanceStatus> {
    rows.iter().map(|r| r.status).collect()
}

async fn info<S: Store>(rt: &RuntimeHandle<S>, id: &str) -> windlass_runtime::ScheduleInfo {
    rt.schedules()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no schedule {id}"))
}

async fn finish_latest<S: Store>(rt: &RuntimeHandle<S>, id: &str) {
    let rows = runs(rt, id).await;
    let live = rows.iter().rev().find(|r| !r.status.is_finished()).unwrap();
    rt.terminate(&live.instance, "done").await.unwrap();
    // The shard tells the service before it answers a waiter.
    rt.wait_finished(&live.instance).await.unwrap();
    rt.schedules().await.unwrap();
}

#[tokio::test]
async fn a_cron_timer_start_event_starts_an_instance_per_fire() {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&timer_process("timeCycle", "*/5 * * * *", None))
        .await
        .unwrap();
    let s = info(&rt, "p/s").await;
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 5 * MIN)));
    assert_eq!((s.overlap, s.paused), (OverlapPolicy::Skip, false));
    assert_eq!(s.timing, "cron */5 * * * *");
    advance(&rt, &clock, 5 * MIN - 1).await;
    assert!(runs(&rt, "p/s").await.is_empty(), "not before its time");
    advance(&rt, &clock, 1).await;
    let rows = runs(&rt, "p/s").await;
    assert_eq!(statuses(&rows), [InstanceStatus::Running]);
    let out = rt.outcome(&rows[0].instance).await.unwrap();
    assert_eq!(out.variables["scheduledTime"], "2026-01-01T00:05:00Z");
    assert_eq!(out.variables["firedAt"], "2026-01-01T00:05:00Z");
    assert_eq!(out.variables["scheduleId"], "p/s");
    let s = info(&rt, "p/s").await;
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 10 * MIN)));
    assert_eq!(s.last_fire_at, Some(Timestamp(T0 + 5 * MIN)));
    // The row in the store says the same.
    let row = rt.store().schedule("p/s").await.unwrap().unwrap();
    assert_eq!(row.next_fire_at, Some(Timestamp(T0 + 10 * MIN)));
    finish_latest(&rt, "p/s").await;
    advance(&rt, &clock, 5 * MIN).await;
    assert_eq!(runs(&rt, "p/s").await.len(), 2, "a new run per fire");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_r3_cycle_fires_three_times_and_a_date_once() {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&timer_process("timeCycle", "R3/PT1M", Some("allow-all")))
        .await
        .unwrap();
    let times = rt.next_fire_times("p/s", 5).await.unwrap();
    assert_eq!(
        times,
        [T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN].map(Timestamp),
        "three repetitions, no more"
    );
    for _ in 0..5 {
        advance(&rt, &clock, MIN).await;
    }
    let ids: Vec<String> = all_rows(&rt)
        .await
        .iter()
        .map(|r| r.instance.id.0.clone())
        .collect();
    assert_eq!(
        ids,
        [
            "p/s@2026-01-01T00:01:00Z",
            "p/s@2026-01-01T00:02:00Z",
            "p/s@2026-01-01T00:03:00Z"
        ]
    );
    assert_eq!(info(&rt, "p/s").await.next_fire_at, None);
    rt.shutdown().await.unwrap();

    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&timer_process("timeDate", "2026-01-01T01:00:00Z", None))
        .await
        .unwrap();
    assert_eq!(
        rt.next_fire_times("p/s", 3).await.unwrap(),
        [Timestamp(T0 + 60 * MIN)]
    );
    advance(&rt, &clock, 60 * MIN).await;
    advance(&rt, &clock, 600 * MIN).await;
    assert_eq!(runs(&rt, "p/s").await.len(), 1);
    rt.shutdown().await.unwrap();
}

/// Fires at +1 (starts run A) and +2, +3 min while A runs; returns the
/// runtime.
async fn overlap(policy: &str) -> (Arc<MockClock>, RuntimeHandle<MemoryStore>) {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&timer_process("timeCycle", "R/PT1M", Some(policy)))
        .await
        .unwrap();
    for _ in 0..3 {
        advance(&rt, &clock, MIN).await;
    }
    (clock, rt)
}

#[tokio::test]
async fn overlap_skip_drops_fires_while_the_run_is_unfinished() {
    let (_clock, rt) = overlap("skip").await;
    assert_eq!(statuses(&runs(&rt, "p/s").await), [InstanceStatus::Running]);
    assert_eq!(info(&rt, "p/s").await.buffered, 0);
    finish_latest(&rt, "p/s").await;
    assert_eq!(runs(&rt, "p/s").await.len(), 1, "nothing was kept");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn overlap_buffer_one_keeps_one_fire_for_the_end_of_the_run() {
    let (_clock, rt) = overlap("buffer-one").await;
    assert_eq!(runs(&rt, "p/s").await.len(), 1);
    assert_eq!(info(&rt, "p/s").await.buffered, 1);
    finish_latest(&rt, "p/s").await;
    let rows = runs(&rt, "p/s").await;
    assert_eq!(
        statuses(&rows),
        [InstanceStatus::Terminated, InstanceStatus::Running]
    );
    let out = rt.outcome(&rows[1].instance).await.unwrap();
    assert_eq!(out.variables["scheduledTime"], "2026-01-01T00:02:00Z");
    assert_eq!(info(&rt, "p/s").await.buffered, 0);
    finish_latest(&rt, "p/s").await;
    assert_eq!(runs(&rt, "p/s").await.len(), 2);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn overlap_buffer_all_starts_every_fire_in_turn() {
    let (_clock, rt) = overlap("buffer-all").await;
    assert_eq!(info(&rt, "p/s").await.buffered, 2);
    assert_eq!(
        rt.store().schedule("p/s").await.unwrap().unwrap().buffered,
        [Timestamp(T0 + 2 * MIN), Timestamp(T0 + 3 * MIN)]
    );
    finish_latest(&rt, "p/s").await;
    finish_latest(&rt, "p/s").await;
    let rows = runs(&rt, "p/s").await;
    assert_eq!(rows.len(), 3);
    let out = rt.outcome(&rows[2].instance).await.unwrap();
    assert_eq!(out.variables["scheduledTime"], "2026-01-01T00:03:00Z");
    assert_eq!(info(&rt, "p/s").await.buffered, 0);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn overlap_cancel_other_cancels_the_run_then_starts() {
    let (_clock, rt) = overlap("cancel-other").await;
    rt.schedules().await.unwrap();
    let rows = runs(&rt, "p/s").await;
    assert_eq!(
        statuses(&rows),
        [
            InstanceStatus::Cancelled,
            InstanceStatus::Cancelled,
            InstanceStatus::Running
        ],
        "each fire cancels the run before it"
    );
    let out = rt.outcome(&rows[2].instance).await.unwrap();
    assert_eq!(out.variables["scheduledTime"], "2026-01-01T00:03:00Z");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn overlap_terminate_other_ends_the_run_in_the_same_commit() {
    let (_clock, rt) = overlap("terminate-other").await;
    assert_eq!(
        statuses(&runs(&rt, "p/s").await),
        [
            InstanceStatus::Terminated,
            InstanceStatus::Terminated,
            InstanceStatus::Running
        ]
    );
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn overlap_allow_all_gives_each_fire_its_own_id() {
    let (_clock, rt) = overlap("allow-all").await;
    let rows = all_rows(&rt).await;
    assert_eq!(
        statuses(&rows),
        [InstanceStatus::Running; 3],
        "three unfinished runs side by side"
    );
    assert_eq!(rows[1].instance.id.0, "p/s@2026-01-01T00:02:00Z");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn pause_unpause_and_trigger_now() {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&timer_process("timeCycle", "R/PT1M", Some("allow-all")))
        .await
        .unwrap();
    rt.pause_schedule("p/s").await.unwrap();
    assert!(info(&rt, "p/s").await.paused);
    assert!(rt.store().schedule("p/s").await.unwrap().unwrap().paused);
    advance(&rt, &clock, 5 * MIN).await;
    assert!(
        all_rows(&rt).await.is_empty(),
        "a paused schedule does not fire"
    );

    rt.trigger_schedule("p/s").await.unwrap();
    let rows = all_rows(&rt).await;
    assert_eq!(rows.len(), 1, "trigger fires even while paused");
    assert_eq!(rows[0].instance.id.0, "p/s@2026-01-01T00:05:00Z");
    assert_eq!(
        info(&rt, "p/s").await.next_fire_at,
        Some(Timestamp(T0 + MIN)),
        "trigger leaves the next fire alone"
    );

    // Unpausing fires the missed occurrences once, then goes on.
    rt.unpause_schedule("p/s").await.unwrap();
    rt.schedules().await.unwrap();
    let s = info(&rt, "p/s").await;
    assert!(!s.paused);
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 6 * MIN)));
    assert_eq!(s.skipped, 4, "+1..+4 skipped, +5 fired");
    // +5 fired under the same id as the trigger: already there, no second run.
    assert_eq!(all_rows(&rt).await.len(), 1);
    advance(&rt, &clock, MIN).await;
    assert_eq!(all_rows(&rt).await.len(), 2);

    let err = rt.pause_schedule("nope").await.unwrap_err();
    assert!(err.to_string().contains("no schedule 'nope'"), "{err}");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn redeploys_keep_pause_of_an_unchanged_schedule_and_drop_removed_ones() {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&timer_process("timeCycle", "R/PT1M", None))
        .await
        .unwrap();
    rt.pause_schedule("p/s").await.unwrap();
    // Same schedule, another document (a changed name): pause kept.
    let renamed =
        timer_process("timeCycle", "R/PT1M", None).replace(r#"name="Work""#, r#"name="Work" "#);
    let renamed = renamed.replace("<endEvent id=\"e\"/>", "<endEvent id=\"e\" name=\"End\"/>");
    rt.deploy(&renamed).await.unwrap();
    assert!(info(&rt, "p/s").await.paused);
    // A changed timer: a new schedule (unpaused, times from now).
    advance(&rt, &clock, 2 * MIN).await;
    rt.deploy(&timer_process("timeCycle", "R/PT10M", None))
        .await
        .unwrap();
    let s = info(&rt, "p/s").await;
    assert!(!s.paused);
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 12 * MIN)));
    // A version without the timer start event deletes the row.
    rt.deploy(&common::simple("p")).await.unwrap();
    assert!(rt.schedules().await.unwrap().is_empty());
    assert!(rt.store().schedule("p/s").await.unwrap().is_none());
    advance(&rt, &clock, 60 * MIN).await;
    assert!(all_rows(&rt).await.is_empty());
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn missed_fires_fire_once_after_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = || Handlers::new().on_name("Work", external);
    let rt = Runtime::start(opts(&clock), SqliteStore::open(&path).unwrap(), handlers())
        .await
        .unwrap();
    rt.deploy(&timer_process("timeCycle", "R/PT1M", Some("allow-all")))
        .await
        .unwrap();
    advance(&rt, &clock, MIN).await;
    assert_eq!(runs(&rt, "p/s@2026-01-01T00:01:00Z").await.len(), 1);
    rt.shutdown().await.unwrap();
    drop(rt);

    // Down for ten minutes: +2..+11 are missed.
    clock.advance(10 * MIN);
    let rt = Runtime::start(opts(&clock), SqliteStore::open(&path).unwrap(), handlers())
        .await
        .unwrap();
    let s = info(&rt, "p/s").await;
    assert_eq!(
        runs(&rt, "p/s@2026-01-01T00:11:00Z").await.len(),
        1,
        "the missed fires fire once, as the latest"
    );
    for m in 2..=10 {
        let id = format!("p/s@2026-01-01T00:{m:02}:00Z");
        assert!(runs(&rt, &id).await.is_empty(), "{id} skipped");
    }
    assert_eq!(s.skipped, 9);
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 12 * MIN)));
    rt.shutdown().await.unwrap();
    drop(rt);

    // With a catch-up window of ten seconds, a latest missed fire 30
    // seconds late is skipped too.
    clock.advance(6 * MIN + 30_000);
    let o = RuntimeOptions {
        timer_catch_up: Some(Duration::from_secs(10)),
        ..opts(&clock)
    };
    let rt = Runtime::start(o, SqliteStore::open(&path).unwrap(), handlers())
        .await
        .unwrap();
    let s = info(&rt, "p/s").await;
    assert!(
        runs(&rt, "p/s@2026-01-01T00:17:00Z").await.is_empty(),
        "too late: nothing fired"
    );
    assert_eq!(s.skipped, 6);
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 18 * MIN)));
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_buffered_fire_survives_a_restart_and_starts_when_the_run_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let handlers = || Handlers::new().on_name("Work", external);
    let rt = Runtime::start(opts(&clock), SqliteStore::open(&path).unwrap(), handlers())
        .await
        .unwrap();
    rt.deploy(&timer_process("timeCycle", "R2/PT1M", Some("buffer-one")))
        .await
        .unwrap();
    advance(&rt, &clock, MIN).await;
    advance(&rt, &clock, MIN).await;
    assert_eq!(info(&rt, "p/s").await.buffered, 1);
    let live = runs(&rt, "p/s").await[0].instance.clone();
    rt.shutdown().await.unwrap();
    drop(rt);
    let rt = Runtime::start(opts(&clock), SqliteStore::open(&path).unwrap(), handlers())
        .await
        .unwrap();
    assert_eq!(info(&rt, "p/s").await.buffered, 1, "still waiting");
    rt.terminate(&live, "done").await.unwrap();
    rt.wait_finished(&live).await.unwrap();
    rt.schedules().await.unwrap();
    assert_eq!(runs(&rt, "p/s").await.len(), 2);
    assert_eq!(info(&rt, "p/s").await.buffered, 0);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_cron_source_starts_an_instance_through_its_message() {
    let xml = doc(r#"<message id="m" name="tick"/>
<process id="c" isExecutable="true" xmlns:windlass="urn:windlass:bpmn:1">
  <extensionElements>
    <windlass:cron message="tick" schedule="0 3 * * *" timezone="Europe/Berlin"/>
  </extensionElements>
  <startEvent id="s"><messageEventDefinition messageRef="m"/></startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#);
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&xml).await.unwrap();
    let s = info(&rt, "c/cron/tick").await;
    assert_eq!(s.message.as_deref(), Some("tick"));
    // 03:00 in Berlin is 02:00 UTC in January.
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 120 * MIN)));
    advance(&rt, &clock, 120 * MIN).await;
    let rows = all_rows(&rt).await;
    assert_eq!(rows.len(), 1, "the message started an instance");
    let out = rt.outcome(&rows[0].instance).await.unwrap();
    assert_eq!(out.variables["scheduleId"], "c/cron/tick");
    assert_eq!(out.variables["scheduledTime"], "2026-01-01T02:00:00Z");
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fire_refused_for_good_is_lost_and_the_schedule_goes_on() {
    // The instance id template names a variable no fire has.
    let xml = timer_process("timeCycle", "R/PT1M", None).replace(
        r#"<startEvent id="s">"#,
        r#"<extensionElements><windlass:instanceId template="x-{missing}"/></extensionElements>
  <startEvent id="s">"#,
    );
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let rt = start_rt(&clock).await;
    rt.deploy(&xml).await.unwrap();
    advance(&rt, &clock, MIN).await;
    let s = info(&rt, "p/s").await;
    assert_eq!(s.next_fire_at, Some(Timestamp(T0 + 2 * MIN)), "moved on");
    assert!(all_rows(&rt).await.is_empty());
    let err = rt.trigger_schedule("p/s").await.unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    rt.shutdown().await.unwrap();
}
