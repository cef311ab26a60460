//! SQLite store backend: one database file in WAL mode, written by one
//! writer thread (one transaction and one fsync per [`Batch`]) and read by a
//! reader thread, behind the async store traits. A writing store holds the
//! database's writer lock (one writing process per file) and folds the WAL
//! into the file when it closes; [`check`] verifies a database.
//!
//! See `docs/storage.md` for the schema, durability settings, migrations and
//! error behaviour.

pub mod check;
mod commit;
mod convert;
mod errors;
mod hot;
mod lock;
mod open;
mod options;
mod reads;
mod schedules;
pub mod schema;
mod worker;

pub use options::{DEFAULT_WRITER_CHECK_LIMIT, SqliteOptions, SyncMode};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use windlass_store_api::{
    Batch, DedupRead, DedupRow, DefinitionRead, DefinitionRow, HistoryEvent, HistoryRead,
    InstanceId, InstanceIndex, InstanceQuery, InstanceRef, InstanceRow, MessageRead, MessageRow,
    OutboxRead, OutboxRow, RecoveredInstance, Recovery, ScheduleRead, ScheduleRow, StoreError,
    StoreResult, StoreWrite, TimerRead, TimerRow, Timestamp,
};
use worker::Worker;

/// A SQLite-backed store. Cheap to clone: clones share the same threads and
/// connections, which close when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// Fields drop in order: the reader closes first, then the writer (which
/// checkpoints the WAL into the file as the last connection), then the
/// writer lock is released.
#[derive(Debug)]
struct Inner {
    path: Arc<str>,
    reader: Worker,
    writer: Worker,
    /// Set when a commit found the file damaged: later commits are refused
    /// rather than written into a file SQLite calls malformed.
    damaged: Arc<AtomicBool>,
    _lock: Option<lock::WriterLock>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` with default options:
    /// durable commits (`synchronous=FULL`), read-write.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(SqliteOptions::new(path.as_ref()))
    }

    /// Opens the database with `opts`. Refuses foreign, damaged or too-new
    /// files with a clear [`StoreError`].
    /// A read-write store first takes the database's writer lock (waiting
    /// up to `opts.lock_wait`), or fails with
    /// [`StoreError::InUse`] naming
    /// the process that holds it.
    /// Blocking: call it before entering async code, or via `spawn_blocking`.
    pub fn open_with(opts: SqliteOptions) -> StoreResult<Self> {
        let path: Arc<str> = Arc::from(opts.path.display().to_string());
        let lock = if opts.read_only {
            None
        } else {
            Some(lock::WriterLock::acquire(
                &opts.path,
                opts.lock_wait,
                &path,
            )?)
        };
        let (primary, access) = open::open_primary(&opts, &path)?;
        let reader = open::open_reader(&opts, access, &path)?;
        let on_exit: Option<fn(&mut rusqlite::Connection)> =
            (!opts.read_only).then_some(checkpoint_on_close);
        Ok(Self {
            inner: Arc::new(Inner {
                reader: Worker::start("windlass-sqlite-reader", reader, None)?,
                writer: Worker::start("windlass-sqlite-writer", primary, on_exit)?,
                damaged: Arc::new(AtomicBool::new(false)),
                _lock: lock,
                path,
            }),
        })
    }

    /// The database file this store uses.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    fn read<T, F>(&self, f: F) -> impl Future<Output = StoreResult<T>> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection, &str) -> StoreResult<T> + Send + 'static,
    {
        let path = self.inner.path.clone();
        self.inner.reader.run(move |c| f(c, &path))
    }
}

/// Copies every commit in the WAL into the database file and empties the
/// WAL, so the `.db` file alone is complete after a clean exit. Best effort:
/// a concurrent reader can keep part of the WAL alive (then SQLite finishes
/// the job at the next checkpoint).
fn checkpoint_on_close(conn: &mut rusqlite::Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

impl StoreWrite for SqliteStore {
    fn commit(&self, batch: Batch) -> impl Future<Output = StoreResult<()>> + Send {
        let path = self.inner.path.clone();
        let damaged = self.inner.damaged.clone();
        self.inner.writer.run_then_drop(move |c| {
            if damaged.load(Ordering::Acquire) {
                let detail = format!(
                    "an earlier write found the file damaged; nothing more is written to it. \
                     `windlass db check --db {path}` reports the damage"
                );
                return (
                    Err(StoreError::Corrupt {
                        path: path.to_string(),
                        detail,
                    }),
                    batch,
                );
            }
            let result = commit::commit(c, &batch, &path);
            if matches!(result, Err(StoreError::Corrupt { .. })) {
                damaged.store(true, Ordering::Release);
            }
            (result, batch)
        })
    }
}

impl HistoryRead for SqliteStore {
    fn history(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEvent>>> + Send {
        self.history_after(instance, 0)
    }

    fn history_after(
        &self,
        instance: &InstanceRef,
        after_seq: u64,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEvent>>> + Send {
        let i = instance.clone();
        self.read(move |c, p| reads::history(c, &i, after_seq, p))
    }
}

impl InstanceIndex for SqliteStore {
    fn instance(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Option<InstanceRow>>> + Send {
        let i = instance.clone();
        self.read(move |c, p| reads::instance(c, &i, p))
    }

    fn query_instances(
        &self,
        query: &InstanceQuery,
    ) -> impl Future<Output = StoreResult<Vec<InstanceRow>>> + Send {
        let q = query.clone();
        self.read(move |c, p| reads::query_instances(c, &q, p))
    }

    fn latest_run(
        &self,
        id: &InstanceId,
    ) -> impl Future<Output = StoreResult<Option<InstanceRow>>> + Send {
        let id = id.0.clone();
        self.read(move |c, p| reads::latest_run(c, &id, p))
    }
}

impl DefinitionRead for SqliteStore {
    fn definition(
        &self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<DefinitionRow>>> + Send {
        let k = key.to_string();
        self.read(move |c, p| reads::definition(c, &k, p))
    }

    fn definitions(&self) -> impl Future<Output = StoreResult<Vec<DefinitionRow>>> + Send {
        self.read(|c, p| reads::definitions(c, p))
    }
}

impl OutboxRead for SqliteStore {
    fn pending_outbox(&self) -> impl Future<Output = StoreResult<Vec<OutboxRow>>> + Send {
        self.read(|c, p| reads::pending_outbox(c, p))
    }

    fn outbox_entry(
        &self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<OutboxRow>>> + Send {
        let k = key.to_string();
        self.read(move |c, p| reads::outbox_entry(c, &k, p))
    }
}

impl TimerRead for SqliteStore {
    fn due_timers(
        &self,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send {
        self.read(move |c, p| reads::due_timers(c, until, limit, p))
    }

    fn timers_of(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send {
        let i = instance.clone();
        self.read(move |c, p| reads::timers_of(c, &i, p))
    }
}

impl MessageRead for SqliteStore {
    fn messages_for(
        &self,
        name: &str,
        correlation_key: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<MessageRow>>> + Send {
        let (n, k) = (name.to_string(), correlation_key.to_string());
        self.read(move |c, p| reads::messages_for(c, &n, &k, now, p))
    }

    fn live_messages(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<MessageRow>>> + Send {
        self.read(move |c, p| reads::live_messages(c, now, p))
    }
}

impl DedupRead for SqliteStore {
    fn dedup_entry(&self, key: &str) -> impl Future<Output = StoreResult<Option<DedupRow>>> + Send {
        let k = key.to_string();
        self.read(move |c, p| reads::dedup_entry(c, &k, p))
    }

    fn dedup_entries(&self) -> impl Future<Output = StoreResult<Vec<DedupRow>>> + Send {
        self.read(|c, p| reads::dedup_entries(c, p))
    }
}

impl ScheduleRead for SqliteStore {
    fn schedule(&self, id: &str) -> impl Future<Output = StoreResult<Option<ScheduleRow>>> + Send {
        let id = id.to_string();
        self.read(move |c, p| schedules::one(c, &id, p))
    }

    fn schedules(&self) -> impl Future<Output = StoreResult<Vec<ScheduleRow>>> + Send {
        self.read(|c, p| schedules::all(c, p))
    }
}

impl Recovery for SqliteStore {
    fn load_unfinished(&self) -> impl Future<Output = StoreResult<Vec<RecoveredInstance>>> + Send {
        self.read(reads::load_unfinished)
    }
}
