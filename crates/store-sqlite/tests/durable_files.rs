//! The database file on its own: one writer at a time (the writer lock),
//! the WAL folded into the file on close, read-only opens where `-shm` and
//! `-wal` cannot be created, and writers refusing a damaged file.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;
use windlass_store_api::{InstanceIndex, InstanceQuery, StoreError, StoreWrite};
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

async fn make_db(path: &Path, n: usize, payload: usize) {
    let store = SqliteStore::open(path).unwrap();
    for i in 0..n {
        store
            .commit(common::instance_batch(i, payload))
            .await
            .unwrap();
    }
}

async fn count(path: &Path, opts: impl FnOnce(&mut SqliteOptions)) -> usize {
    let mut o = SqliteOptions::new(path);
    o.read_only = true;
    opts(&mut o);
    let store = SqliteStore::open_with(o).unwrap();
    store
        .query_instances(&InstanceQuery::default())
        .await
        .unwrap()
        .len()
}

fn sidecar(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

#[tokio::test]
async fn a_second_writer_is_refused_naming_the_first_and_readers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.db");
    let first = SqliteStore::open(&path).unwrap();
    first.commit(common::instance_batch(1, 10)).await.unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("one.db is in use by pid "), "{text}");
    assert!(text.contains(&std::process::id().to_string()), "{text}");
    // A reader needs no lock.
    assert_eq!(count(&path, |_| {}).await, 1);
    // A waiting writer gets in once the first closes.
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(first);
    });
    let mut opts = SqliteOptions::new(&path);
    opts.lock_wait = Duration::from_secs(20);
    let second = SqliteStore::open_with(opts).unwrap();
    closer.join().unwrap();
    second.commit(common::instance_batch(2, 10)).await.unwrap();
}

#[tokio::test]
async fn closing_a_writer_leaves_a_complete_db_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    make_db(&path, 20, 100).await;
    let wal = sidecar(&path, "-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "the WAL was folded into the file on close");
    // Copy only the .db file: it holds everything.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    assert_eq!(count(&copy, |_| {}).await, 20);
}

#[tokio::test]
async fn a_read_only_open_as_immutable_reads_everything() {
    // Root ignores folder permissions, so the fallback (taken when -shm/-wal
    // cannot be created) is forced here; the real read-only mount is below.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    make_db(&path, 7, 10).await;
    assert_eq!(count(&path, |o| o.immutable = true).await, 7);
    assert!(
        !sidecar(&path, "-shm").exists(),
        "immutable creates no -shm"
    );
}

#[tokio::test]
async fn a_read_only_mount_is_read_and_a_wal_with_commits_is_named() {
    if !common::is_root() {
        eprintln!("skipped: a read-only bind mount needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data");
    std::fs::create_dir_all(&src).unwrap();
    let clean = src.join("clean.db");
    make_db(&clean, 5, 10).await;
    // A leftover empty WAL and no -shm: SQLite cannot create the -shm on a
    // read-only mount, so only the immutable fallback can read it.
    std::fs::write(sidecar(&clean, "-wal"), b"").unwrap();
    // A WAL that still holds commits (the writer was killed): copied
    // while a writer has it open, without the -shm.
    {
        let live = dir.path().join("live.db");
        let store = SqliteStore::open(&live).unwrap();
        store.commit(common::instance_batch(1, 10)).await.unwrap();
        std::fs::copy(&live, src.join("dirty.db")).unwrap();
        let wal = std::fs::read(sidecar(&live, "-wal")).unwrap();
        assert!(!wal.is_empty());
        std::fs::write(sidecar(&src.join("dirty.db"), "-wal"), wal).unwrap();
    }
    let target = dir.path().join("ro");
    let Some(mount) = common::Mount::new(&["--bind", "-o", "ro", src.to_str().unwrap()], &target)
    else {
        eprintln!("skipped: cannot bind-mount here");
        return;
    };
    assert_eq!(count(&mount.path.join("clean.db"), |_| {}).await, 5);
    let mut opts = SqliteOptions::new(mount.path.join("dirty.db"));
    opts.read_only = true;
    // The normal open fails here exactly as it fails for clean.db above
    // (no -shm can be created); immutable would miss the WAL's commits.
    let err = SqliteStore::open_with(opts).unwrap_err().to_string();
    assert!(err.contains("holds commits not yet copied"), "{err}");
    drop(mount);
}

/// Overwrites pages `first..first + n` (4 KiB each) with zeros.
fn zero_pages(path: &Path, first: u64, n: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(first * 4096)).unwrap();
    f.write_all(&vec![0u8; n * 4096]).unwrap();
}

#[tokio::test]
async fn a_writer_refuses_a_damaged_file_and_points_to_db_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    make_db(&path, 300, 2_000).await;
    let pages = std::fs::metadata(&path).unwrap().len() / 4096;
    assert!(pages > 100, "{pages} pages");
    zero_pages(&path, pages / 2, 5);
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("windlass db check"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was written");
    // Beyond the size limit the open check is skipped (and `verify_on_open`
    // forces it).
    let mut opts = SqliteOptions::new(&path);
    opts.writer_check_limit = Some(4096);
    opts.verify_on_open = true;
    assert!(SqliteStore::open_with(opts).is_err());
}

#[tokio::test]
async fn after_one_commit_meets_damage_no_later_commit_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.db");
    make_db(&path, 50, 100).await;
    let pages = std::fs::metadata(&path).unwrap().len() / 4096;
    // Every page but the first (the schema) is zeroed: the open check is
    // turned off, so the damage is met by the first commit.
    zero_pages(&path, 1, usize::try_from(pages - 1).unwrap());
    let mut opts = SqliteOptions::new(&path);
    opts.writer_check_limit = None;
    let store = SqliteStore::open_with(opts).unwrap();
    let err = store
        .commit(common::instance_batch(100, 10))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    // A batch touching nothing damaged (a definition only) is refused too.
    let mut b = windlass_store_api::Batch::new();
    b.put_definition(windlass_store_api::conformance::definition("x:1", "x", 1));
    let err = store.commit(b).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("an earlier write found the file damaged"),
        "{err}"
    );
    assert!(err.to_string().contains("windlass db check"), "{err}");
}
