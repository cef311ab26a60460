//! Connection loss, as the store API's error classes say: a connection
//! lost before COMMIT is transient and nothing of the batch is written; one
//! lost during COMMIT is ambiguous (and here the batch was in fact written,
//! which is why the caller may not assume either way); afterwards the pool
//! replaces the broken connection and the store works on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use windlass_pg_testing as common;

use windlass_pg_testing::proxy::{Cut, Proxy};
use windlass_store_api::conformance::{events, iref, row, update};
use windlass_store_api::{Batch, ErrorClass, HistoryRead, InstanceStatus, StoreWrite};
use windlass_store_postgres::{PgOptions, PgStore};

/// A store in a fresh schema reached through a cutting proxy, and one
/// reaching the same schema directly (to see what was really written).
async fn stores() -> Option<(Proxy, PgStore, PgStore)> {
    let url = common::server_url()?;
    let config: tokio_postgres::Config = url.parse().unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let schema = common::fresh_schema("loss").await;
    let direct = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let proxy = Proxy::start(format!("127.0.0.1:{port}")).await;
    let via = url.replace(&format!(":{port}/"), &format!(":{}/", proxy.port));
    assert_ne!(via, url, "the test server URL names its port");
    let proxied = PgStore::connect_with(PgOptions::new(via).schema(schema))
        .await
        .unwrap();
    Some((proxy, proxied, direct))
}

fn create() -> Batch {
    let mut b = Batch::new();
    b.create(row("i", "d:1", 1), events("e", 1));
    b
}

fn append(expected: u64) -> Batch {
    let mut b = Batch::new();
    b.append(
        iref("i"),
        expected,
        events("more", 1),
        update(InstanceStatus::Running, 2),
    );
    b
}

#[tokio::test]
async fn a_connection_lost_before_commit_is_transient_and_writes_nothing() {
    let Some((proxy, proxied, direct)) = stores().await else {
        return;
    };
    proxied.commit(create()).await.unwrap();
    proxy.arm(Cut::Before("START TRANSACTION"));
    let err = proxied.commit(append(1)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    assert_eq!(direct.history(&iref("i")).await.unwrap().len(), 1);
    // The pool drops the broken connection; the same batch now succeeds.
    proxied.commit(append(1)).await.unwrap();
    assert_eq!(direct.history(&iref("i")).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_connection_lost_during_commit_is_ambiguous() {
    let Some((proxy, proxied, direct)) = stores().await else {
        return;
    };
    proxied.commit(create()).await.unwrap();
    proxy.arm(Cut::After("COMMIT"));
    let err = proxied.commit(append(1)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Ambiguous, "{err:?}");
    assert!(err.to_string().contains("during COMMIT"), "{err}");
    // The server did commit: retrying blindly would be a conflict, which
    // is how a caller resolves the ambiguity (the sequence moved).
    assert_eq!(direct.history(&iref("i")).await.unwrap().len(), 2);
    let again = proxied.commit(append(1)).await.unwrap_err();
    assert_eq!(again.class(), ErrorClass::Conflict, "{again:?}");
    proxied.commit(append(2)).await.unwrap();
    assert_eq!(direct.history(&iref("i")).await.unwrap().len(), 3);
}
