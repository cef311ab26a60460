//! How to open a SQLite store.

use std::path::PathBuf;
use std::time::Duration;

/// Writers check files up to this size on open by default (256 MiB: well
/// under a second of `PRAGMA quick_check`).
pub const DEFAULT_WRITER_CHECK_LIMIT: u64 = 256 * 1024 * 1024;

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
    /// A writer runs `PRAGMA quick_check` on open when the file is at most
    /// this many bytes (and always with `verify_on_open`), and refuses to
    /// write into a file that fails it, so damage is not extended. `None`:
    /// only with `verify_on_open`.
    pub writer_check_limit: Option<u64>,
    /// How long a writer waits for another process's writer lock (see
    /// `docs/storage.md`, "One writer per database") before it gives up
    /// with [`StoreError::InUse`](windlass_store_api::StoreError::InUse).
    /// Zero (the default): fail at once.
    pub lock_wait: Duration,
    /// Read-only stores only: open the file as immutable (no `-wal`/`-shm`,
    /// no locks), as for a file on read-only media. A read-only open falls
    /// back to this by itself when the normal one fails because the
    /// `-shm`/`-wal` files cannot be created; this forces it (tests).
    pub immutable: bool,
    /// Refuse to grow the file beyond about this many bytes; commits that
    /// need more fail with
    /// [`StoreError::Full`](windlass_store_api::StoreError::Full).
    pub max_size_bytes: Option<u64>,
}

impl SqliteOptions {
    /// Defaults for `path`: durable (`SyncMode::Full`), read-write, writers
    /// check files up to [`DEFAULT_WRITER_CHECK_LIMIT`] on open, no lock
    /// wait, no size limit.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            sync: SyncMode::Full,
            read_only: false,
            verify_on_open: false,
            writer_check_limit: Some(DEFAULT_WRITER_CHECK_LIMIT),
            lock_wait: Duration::ZERO,
            immutable: false,
            max_size_bytes: None,
        }
    }
}
