//! The shared conformance suite through [`AnyStore`] on PostgreSQL: the
//! delegation loses or swaps nothing. Every method delegates through one
//! macro that expands the same call for both backends, so one backend
//! checks it; PostgreSQL's test factory is the shared one in pg-testing.

#![allow(clippy::unwrap_used)]

use windlass_pg_testing::{Postgres, server_ready};
use windlass_store_any::AnyStore;
use windlass_store_api::conformance::StoreFactory;

struct AnyPostgres;

impl StoreFactory for AnyPostgres {
    type Store = AnyStore;

    async fn fresh(&self) -> AnyStore {
        Postgres.fresh().await.into()
    }

    async fn reopen(&self, store: AnyStore) -> Option<AnyStore> {
        let AnyStore::Postgres(pg) = store else {
            panic!("a PostgreSQL store")
        };
        Postgres.reopen(pg).await.map(AnyStore::from)
    }
}

windlass_store_api::store_conformance_tests!(AnyPostgres, if server_ready());
