//! Test support for PostgreSQL (a dev-dependency only). The server the
//! tests use: `WINDLASS_TEST_PG` names it
//! (`scripts/test` starts one with `scripts/pg-test-env`). Without it the
//! tests are skipped, unless `WINDLASS_REQUIRE_PG=1` (as in `scripts/test`),
//! where they fail. Each store gets a schema (namespace) of its own in that
//! database, so tests never see each other's rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod proxy;

use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_store_api::conformance::StoreFactory;
use windlass_store_postgres::{PgOptions, PgStore};

/// The test server's URL, or `None` (after saying so) when the tests are
/// to be skipped. Panics when the server is required but not named.
pub fn server_url() -> Option<String> {
    match std::env::var("WINDLASS_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("WINDLASS_REQUIRE_PG").as_deref() == Ok("1") => {
            panic!("WINDLASS_REQUIRE_PG=1 but WINDLASS_TEST_PG names no PostgreSQL server")
        }
        _ => {
            eprintln!(
                "skipped: WINDLASS_TEST_PG names no PostgreSQL server (see scripts/pg-test-env)"
            );
            None
        }
    }
}

/// True when the tests can run (see [`server_url`]).
pub fn server_ready() -> bool {
    server_url().is_some()
}

/// Runs `sql` on the test server, outside any store.
pub async fn admin(sql: &str) {
    let url = server_url().expect("a test server");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test server");
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.expect(sql);
    drop(client);
    let _ = task.await;
}

/// Runs the query `sql` on the test server, outside any store: every
/// row's columns as text (NULL as the empty string).
pub async fn admin_query(sql: &str) -> Vec<Vec<String>> {
    let url = server_url().expect("a test server");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test server");
    let task = tokio::spawn(conn);
    let messages = client.simple_query(sql).await.expect(sql);
    drop(client);
    let _ = task.await;
    messages
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or_default().to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// A new, empty schema with a name unique to this test run.
pub async fn fresh_schema(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("wlt_{tag}_{}_{n}_{nanos}", std::process::id());
    admin(&format!("CREATE SCHEMA {name}")).await;
    name
}

/// Options for a store in `schema` on the test server.
pub fn options(schema: &str) -> PgOptions {
    PgOptions::new(server_url().expect("a test server")).schema(schema)
}

/// Makes stores, each in a new schema, for the conformance suite.
pub struct Postgres;

impl StoreFactory for Postgres {
    type Store = PgStore;

    async fn fresh(&self) -> PgStore {
        let schema = fresh_schema("c").await;
        PgStore::connect_with(options(&schema)).await.unwrap()
    }

    async fn reopen(&self, store: PgStore) -> Option<PgStore> {
        let target = store.target().to_string();
        store.close();
        drop(store);
        let schema = target
            .rsplit_once("(schema ")
            .map(|(_, s)| s.trim_end_matches(')').to_string())
            .expect("a schema in the target");
        Some(PgStore::connect_with(options(&schema)).await.unwrap())
    }
}

/// The test server's URL with its connections placed in a fresh schema
/// (`options=-c search_path=…`, as a user would write it), or `None` when
/// the tests are skipped. Blocking: call it outside an async runtime (or
/// in `spawn_blocking`).
pub fn schema_url_blocking(tag: &str) -> Option<String> {
    let url = server_url()?;
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let schema = rt.block_on(fresh_schema(tag));
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}
