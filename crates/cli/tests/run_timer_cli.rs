//! End-to-end tests of timers through the real binary and the real clock:
//! `windlass run` of a process waiting for a timer keeps running until the
//! timer fires; a run killed with SIGKILL while its timer is pending is
//! resumed by `windlass recover`, and the timer (due while the process was
//! down) fires exactly once.

mod common;
use common::{json, s, text, windlass};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_store_api::{HistoryRead, InstanceId, InstanceIndex};
use windlass_store_sqlite::SqliteStore;

/// start → wait `duration` (a timer catch event) → "After" → end.
fn model(dir: &Path, duration: &str) -> PathBuf {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="urn:test">
  <process id="wait" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="timer"/>
    <intermediateCatchEvent id="timer" name="Wait">
      <timerEventDefinition><timeDuration>{duration}</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="timer" targetRef="after"/>
    <task id="after" name="After"/>
    <sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#
    );
    let path = dir.join("wait.bpmn");
    std::fs::write(&path, xml).expect("write model");
    path
}

#[test]
fn run_waits_for_a_timer_then_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = model(dir.path(), "PT1S");
    let t0 = Instant::now();
    let out = windlass(&["run", s(&file), "--memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed", "{}", text(&out));
    assert_eq!(v["executed"]["After"], 1);
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "it waited for the timer"
    );
}

/// The events of the latest run of instance `id` in the file at `db`.
fn events(db: &Path, id: &str) -> Vec<Event> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        let store = SqliteStore::open(db).expect("open db");
        let latest = store
            .latest_run(&InstanceId::new(id))
            .await
            .expect("latest run")
            .expect("a run");
        let history = store.history(&latest.instance).await.expect("history");
        history
            .iter()
            .map(|h| decode_event(&h.payload).expect("decode"))
            .collect()
    })
}

#[test]
fn a_timer_pending_at_a_sigkill_fires_once_after_recover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = model(dir.path(), "PT2S");
    let db = dir.path().join("w.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["run", s(&file), "--db", s(&db), "--id", "t1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start windlass");
    // Wait until the instance (and its timer) is committed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let show = windlass(&["instances", "show", "t1", "--db", s(&db)]);
        if show.status.success() && text(&show).contains("running") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never committed: {}",
            text(&show)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert!(!status.success(), "killed while waiting for its timer");
    let before = events(&db, "t1");
    assert!(
        before
            .iter()
            .any(|e| matches!(e, Event::TimerScheduled { .. })),
        "the timer was committed"
    );
    assert!(!before.iter().any(|e| matches!(e, Event::TimerFired { .. })));
    // Down until the timer is due; recover fires it at start.
    std::thread::sleep(Duration::from_millis(2_100));
    let out = windlass(&["recover", "--db", s(&db), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = events(&db, "t1");
    let fired = after
        .iter()
        .filter(|e| matches!(e, Event::TimerFired { .. }))
        .count();
    assert_eq!(fired, 1, "{after:?}");
    assert!(matches!(after.last(), Some(Event::InstanceCompleted)));
}
