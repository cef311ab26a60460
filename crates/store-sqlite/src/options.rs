//! How to open a SQLite store.

use std::path::PathBuf;

/// The `PRAGMA synchronous` level of the write connection (WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Every commit is fsync'd before it returns: survives kill -9, OS crash
    /// and power loss. The default.
    #[default]
    Full,
    /// Commits are fsync'd only at WAL checkpoints: survives kill -9 (the
    /// process), but an OS crash or power loss may lose the last commits
    /// (never corrupts). Opt-in for speed.
    Normal,
}

/// Options for [`SqliteStore::open`](crate::SqliteStore::open).
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file; created (with the schema) if it does not exist,
    /// unless `read_only`.
    pub path: PathBuf,
    /// Durability of commits.
    pub sync: SyncMode,
    /// Open without write access: reads work, every commit fails with
    /// [`StoreError::ReadOnly`](windlass_store_api::StoreError::ReadOnly).
    /// The file must exist and have the current schema.
    pub read_only: bool,
    /// Run `PRAGMA quick_check` on open (reads the whole file; seconds on a
    /// large database). Damage is otherwise reported when a damaged page is
    /// read.
    pub verify_on_open: bool,
    /// Refuse to grow the file beyond about this many bytes; commits that
    /// need more fail with
    /// [`StoreError::Full`](windlass_store_api::StoreError::Full).
    pub max_size_bytes: Option<u64>,
}

impl SqliteOptions {
    /// Defaults for `path`: durable (`SyncMode::Full`), read-write, no
    /// check on open, no size limit.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            sync: SyncMode::Full,
            read_only: false,
            verify_on_open: false,
            max_size_bytes: None,
        }
    }
}
