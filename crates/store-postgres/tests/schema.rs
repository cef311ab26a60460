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
        "{}
         ALTER TABLE {schema}.instances DROP COLUMN tally;
         UPDATE {schema}.windlass_meta SET value = '2' WHERE key = 'schema_version'",
        undo_version_4(&schema)
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

/// SQL that takes a schema at version 4 back to version 3: what version 4
/// added, dropped.
fn undo_version_4(schema: &str) -> String {
    format!(
        "ALTER TABLE {schema}.instances DROP COLUMN partition;
         ALTER TABLE {schema}.timers DROP COLUMN partition;
         ALTER TABLE {schema}.outbox DROP COLUMN partition;
         DROP FUNCTION {schema}.windlass_instance_partition(TEXT);
         DROP TABLE {schema}.windlass_nodes;
         DROP TABLE {schema}.windlass_partition_owners;"
    )
}

/// A schema at version 3 (made by dropping what version 4 added) is
/// migrated on connect: the partitions of its existing instances, timers
/// and outbox rows are filled in by SQL, equal to the ones Rust computes,
/// so the partition-scoped reads find rows written before the migration.
#[tokio::test]
async fn a_version_3_schema_gets_partition_columns_filled_as_rust_computes_them() {
    use windlass_store_api::conformance::{events, iref, outbox_row, row};
    use windlass_store_api::{
        Batch, OutboxChange, OutboxRead, PartitionSet, Recovery, StoreWrite, TimerChange,
        TimerRead, TimerRow, Timestamp,
    };
    let Some(_) = common::server_url() else {
        return;
    };
    // Ids of every shape: ASCII, multi-byte UTF-8, empty-ish, long.
    let mut ids: Vec<String> = (0..200).map(|i| format!("order-{i}")).collect();
    ids.extend(["é", "注文-7", "🚀x", "a", &"z".repeat(300)].map(String::from));
    let schema = common::fresh_schema("s").await;
    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut b = Batch::new();
    for id in &ids {
        b.create(row(id, "d", 1), events(id, 1));
        b.timer(TimerChange::Insert(TimerRow {
            id: format!("{id}/t"),
            instance: iref(id),
            due_at: Timestamp(5),
            payload: vec![],
        }));
        b.outbox(OutboxChange::Insert(outbox_row(
            &format!("{id}/job"),
            id,
            5,
        )));
    }
    let mut marker = outbox_row("marker", "x", 5);
    marker.instance = None;
    b.outbox(OutboxChange::Insert(marker));
    store.commit(b).await.unwrap();
    drop(store);
    common::admin(&format!(
        "{}
         UPDATE {schema}.windlass_meta SET value = '3' WHERE key = 'schema_version'",
        undo_version_4(&schema)
    ))
    .await;

    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    assert_eq!(store.schema_state().found, 3);
    assert_eq!(store.schema_state().now, SCHEMA_VERSION);
    let stored = common::admin_query(&format!(
        "SELECT instance_id, partition::int FROM {schema}.instances
         UNION ALL SELECT instance_id, partition::int FROM {schema}.timers
         UNION ALL SELECT instance_id, partition::int FROM {schema}.outbox
             WHERE instance_id IS NOT NULL"
    ))
    .await;
    assert_eq!(stored.len(), 3 * ids.len());
    for row in &stored {
        let rust = windlass_store_api::Partition::of_instance(&row[0]).0;
        assert_eq!(row[1].parse::<u16>().unwrap(), rust, "{}", row[0]);
    }
    // The scoped reads find the migrated rows, each in its own partition.
    for set in [PartitionSet::share(0, 3), PartitionSet::share(2, 3)] {
        let expected = ids.iter().filter(|id| set.has_instance(id)).count();
        assert!(expected > 0);
        assert_eq!(
            store.load_unfinished_in(&set).await.unwrap().len(),
            expected
        );
        let due = store
            .due_timers_in(&set, Timestamp(9), 1_000)
            .await
            .unwrap();
        assert_eq!(due.len(), expected);
        let pending = store.pending_outbox_in(&set).await.unwrap();
        assert_eq!(
            pending.len(),
            expected + 1,
            "the marker belongs to every node"
        );
    }
}

/// `check` reports every row whose stored partition is not the one its
/// instance id maps to (rule `partition`), and none on a sound database.
#[tokio::test]
async fn check_reports_rows_whose_stored_partition_is_wrong() {
    use windlass_store_api::check::EventClass;
    use windlass_store_api::conformance::{events, iref, outbox_row, row};
    use windlass_store_api::{Batch, OutboxChange, StoreWrite, TimerChange, TimerRow, Timestamp};
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("s").await;
    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut b = Batch::new();
    b.create(row("p-1", "d", 1), events("p", 1));
    b.timer(TimerChange::Insert(TimerRow {
        id: "p-1/t".into(),
        instance: iref("p-1"),
        due_at: Timestamp(5),
        payload: vec![],
    }));
    b.outbox(OutboxChange::Insert(outbox_row("p-1/job", "p-1", 5)));
    store.commit(b).await.unwrap();
    let rules = |_: &[u8]| Ok(EventClass::Other);
    let partition_problems = |report: &windlass_store_api::check::CheckReport| {
        report
            .problems
            .iter()
            .filter(|p| p.rule == "partition")
            .map(|p| p.detail.clone())
            .collect::<Vec<_>>()
    };
    assert!(partition_problems(&store.check(&rules).await.unwrap()).is_empty());

    common::admin(&format!(
        "UPDATE {schema}.instances SET partition = (partition + 1) % 256;
         UPDATE {schema}.timers SET partition = (partition + 1) % 256;
         UPDATE {schema}.outbox SET partition = (partition + 1) % 256"
    ))
    .await;
    let found = partition_problems(&store.check(&rules).await.unwrap());
    let p = windlass_store_api::Partition::of_instance("p-1").0;
    let wrong = (p + 1) % 256;
    assert_eq!(
        found,
        [
            format!("instance 'p-1' run 'r1': stored partition {wrong}, its id maps to {p}"),
            format!(
                "outbox row 'p-1/job' of instance 'p-1': stored partition {wrong}, its id maps to {p}"
            ),
            format!(
                "timer 'p-1/t' of instance 'p-1': stored partition {wrong}, its id maps to {p}"
            ),
        ]
    );
}
