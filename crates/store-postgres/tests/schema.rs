//! Connecting checks the database: an empty one is migrated, someone
//! else's tables or a newer schema are refused by name, and without
//! migrating an old schema is refused as needing it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use windlass_pg_testing as common;

use windlass_store_api::{InstanceIndex, StoreError};
use windlass_store_postgres::{PgStore, SCHEMA_VERSION};

#[tokio::test]
async fn an_empty_schema_is_migrated_once() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    let first = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    assert_eq!(first.schema_state().found, 0);
    assert_eq!(first.schema_state().now, SCHEMA_VERSION);
    let again = PgStore::connect_with(common::options(&schema).migrate(false))
        .await
        .unwrap();
    assert_eq!(again.schema_state().found, SCHEMA_VERSION);
    assert!(
        again
            .query_instances(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn several_nodes_connecting_at_once_migrate_once() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let opts = common::options(&schema);
            tokio::spawn(async move { PgStore::connect_with(opts).await })
        })
        .collect();
    let mut migrated = 0;
    for t in tasks {
        let store = t.await.unwrap().unwrap();
        if store.schema_state().found == 0 {
            migrated += 1;
        }
    }
    assert_eq!(migrated, 1, "exactly one connect ran the migrations");
}

#[tokio::test]
async fn someone_elses_tables_are_refused() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    common::admin(&format!("CREATE TABLE {schema}.instances (id int)")).await;
    let err = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotWindlassDatabase { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("'instances'") && text.contains(&schema),
        "{text}"
    );
}

/// The error of connecting to a migrated schema after `windlass_meta`'s
/// `key` was set to `value` by hand.
async fn connect_after_meta_edit(key: &str, value: &str) -> StoreError {
    let schema = common::fresh_schema("s").await;
    PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    common::admin(&format!(
        "UPDATE {schema}.windlass_meta SET value = '{value}' WHERE key = '{key}'"
    ))
    .await;
    PgStore::connect_with(common::options(&schema))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn another_application_in_windlass_meta_is_refused() {
    let Some(_) = common::server_url() else {
        return;
    };
    let err = connect_after_meta_edit("application", "other").await;
    assert!(err.to_string().contains("\"other\""), "{err}");
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(_) = common::server_url() else {
        return;
    };
    let newer = (SCHEMA_VERSION + 1).to_string();
    let err = connect_after_meta_edit("schema_version", &newer).await;
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1),
        "{err:?}"
    );
}

#[tokio::test]
async fn without_migrating_an_empty_schema_needs_migration() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    let err = PgStore::connect_with(common::options(&schema).migrate(false))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NeedsMigration { found: 0, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_error_naming_it() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut opts = windlass_store_postgres::PgOptions::new(format!(
        "postgres://nobody:secret@127.0.0.1:{port}/db"
    ));
    opts.connect_timeout = std::time::Duration::from_secs(2);
    let err = PgStore::connect_with(opts).await.unwrap_err();
    assert_eq!(
        err.class(),
        windlass_store_api::ErrorClass::Transient,
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}/db")), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

#[tokio::test]
async fn a_value_postgres_cannot_store_is_invalid_and_writes_nothing() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut row = windlass_store_api::conformance::row("nul", "d:1", 1);
    // PostgreSQL text cannot hold a NUL character (SQLite can).
    row.business_key = Some("a\0b".into());
    let mut b = windlass_store_api::Batch::new();
    b.create(row, windlass_store_api::conformance::events("e", 1));
    let err = windlass_store_api::StoreWrite::commit(&store, b)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains(&schema), "{err}");
    assert!(
        store
            .query_instances(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A schema at version 2 (made here by dropping what version 3 added) is
/// migrated on connect: its instance rows read back with an empty tally,
/// and an append stores one.
#[tokio::test]
async fn a_version_2_schema_gets_the_tally_column() {
    use windlass_store_api::conformance::{events, iref, row, update};
    use windlass_store_api::{Batch, InstanceStatus, StoreWrite};
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut b = Batch::new();
    b.create(row("old", "d", 1), events("old", 1));
    store.commit(b).await.unwrap();
    drop(store);
    common::admin(&format!(
        "ALTER TABLE {schema}.instances DROP COLUMN tally;
         UPDATE {schema}.windlass_meta SET value = '2' WHERE key = 'schema_version'"
    ))
    .await;

    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    assert_eq!(store.schema_state().found, 2);
    assert_eq!(store.schema_state().now, SCHEMA_VERSION);
    let old = store.instance(&iref("old")).await.unwrap().unwrap();
    assert!(old.tally.is_empty());
    let mut b = Batch::new();
    let mut up = update(InstanceStatus::Running, 2);
    up.tally = b"[[0,0,0,1]]".to_vec();
    b.append(iref("old"), 1, events("old-b", 1), up);
    store.commit(b).await.unwrap();
    let old = store.instance(&iref("old")).await.unwrap().unwrap();
    assert_eq!(old.tally, b"[[0,0,0,1]]");
}
