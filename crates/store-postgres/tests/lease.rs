//! The database lease: one writing process per database schema, named to a
//! second one; taken over at once when its holder's session ends, when it
//! expires by the database's clock, or when released (with a NOTIFY that
//! wakes a standby); and fencing: a holder whose lease moved on writes
//! nothing, and learns who took it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use windlass_pg_testing as common;
use windlass_store_api::conformance::{events, iref, row};
use windlass_store_api::{Batch, InstanceIndex, StoreError, StoreWrite};
use windlass_store_postgres::{LeaseOptions, LeaseState, PgStore};

fn lease(owner: &str) -> LeaseOptions {
    LeaseOptions::new(owner).address(format!("http://{owner}.test:8080"))
}

async fn writer(schema: &str, options: LeaseOptions) -> Result<PgStore, StoreError> {
    PgStore::connect_with(common::options(schema).with_lease(options)).await
}

fn create(id: &str) -> Batch {
    let mut b = Batch::new();
    b.create(row(id, "d:1", 1), events("e", 1));
    b
}

/// Takes the lease, trying for a few seconds while it is in use (a
/// terminated session leaves `pg_stat_activity` a moment after
/// `pg_terminate_backend` returns).
async fn take(schema: &str, options: LeaseOptions) -> PgStore {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match writer(schema, options.clone()).await {
            Ok(store) => return store,
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Ends the session the holder of `schema`'s lease renews on.
async fn kill_lease_session(schema: &str) {
    common::admin(&format!(
        "SELECT pg_terminate_backend(backend_pid) FROM {schema}.windlass_leases"
    ))
    .await;
}

#[tokio::test]
async fn a_second_writer_is_refused_naming_the_holder() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("lease").await;
    let first = writer(&schema, lease("node-a")).await.unwrap();
    let err = writer(&schema, lease("node-b")).await.unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("'node-a'") && text.contains("http://node-a.test:8080"),
        "{text}"
    );
    // Readers and other schemas are not affected.
    let reader = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    reader.query_instances(&Default::default()).await.unwrap();
    let holder = reader.lease_holder().await.unwrap().unwrap();
    assert_eq!((holder.owner.as_str(), holder.epoch), ("node-a", 1));
    assert!(holder.live && holder.expires_in_ms > 0, "{holder:?}");
    let other = common::fresh_schema("lease").await;
    writer(&other, lease("node-b")).await.unwrap();
    first.commit(create("a")).await.unwrap();
}

#[tokio::test]
async fn a_dead_holder_is_taken_over_at_once_and_its_writes_are_fenced() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("fence").await;
    let first = writer(&schema, lease("node-a")).await.unwrap();
    let mut state = first.lease_state().unwrap();
    first.commit(create("a")).await.unwrap();
    // Its lease session ends (as when the process dies): no waiting for
    // the expiry.
    kill_lease_session(&schema).await;
    let second = take(&schema, lease("node-b")).await;
    assert_eq!(second.lease_epoch(), Some(2));
    // The first one still runs (its pool lives) but may not write.
    let err = first.commit(create("b")).await.unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert!(err.to_string().contains("'node-b'"), "{err}");
    assert!(second.instance(&iref("b")).await.unwrap().is_none());
    // It knows, and refuses later batches without asking the database.
    state.changed().await.unwrap();
    assert!(
        matches!(&*state.borrow(), LeaseState::Lost { holder } if holder.contains("node-b")),
        "{:?}",
        *state.borrow()
    );
    let again = first.commit(create("c")).await.unwrap_err();
    assert!(matches!(again, StoreError::Fenced { .. }), "{again:?}");
    second.commit(create("b")).await.unwrap();
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_by_the_database_clock() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("expiry").await;
    // A long lease whose holder lives but (as if stalled) did not renew.
    let first = writer(&schema, lease("node-a").duration(Duration::from_secs(60)))
        .await
        .unwrap();
    let err = writer(&schema, lease("node-b")).await.unwrap_err();
    assert!(err.to_string().contains("expires in"), "{err}");
    common::admin(&format!(
        "UPDATE {schema}.windlass_leases SET expires_at = now() - interval '1 second'"
    ))
    .await;
    let second = writer(&schema, lease("node-b")).await.unwrap();
    let err = first.commit(create("a")).await.unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    second.commit(create("a")).await.unwrap();
}

#[tokio::test]
async fn the_holder_renews_and_keeps_an_expired_lease_nobody_took() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("renew").await;
    let store = writer(
        &schema,
        lease("node-a").duration(Duration::from_millis(900)),
    )
    .await
    .unwrap();
    common::admin(&format!(
        "UPDATE {schema}.windlass_leases SET expires_at = now() - interval '1 second'"
    ))
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let holder = store.lease_holder().await.unwrap().unwrap();
        if holder.live {
            assert_eq!(holder.epoch, 1, "renewed, not taken again");
            break;
        }
        assert!(Instant::now() < deadline, "never renewed: {holder:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.commit(create("a")).await.unwrap();
}

#[tokio::test]
async fn a_release_wakes_a_standby_which_takes_over_at_once() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("release").await;
    let first = writer(&schema, lease("node-a").duration(Duration::from_secs(60)))
        .await
        .unwrap();
    let reader = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut listener = reader.release_listener().await.unwrap();
    first.commit(create("a")).await.unwrap();
    first.release_lease().await.unwrap();
    let started = Instant::now();
    assert!(listener.wait(Duration::from_secs(20)).await);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken by the NOTIFY, not by the timeout"
    );
    let second = writer(&schema, lease("node-b")).await.unwrap();
    assert_eq!(second.lease_epoch(), Some(2));
    let err = first.commit(create("b")).await.unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert!(second.instance(&iref("a")).await.unwrap().is_some());
}
