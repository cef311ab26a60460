//! Schedules end to end through the real binary: `windlass run` deploys a
//! process with a timer start event (its schedule is written, not fired:
//! `run` drives only its own instance); `windlass recover` then fires the
//! fire that fell due meanwhile, once, and a second `recover` fires
//! nothing (a `timeDate` fires once).

mod common;
use common::{s, text, windlass};
use std::path::Path;
use windlass_store_api::{InstanceId, InstanceIndex, ScheduleRead};
use windlass_store_sqlite::SqliteStore;

/// A none start event (what `run` starts) and a timer start event
/// `nightly` due in the past, each leading straight to an end event.
const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t"
             xmlns:windlass="urn:windlass:bpmn:1">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  <endEvent id="e"/>
  <startEvent id="nightly">
    <extensionElements><windlass:schedule overlap="buffer-one"/></extensionElements>
    <timerEventDefinition><timeDate>2020-01-01T00:00:00Z</timeDate></timerEventDefinition>
  </startEvent>
  <sequenceFlow id="f2" sourceRef="nightly" targetRef="e2"/>
  <endEvent id="e2"/>
</process>
</definitions>"#;

fn read<T>(db: &Path, f: impl AsyncFnOnce(SqliteStore) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        let store = SqliteStore::open(db).expect("open");
        f(store).await
    })
}

#[test]
fn recover_fires_a_schedule_that_fell_due_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let model = dir.path().join("p.bpmn");
    std::fs::write(&model, XML).expect("write model");

    let out = windlass(&["run", "--db", s(&db), s(&model)]);
    assert!(out.status.success(), "{}", text(&out));
    let (row, fired) = read(&db, async |store| {
        let row = store.schedule("p/nightly").await.expect("read");
        let fired = store
            .latest_run(&InstanceId::new("p/nightly"))
            .await
            .expect("read");
        (row, fired)
    });
    let row = row.expect("run wrote the schedule");
    assert_eq!(
        row.next_fire_at.map(|t| t.millis()),
        Some(1_577_836_800_000)
    );
    assert!(fired.is_none(), "run does not fire schedules");

    let out = windlass(&["recover", "--db", s(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("fired 1 schedule(s) that fell due meanwhile"),
        "{}",
        text(&out)
    );
    let (row, fired) = read(&db, async |store| {
        let row = store.schedule("p/nightly").await.expect("read");
        let fired = store
            .latest_run(&InstanceId::new("p/nightly"))
            .await
            .expect("read");
        (row, fired)
    });
    let fired = fired.expect("the fire started an instance under the schedule id");
    assert!(fired.status.is_finished(), "{:?}", fired.status);
    let row = row.expect("the schedule stays");
    assert_eq!(row.next_fire_at, None, "a date fires once");
    assert_eq!(
        row.last_fire_at.map(|t| t.millis()),
        Some(1_577_836_800_000)
    );

    let out = windlass(&["recover", "--db", s(&db)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("fired"), "{}", text(&out));
}
