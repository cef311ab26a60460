//! One writing process per database schema: a second writer is refused by
//! name; the lock goes with its session; a writer whose lock session was
//! killed takes the lock again before its next write, or is refused when
//! another writer took it meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;
use windlass_pg_testing as common;
use windlass_store_api::conformance::{events, iref, row};
use windlass_store_api::{Batch, InstanceIndex, StoreError, StoreWrite};
use windlass_store_postgres::PgStore;

async fn writer(schema: &str) -> Result<PgStore, StoreError> {
    PgStore::connect_with(common::options(schema).with_writer_lock(true)).await
}

fn create(id: &str) -> Batch {
    let mut b = Batch::new();
    b.create(row(id, "d:1", 1), events("e", 1));
    b
}

/// Terminates every session holding a Windlass writer lock on the test
/// server (the one test of this file runs alone in its process; other test
/// processes do not run at the same time).
async fn kill_lock_sessions() {
    common::admin(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.classid = 1464747084::bigint::oid
           AND l.objsubid = 2 AND l.pid <> pg_backend_pid()",
    )
    .await;
}

/// One test: the lost-lock part kills lock sessions, which a test running
/// beside it would feel.
#[tokio::test]
async fn one_writer_per_schema() {
    let Some(_) = common::server_url() else {
        return;
    };
    a_second_writer_is_refused_naming_the_holder().await;
    a_lost_lock_is_taken_again_before_writing_or_refused().await;
}

async fn a_second_writer_is_refused_naming_the_holder() {
    let schema = common::fresh_schema("lock").await;
    let first = writer(&schema).await.unwrap();
    let err = writer(&schema).await.unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    assert!(err.to_string().contains("'windlass'"), "{err}");
    // Readers and other schemas are not affected.
    let reader = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    reader.query_instances(&Default::default()).await.unwrap();
    let other = common::fresh_schema("lock").await;
    writer(&other).await.unwrap();
    // The lock goes with its store.
    first.close();
    drop(first);
    let mut taken = None;
    for _ in 0..100 {
        match writer(&schema).await {
            Ok(s) => {
                taken = Some(s);
                break;
            }
            Err(StoreError::InUse { .. }) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(taken.is_some(), "the lock was released with its store");
}

async fn a_lost_lock_is_taken_again_before_writing_or_refused() {
    let schema = common::fresh_schema("lost").await;
    let store = writer(&schema).await.unwrap();
    store.commit(create("a")).await.unwrap();
    kill_lock_sessions().await;
    // Nobody else took it: the next commit takes it again and writes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    store.commit(create("b")).await.unwrap();
    kill_lock_sessions().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Another writer takes it meanwhile: the first may not write.
    let second = writer(&schema).await.unwrap();
    let err = store.commit(create("c")).await.unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    assert!(store.instance(&iref("c")).await.unwrap().is_none());
    second.commit(create("c")).await.unwrap();
}
