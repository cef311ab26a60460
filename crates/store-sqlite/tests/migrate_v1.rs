//! A database written at schema version 1 is migrated to the current schema
//! on open and keeps everything; history rows written before the migration
//! read back with `recorded_at` 0, rows written after it with their commit
//! time.
//!
//! `tests/fixtures/schema-v1.db` was written by the store at schema version
//! 1 (commit e5faae3) with these two batches, then vacuumed to 512-byte
//! pages to keep it small (same content):
//!
//! 1. definition `d:1`; create `open` at 1000 with events `open#0`,
//!    `open#1`; create `done` at 2000 with `done#0`;
//! 2. append `open-b#0` to `open` (running, 3000); append `done-b#0`,
//!    `done-b#1` to `done` (completed, 4000).

#![allow(clippy::unwrap_used)]

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use windlass_store_api::conformance::{events, iref, update};
use windlass_store_api::{
    Batch, DefinitionRead, HistoryEvent, HistoryRead, InstanceIndex, InstanceStatus, MessageChange,
    MessageRead, MessageRow, Recovery, ScheduleChange, ScheduleRead, ScheduleRow, StoreError,
    StoreWrite, Timestamp,
};
use windlass_store_sqlite::{SqliteOptions, SqliteStore, schema};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v1.db");

/// A copy of the fixture in a fresh directory (tests never touch the
/// committed file).
fn v1_copy(dir: &Path) -> PathBuf {
    let path = dir.join("v1.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    path
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

fn summary(h: &[HistoryEvent]) -> Vec<(u64, i64, String)> {
    h.iter()
        .map(|e| {
            (
                e.seq,
                e.recorded_at.millis(),
                String::from_utf8(e.payload.clone()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn fixture_is_at_schema_version_1() {
    assert_eq!(user_version(Path::new(FIXTURE)), 1);
    assert_eq!(schema::SCHEMA_VERSION, 5);
}

#[tokio::test]
async fn v1_database_is_migrated_and_keeps_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = v1_copy(dir.path());
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), schema::SCHEMA_VERSION);
    assert!(s.definition("d:1").await.unwrap().is_some());
    let done = s.instance(&iref("done")).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.last_seq, done.updated_at.millis()),
        (InstanceStatus::Completed, 3, 4000)
    );
    // Version 5: rows from before it have an empty tally.
    assert!(done.tally.is_empty());
    assert_eq!(
        summary(&s.history(&iref("done")).await.unwrap()),
        [
            (1, 0, "done#0".to_string()),
            (2, 0, "done-b#0".to_string()),
            (3, 0, "done-b#1".to_string()),
        ]
    );

    // A commit after the migration records its time next to the old rows.
    let mut b = Batch::new();
    b.append(
        iref("open"),
        3,
        events("open-c", 2),
        update(InstanceStatus::Running, 5000),
    );
    s.commit(b).await.unwrap();
    let want = [
        (1, 0, "open#0".to_string()),
        (2, 0, "open#1".to_string()),
        (3, 0, "open-b#0".to_string()),
        (4, 5000, "open-c#0".to_string()),
        (5, 5000, "open-c#1".to_string()),
    ];
    assert_eq!(summary(&s.history(&iref("open")).await.unwrap()), want);

    // Version 3: messages record their consumption.
    let mut b = Batch::new();
    b.message(MessageChange::Insert(MessageRow {
        id: "m".into(),
        name: "n".into(),
        correlation_key: "k".into(),
        payload: vec![],
        published_at: Timestamp(1),
        expires_at: None,
        consumed_at: None,
    }));
    b.message(MessageChange::Consume {
        id: "m".into(),
        at: Timestamp(2),
        keep_until: Timestamp(9),
    });
    s.commit(b).await.unwrap();
    let live = s.live_messages(Timestamp(3)).await.unwrap();
    assert_eq!(live[0].consumed_at, Some(Timestamp(2)));

    // Version 4 (migrated from 3): the schedules table.
    let sched = ScheduleRow {
        id: "p/timer".into(),
        process_id: "p".into(),
        spec: b"spec".to_vec(),
        paused: false,
        next_fire_at: Some(Timestamp(60_000)),
        next_occurrence: 0,
        last_fire_at: None,
        buffered: vec![Timestamp(1)],
        updated_at: Timestamp(2),
    };
    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(sched.clone()));
    s.commit(b).await.unwrap();
    assert_eq!(s.schedules().await.unwrap(), std::slice::from_ref(&sched));
    drop(s);

    // Reopening runs no migration again and reads the same.
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), schema::SCHEMA_VERSION);
    assert_eq!(s.schedules().await.unwrap(), [sched]);
    let rec = s.load_unfinished().await.unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!(summary(&rec[0].events), want);
    assert_eq!(
        summary(&s.history_after(&iref("open"), 3).await.unwrap()),
        want[3..]
    );

    // Version 5: an append after the migration stores its tally.
    let mut b = Batch::new();
    let mut up = update(InstanceStatus::Running, 5001);
    up.tally = b"[[0,1,0,0]]".to_vec();
    b.append(iref("open"), 5, events("open-d", 1), up);
    s.commit(b).await.unwrap();
    assert_eq!(
        s.instance(&iref("open")).await.unwrap().unwrap().tally,
        b"[[0,1,0,0]]"
    );
}

#[test]
fn v1_database_opened_read_only_says_how_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = v1_copy(dir.path());
    let mut opts = SqliteOptions::new(&path);
    opts.read_only = true;
    let err = SqliteStore::open_with(opts).unwrap_err();
    assert!(matches!(err, StoreError::NeedsMigration { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("needs migrating to"), "{text}");
    assert!(text.contains("windlass db migrate --db"), "{text}");
    assert!(
        !text.contains("batch"),
        "a read says nothing of batches: {text}"
    );
    assert_eq!(user_version(&path), 1, "a read-only open must not migrate");
}
