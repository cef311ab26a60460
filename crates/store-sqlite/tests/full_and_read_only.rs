//! A full disk and a read-only database give clear errors; nothing of the
//! failing batch is written and everything committed before stays readable.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use windlass_store_api::conformance::iref;
use windlass_store_api::{HistoryRead, InstanceIndex, InstanceQuery, StoreError, StoreWrite};
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

/// Commits instance batches until one fails; returns how many succeeded and
/// the error.
async fn fill(store: &SqliteStore) -> (usize, StoreError) {
    for i in 0..100_000 {
        if let Err(e) = store.commit(common::instance_batch(i, 2_000)).await {
            return (i, e);
        }
    }
    panic!("the store never filled up");
}

async fn assert_intact(store: &SqliteStore, committed: usize) {
    let all = store
        .query_instances(&InstanceQuery::default())
        .await
        .unwrap();
    assert_eq!(
        all.len(),
        committed,
        "exactly the committed instances exist"
    );
    for i in [0, committed / 2, committed - 1] {
        let h = store.history(&iref(&format!("inst-{i:06}"))).await.unwrap();
        assert_eq!(h.len(), 6);
    }
}

#[tokio::test]
async fn size_limit_gives_full_error_and_keeps_earlier_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.db");
    let mut opts = SqliteOptions::new(&path);
    opts.max_size_bytes = Some(400 * 1024);
    let store = SqliteStore::open_with(opts).unwrap();
    let (committed, err) = fill(&store).await;
    assert!(matches!(err, StoreError::Full(_)), "{err:?}");
    assert!(err.to_string().contains("storage is full"), "{err}");
    assert!(committed > 10, "only {committed} commits fit");
    assert_intact(&store, committed).await;
    // The store keeps working for reads, and a later small commit that
    // fits after nothing was written is still refused cleanly, not panicking.
    let again = store
        .commit(common::instance_batch(committed, 2_000))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Full(_)), "{again:?}");
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_intact(&store, committed).await;
    store
        .commit(common::instance_batch(committed, 2_000))
        .await
        .unwrap();
}

#[tokio::test]
async fn real_full_file_system_gives_full_error() {
    if !common::is_root() {
        eprintln!("skipped: mounting a tiny tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("tiny");
    let Some(mount) = common::Mount::new(&["-t", "tmpfs", "-o", "size=512k", "tmpfs"], &mnt) else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let path = mount.path.join("w.db");
    let store = SqliteStore::open(&path).unwrap();
    let (committed, err) = fill(&store).await;
    assert!(
        matches!(err, StoreError::Full(_)),
        "expected a disk-full error, got {err:?}"
    );
    assert!(committed > 5, "only {committed} commits fit");
    assert_intact(&store, committed).await;
    drop(store);
    // Reopening on the full file system still reads everything committed.
    let mut opts = SqliteOptions::new(&path);
    opts.read_only = true;
    let store = SqliteStore::open_with(opts).unwrap();
    assert_intact(&store, committed).await;
    drop(store);
    drop(mount);
}

async fn make_db(path: &Path, n: usize) {
    let store = SqliteStore::open(path).unwrap();
    for i in 0..n {
        store.commit(common::instance_batch(i, 10)).await.unwrap();
    }
}

#[tokio::test]
async fn read_only_option_reads_and_refuses_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    make_db(&path, 3).await;
    let mut opts = SqliteOptions::new(&path);
    opts.read_only = true;
    let store = SqliteStore::open_with(opts).unwrap();
    assert_intact(&store, 3).await;
    let err = store
        .commit(common::instance_batch(3, 10))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_intact(&store, 3).await;
}

#[test]
fn read_only_open_of_missing_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SqliteOptions::new(dir.path().join("missing.db"));
    opts.read_only = true;
    let err = SqliteStore::open_with(opts).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.db"), "{err}");
}

#[test]
fn missing_directory_is_a_clear_open_error() {
    let err = SqliteStore::open("/nonexistent-dir/windlass/x.db").unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot open database /nonexistent-dir"),
        "{err}"
    );
}

#[tokio::test]
async fn read_only_file_system_gives_read_only_errors() {
    if !common::is_root() {
        eprintln!("skipped: a read-only bind mount needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data");
    std::fs::create_dir_all(&src).unwrap();
    make_db(&src.join("w.db"), 3).await;
    let target = dir.path().join("ro");
    let Some(mount) = common::Mount::new(&["--bind", "-o", "ro", src.to_str().unwrap()], &target)
    else {
        eprintln!("skipped: cannot bind-mount here");
        return;
    };
    let path = mount.path.join("w.db");
    match SqliteStore::open(&path) {
        Err(e) => {
            eprintln!("read-write open on a read-only mount fails with: {e}");
            assert!(matches!(e, StoreError::ReadOnly(_)), "{e:?}");
        }
        Ok(store) => {
            let err = store
                .commit(common::instance_batch(3, 10))
                .await
                .unwrap_err();
            eprintln!("read-write open on a read-only mount: commit fails with {err}");
            assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
        }
    }
    let mut opts = SqliteOptions::new(&path);
    opts.read_only = true;
    let store = SqliteStore::open_with(opts).unwrap();
    assert_intact(&store, 3).await;
    let err = store
        .commit(common::instance_batch(3, 10))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
    drop(store);
    drop(mount);
}
