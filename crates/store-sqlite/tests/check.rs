//! `check` at the store level, with a toy event encoding: `start`, `end`
//! and anything else; `bad` does not decode.

#![allow(clippy::unwrap_used)]

use windlass_store_api::conformance::{iref, row, update};
use windlass_store_api::{Batch, InstanceStatus, StoreWrite};
use windlass_store_sqlite::SqliteStore;
use windlass_store_sqlite::check::{EventClass, check};

fn classify(b: &[u8]) -> Result<EventClass, String> {
    match b {
        b"start" => Ok(EventClass::Started),
        b"end" => Ok(EventClass::Finished),
        b"bad" => Err("not an event".into()),
        _ => Ok(EventClass::Other),
    }
}

fn ev(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| n.as_bytes().to_vec()).collect()
}

async fn make(path: &std::path::Path) {
    let store = SqliteStore::open(path).unwrap();
    let mut b = Batch::new();
    b.create(row("done", "d:1", 1), ev(&["start", "x"]));
    b.append(
        iref("done"),
        2,
        ev(&["y", "end"]),
        update(InstanceStatus::Completed, 2),
    );
    b.create(row("open", "d:1", 1), ev(&["start", "x", "y"]));
    b.create(row("weird", "d:1", 1), ev(&["start", "bad"]));
    store.commit(b).await.unwrap();
}

fn rules(path: &std::path::Path) -> Vec<&'static str> {
    let r = check(path, &classify).unwrap();
    assert_eq!(r.problem_count as usize, r.problems.len());
    r.problems.iter().map(|p| p.rule).collect()
}

#[tokio::test]
async fn a_consistent_file_is_clean_and_each_edit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    make(&path).await;
    let r = check(&path, &classify).unwrap();
    assert_eq!((r.instances, r.history_rows, r.events), (3, 4, 9));
    assert_eq!(rules(&path), ["undecodable-event"], "{r:?}");

    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("DELETE FROM instances WHERE instance_id = 'weird'", [])
        .unwrap();
    assert_eq!(rules(&path), ["orphan-history"]);
    // The completed instance loses its first commit: a gap, no start.
    c.execute(
        "DELETE FROM history WHERE first_seq = 1 AND instance_pk =
           (SELECT pk FROM instances WHERE instance_id = 'done')",
        [],
    )
    .unwrap();
    let mut found = rules(&path);
    found.sort_unstable();
    assert_eq!(found, ["history-gap", "orphan-history", "started"]);
    // An unfinished instance marked completed, with an unknown-status twin.
    c.execute(
        "UPDATE instances SET status = 2 WHERE instance_id = 'open'",
        [],
    )
    .unwrap();
    assert!(rules(&path).contains(&"final"));
    c.execute(
        "UPDATE instances SET status = 77 WHERE instance_id = 'open'",
        [],
    )
    .unwrap();
    assert!(rules(&path).contains(&"status"));
}
