//! Foreign, damaged and too-new database files are refused with clear
//! errors, never panics, and are not modified.

#![allow(clippy::unwrap_used)]

mod common;

use rusqlite::Connection;
use windlass_store_api::{Recovery, StoreError, StoreWrite};
use windlass_store_sqlite::{SqliteOptions, SqliteStore, schema};

#[test]
fn foreign_sqlite_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        .unwrap();
    drop(c);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NotWindlassDatabase { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("is not a Windlass database"), "{msg}");
    assert!(msg.contains("other.db"), "{msg}");
    let c = Connection::open(&path).unwrap();
    let tables: i64 = c
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "the foreign file must not be changed");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "delete",
        "the foreign file's journal mode must not be changed"
    );
}

#[test]
fn file_with_another_application_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA application_id = 1234;").unwrap();
    drop(c);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NotWindlassDatabase { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("0x000004d2"), "{err}");
}

#[test]
fn non_sqlite_file_is_reported_as_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("not a database"), "{err}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("these are my notes")
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(SqliteStore::open(&path).unwrap());
    let c = Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA user_version = 99;").unwrap();
    drop(c);
    let err = SqliteStore::open(&path).unwrap_err();
    assert_eq!(
        err,
        StoreError::SchemaTooNew {
            path: path.display().to_string(),
            found: 99,
            supported: schema::SCHEMA_VERSION
        }
    );
}

#[test]
fn new_file_gets_application_id_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    drop(SqliteStore::open(&path).unwrap());
    let c = Connection::open(&path).unwrap();
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (app, v, mode.as_str()),
        (schema::APPLICATION_ID, schema::SCHEMA_VERSION, "wal")
    );
}

#[tokio::test]
async fn damaged_pages_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    let store = SqliteStore::open(&path).unwrap();
    for i in 0..300 {
        let mut b = common::instance_batch(i, 200);
        b.appends.clear(); // leave them unfinished so recovery reads them all
        store.commit(b).await.unwrap();
    }
    drop(store); // closes and checkpoints the WAL into the main file
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page, "file too small: {}", bytes.len());
    // Scribble over the middle of every page but the first (the header).
    for p in 1..bytes.len() / page {
        for b in &mut bytes[p * page + 100..p * page + 400] {
            *b = 0xA5;
        }
    }
    std::fs::write(&path, &bytes).unwrap();

    let mut opts = SqliteOptions::new(&path);
    opts.verify_on_open = true;
    let err = SqliteStore::open_with(opts).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupted"), "{err}");

    // Without the check on open, the damage is reported when read.
    match SqliteStore::open(&path) {
        Err(e) => assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}"),
        Ok(store) => {
            let err = store.load_unfinished().await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        }
    }
}
