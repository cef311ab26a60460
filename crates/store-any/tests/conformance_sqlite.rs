//! The shared conformance suite through [`AnyStore`] on SQLite files: the
//! delegation loses or swaps nothing.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;
use windlass_store_any::AnyStore;
use windlass_store_api::conformance::StoreFactory;
use windlass_store_sqlite::SqliteStore;

struct Sqlite {
    dir: TempDir,
    n: AtomicUsize,
}

fn factory() -> Sqlite {
    Sqlite {
        dir: tempfile::tempdir().unwrap(),
        n: AtomicUsize::new(0),
    }
}

impl StoreFactory for Sqlite {
    type Store = AnyStore;

    async fn fresh(&self) -> AnyStore {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        SqliteStore::open(self.dir.path().join(format!("store-{n}.db")))
            .unwrap()
            .into()
    }

    async fn reopen(&self, store: AnyStore) -> Option<AnyStore> {
        let path = store.describe();
        drop(store);
        Some(SqliteStore::open(path).unwrap().into())
    }
}

windlass_store_api::store_conformance_tests!(factory());
