//! Crash test for what waits: a real child process (this test binary,
//! re-executed) runs the runtime on a SQLite file and is killed with
//! SIGKILL, twice, while it keeps starting instances and publishing
//! messages; the parent then restarts the runtime on the file and checks
//! that every waiting thing came back and moves on exactly once:
//!
//! - a pending timer (fires when the clock passes it),
//! - a suspended instance (its due timer stays held until resume),
//! - a buffered message (consumed by an instance started after the crash),
//! - a signal buffered by an instance (consumed once the instance gets to
//!   its catch event),
//! - a dedup holder, its waiter and the superseded one before it (the
//!   waiter is granted when the holder ends),
//! - a schedule (fires when due),
//! - instances started and messages published at the moment of the kill
//!   (each instance exists once, completes once, correlates its message
//!   once: publishing again with the same message id is a duplicate or
//!   the first delivery, never a second one).
//!
//! The child's clock is a mock clock that never moves, so nothing is due
//! before the crash; the parent's mock clock starts at the same instant.
//! The kill delays come from a seeded generator; the seed is printed and
//! can be replayed with `WINDLASS_CRASH_SEED=<seed>`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{doc, events, finished, settled};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use windlass_engine::Event;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Message, PublishOutcome, Runtime, RuntimeHandle,
    RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceQuery, InstanceRef, InstanceRow, InstanceStatus, Store};
use windlass_store_sqlite::SqliteStore;
use windlass_types::{MockClock, Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;
/// Set in the child's environment: the phase to run (`setup` or `churn`).
const PHASE: &str = "WINDLASS_CRASH_EVENTS_PHASE";
/// Set in the child's environment: the SQLite file.
const DB: &str = "WINDLASS_CRASH_EVENTS_DB";
/// The line the child prints once its waiting state is committed.
const READY: &str = "WINDLASS-CRASH-READY";

/// Every process of the test, in one document.
fn processes() -> String {
    doc(r#"<message id="paid" name="paid">
  <extensionElements><windlass:correlation key="order"/></extensionElements>
</message>
<message id="tick" name="tick">
  <extensionElements><windlass:correlation key="n"/></extensionElements>
</message>
<signal id="go" name="go"/>
<process id="timed" isExecutable="true">
  <startEvent id="timed-s"/>
  <sequenceFlow id="timed-f1" sourceRef="timed-s" targetRef="timed-wait"/>
  <intermediateCatchEvent id="timed-wait"><timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition></intermediateCatchEvent>
  <sequenceFlow id="timed-f2" sourceRef="timed-wait" targetRef="timed-e"/>
  <endEvent id="timed-e"/>
</process>
<process id="pay" isExecutable="true">
  <startEvent id="pay-s"/>
  <sequenceFlow id="pay-f1" sourceRef="pay-s" targetRef="pay-wait"/>
  <intermediateCatchEvent id="pay-wait"><messageEventDefinition messageRef="paid"/></intermediateCatchEvent>
  <sequenceFlow id="pay-f2" sourceRef="pay-wait" targetRef="pay-e"/>
  <endEvent id="pay-e"/>
</process>
<process id="gate" isExecutable="true">
  <startEvent id="gate-s"/>
  <sequenceFlow id="gate-f1" sourceRef="gate-s" targetRef="gate-t"/>
  <serviceTask id="gate-t" name="Gate"/>
  <sequenceFlow id="gate-f2" sourceRef="gate-t" targetRef="gate-wait"/>
  <intermediateCatchEvent id="gate-wait"><signalEventDefinition signalRef="go"/></intermediateCatchEvent>
  <sequenceFlow id="gate-f3" sourceRef="gate-wait" targetRef="gate-e"/>
  <endEvent id="gate-e"/>
</process>
<process id="region" isExecutable="true">
  <startEvent id="region-s"/>
  <sequenceFlow id="region-f1" sourceRef="region-s" targetRef="region-t"/>
  <serviceTask id="region-t" name="Work">
    <extensionElements><windlass:dedup key="{key}"/></extensionElements>
  </serviceTask>
  <sequenceFlow id="region-f2" sourceRef="region-t" targetRef="region-e"/>
  <endEvent id="region-e"/>
</process>
<process id="hourly" isExecutable="true">
  <startEvent id="hourly-s"><timerEventDefinition><timeCycle>0 * * * *</timeCycle></timerEventDefinition></startEvent>
  <sequenceFlow id="hourly-f1" sourceRef="hourly-s" targetRef="hourly-e"/>
  <endEvent id="hourly-e"/>
</process>
<process id="churn" isExecutable="true">
  <startEvent id="churn-s"/>
  <sequenceFlow id="churn-f1" sourceRef="churn-s" targetRef="churn-t"/>
  <serviceTask id="churn-t" name="Churn"/>
  <sequenceFlow id="churn-f2" sourceRef="churn-t" targetRef="churn-wait"/>
  <intermediateCatchEvent id="churn-wait"><messageEventDefinition messageRef="tick"/></intermediateCatchEvent>
  <sequenceFlow id="churn-f3" sourceRef="churn-wait" targetRef="churn-e"/>
  <endEvent id="churn-e"/>
</process>"#)
    .replace(
        "<definitions ",
        r#"<definitions xmlns:windlass="urn:windlass:bpmn:1" "#,
    )
}

/// Jobs handed to the outside: (instance id, job key).
type Jobs = mpsc::UnboundedReceiver<(String, String)>;

/// "Gate" and "Work" are external (their keys are sent to the test);
/// "Churn" completes at once.
fn handlers() -> (Handlers, Jobs) {
    let (tx, rx) = mpsc::unbounded_channel();
    let external = move |job: &Job| {
        let _ = tx.send((job.instance.id.0.clone(), job.key.clone()));
        HandlerResult::External
    };
    let h = Handlers::new()
        .on_name("Gate", external.clone())
        .on_name("Work", external)
        .on_name("Churn", |_: &Job| {
            HandlerResult::Ready(JobOutcome::done(Vars::new()))
        });
    (h, rx)
}

fn opts(clock: &Arc<MockClock>) -> RuntimeOptions {
    RuntimeOptions {
        clock: clock.clone(),
        shards: 2,
        ..RuntimeOptions::default()
    }
}

fn var(name: &str, value: impl Into<serde_json::Value>) -> Vars {
    Vars::from_iter([(name.to_string(), value.into())])
}

fn start(process: &str, id: &str, vars: Vars) -> StartRequest {
    StartRequest {
        instance_id: Some(id.to_string()),
        vars,
        ..StartRequest::new(process)
    }
}

fn message(name: &str, key: &str, id: Option<String>) -> Message {
    Message {
        name: name.into(),
        correlation_key: Some(key.into()),
        message_id: id,
        vars: Vars::new(),
        ttl_millis: Some(24 * 60 * MIN as u64),
    }
}

/// The churn instance `n` and the message it waits for.
fn churn_start(n: u64) -> StartRequest {
    start("churn", &format!("churn-{n}"), var("n", n.to_string()))
}

fn tick(n: u64) -> Message {
    message("tick", &n.to_string(), Some(format!("tick-{n}")))
}

/// xorshift64*: a small seeded generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Not a test of its own: the body of the child process that
/// `waiting_state_survives_sigkill` starts and kills (it runs only with
/// `--ignored` and the phase in its environment).
#[test]
#[ignore = "the child process of waiting_state_survives_sigkill"]
fn crash_child() {
    let (Ok(phase), Ok(db)) = (std::env::var(PHASE), std::env::var(DB)) else {
        panic!("run by waiting_state_survives_sigkill, with {PHASE} and {DB} set");
    };
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(child(&phase, Path::new(&db)));
}

async fn child(phase: &str, db: &Path) {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), SqliteStore::open(db).unwrap(), h)
        .await
        .unwrap();
    let first_churn = if phase == "setup" {
        setup(&rt, &mut jobs).await;
        0
    } else {
        1_000_000
    };
    println!("{READY}");
    // Work until killed: start an instance, publish the message it waits
    // for (the kill lands anywhere in between).
    for n in first_churn.. {
        rt.start_instance(churn_start(n)).await.unwrap();
        rt.publish(tick(n)).await.unwrap();
    }
}

/// Brings every waiting state about and waits until it is committed.
async fn setup(rt: &RuntimeHandle<SqliteStore>, jobs: &mut Jobs) {
    rt.deploy(&processes()).await.unwrap();
    for id in ["t-1", "t-suspended"] {
        let r = rt.start_instance(start("timed", id, Vars::new())).await;
        assert_eq!(
            settled(rt, &r.unwrap()).await.status,
            InstanceStatus::Running
        );
    }
    let held = InstanceRef::new("t-suspended", run_of(rt, "t-suspended").await);
    rt.suspend(&held, "maintenance").await.unwrap();
    settled(rt, &held).await;
    let out = rt
        .publish(message("paid", "o-1", Some("pay-1".into())))
        .await;
    assert_eq!(out.unwrap(), PublishOutcome::Buffered);
    let gate = rt
        .start_instance(start("gate", "g-1", Vars::new()))
        .await
        .unwrap();
    settled(rt, &gate).await;
    rt.signal(&gate, "go", var("by", "signal")).await.unwrap();
    settled(rt, &gate).await;
    for id in ["d-1", "d-2", "d-3"] {
        let r = rt.start_instance(start("region", id, var("key", "k")));
        settled(rt, &r.await.unwrap()).await;
    }
    // The holder's job was handed out; the others wait for the key.
    let _ = jobs.recv().await;
    let _ = jobs.recv().await;
}

/// The run id of the latest run of `id`.
async fn run_of<S: Store>(rt: &RuntimeHandle<S>, id: &str) -> String {
    let row = rt
        .store()
        .latest_run(&windlass_store_api::InstanceId(id.into()))
        .await
        .unwrap()
        .unwrap();
    row.instance.run.0
}

/// Starts the child in `phase` on `db`, waits for its ready line, lets it
/// work for `delay`, and kills it with SIGKILL.
fn run_and_kill(phase: &str, db: &Path, delay: Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture"])
        .env(PHASE, phase)
        .env(DB, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line == READY => break,
            Some(Ok(_)) => {}
            other => {
                let status = child.wait();
                panic!("the child ended before it was ready ({other:?}, {status:?})");
            }
        }
    }
    std::thread::sleep(delay);
    // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no drain.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn waiting_state_survives_sigkill() {
    let seed = std::env::var("WINDLASS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash seed: {seed} (replay with WINDLASS_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    run_and_kill("setup", &db, Duration::from_millis(50 + rng.below(400)));
    run_and_kill("churn", &db, Duration::from_millis(50 + rng.below(400)));
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(check_after_restart(&db));
}

async fn check_after_restart(db: &Path) {
    let clock = Arc::new(MockClock::new(Timestamp(T0)));
    let (h, mut jobs) = handlers();
    let rt = Runtime::start(opts(&clock), SqliteStore::open(db).unwrap(), h)
        .await
        .unwrap();
    let instance = |id: &str| {
        let rt = rt.clone();
        let id = id.to_string();
        async move { InstanceRef::new(id.clone(), run_of(&rt, &id).await) }
    };
    churned_instances_complete_once(&rt).await;

    // The buffered message is consumed by an instance started now.
    let paying = rt
        .start_instance(start("pay", "p-1", var("order", "o-1")))
        .await
        .unwrap();
    // (The correlator delivers after the instance's subscription is
    // committed: wait for the end, not for the first settle.)
    assert_eq!(
        finished(&rt, &paying).await.status,
        InstanceStatus::Completed
    );

    // The dedup waiter d-2 was superseded by d-3, naming it.
    let d2 = instance("d-2").await;
    assert_eq!(finished(&rt, &d2).await.status, InstanceStatus::Superseded);
    assert!(
        events(&rt, &d2)
            .await
            .iter()
            .any(|e| matches!(e, Event::InstanceSuperseded { by, .. } if by.contains("d-3")))
    );
    // Recovery hands out the open jobs again: the gate's and the holder's.
    let mut open = [next_job(&mut jobs).await, next_job(&mut jobs).await];
    open.sort();
    assert_eq!(
        open.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
        ["d-1", "g-1"]
    );
    // The gate's signal was buffered before the crash: completing the
    // task lets the catch event take it.
    rt.complete_job(&open[1].1, Vars::new()).await.unwrap();
    let gate = finished(&rt, &instance("g-1").await).await;
    assert_eq!(gate.status, InstanceStatus::Completed);
    assert_eq!(gate.variables.get("by"), Some(&serde_json::json!("signal")));
    // The holder ends; the waiter d-3 gets the key and its job.
    rt.complete_job(&open[0].1, Vars::new()).await.unwrap();
    assert_eq!(
        finished(&rt, &instance("d-1").await).await.status,
        InstanceStatus::Completed
    );
    let (who, key) = next_job(&mut jobs).await;
    assert_eq!(who, "d-3");
    rt.complete_job(&key, Vars::new()).await.unwrap();
    assert_eq!(
        finished(&rt, &instance("d-3").await).await.status,
        InstanceStatus::Completed
    );
    dedup_table_empties(&rt).await;

    // The clock passes the hour: the timer fires, the suspended one is
    // held until resumed, the schedule fires once.
    clock.advance(61 * MIN);
    let t1 = instance("t-1").await;
    assert_eq!(finished(&rt, &t1).await.status, InstanceStatus::Completed);
    let held = instance("t-suspended").await;
    assert_eq!(settled(&rt, &held).await.status, InstanceStatus::Running);
    rt.resume(&held).await.unwrap();
    assert_eq!(finished(&rt, &held).await.status, InstanceStatus::Completed);
    rt.schedules().await.unwrap();
    let hourly = rows_of(&rt, "hourly").await;
    assert_eq!(hourly.len(), 1, "one fire at 01:00: {hourly:?}");
    assert_eq!(
        finished(&rt, &hourly[0].instance).await.status,
        InstanceStatus::Completed
    );
    rt.shutdown().await.unwrap();
}

/// Every churn instance that exists completes, with exactly one start, one
/// correlated message and one completion in its history; publishing its
/// message again (same message id) never delivers it twice.
async fn churned_instances_complete_once(rt: &RuntimeHandle<SqliteStore>) {
    let churned = rows_of(rt, "churn").await;
    assert!(!churned.is_empty(), "the child started churn instances");
    let mut ids = std::collections::BTreeSet::new();
    for row in &churned {
        assert!(ids.insert(row.instance.id.0.clone()), "one run per id");
        let n: u64 = row.instance.id.0["churn-".len()..].parse().unwrap();
        // Consumed before the crash: a duplicate. Published but not yet
        // consumed, or never published: delivered now (or buffered until
        // the recovered instance subscribes).
        let again = rt.publish(tick(n)).await.unwrap();
        assert!(
            matches!(
                again,
                PublishOutcome::Duplicate
                    | PublishOutcome::Correlated { .. }
                    | PublishOutcome::Buffered
            ),
            "{}: {again:?}",
            row.instance
        );
    }
    for row in &churned {
        let out = finished(rt, &row.instance).await;
        assert_eq!(out.status, InstanceStatus::Completed, "{}", row.instance);
        let history = events(rt, &row.instance).await;
        let count = |f: fn(&Event) -> bool| history.iter().filter(|e| f(e)).count();
        assert_eq!(count(|e| matches!(e, Event::InstanceStarted { .. })), 1);
        assert_eq!(count(|e| matches!(e, Event::MessageCorrelated { .. })), 1);
        assert_eq!(count(|e| matches!(e, Event::InstanceCompleted)), 1);
    }
    println!("{} churn instances checked", churned.len());
}

/// The instance rows of `process`.
async fn rows_of<S: Store>(rt: &RuntimeHandle<S>, process: &str) -> Vec<InstanceRow> {
    let all = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await
        .unwrap();
    let prefix = format!("{process}:");
    all.into_iter()
        .filter(|r| r.definition_key.starts_with(&prefix))
        .collect()
}

/// The next job handed out, failing after 20 s instead of hanging.
async fn next_job(jobs: &mut Jobs) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(20), jobs.recv())
        .await
        .expect("a job is handed out")
        .unwrap()
}

/// Waits until the dedup table is empty (the owner commits the last
/// release after the instance's own commit).
async fn dedup_table_empties<S: Store>(rt: &RuntimeHandle<S>) {
    for _ in 0..2_000 {
        if rt.store().dedup_entries().await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "the dedup table still holds {:?}",
        rt.store().dedup_entries().await
    );
}
