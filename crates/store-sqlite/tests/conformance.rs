//! The shared store conformance suite against SQLite files on disk.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;
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
    type Store = SqliteStore;

    async fn fresh(&self) -> SqliteStore {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        SqliteStore::open(self.dir.path().join(format!("store-{n}.db"))).unwrap()
    }

    async fn reopen(&self, store: SqliteStore) -> Option<SqliteStore> {
        let path = store.path().to_string();
        drop(store);
        Some(SqliteStore::open(path).unwrap())
    }
}

windlass_store_api::store_conformance_tests!(factory());
