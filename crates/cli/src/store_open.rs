//! Opening the stores the verbs use: a SQLite file, or a PostgreSQL
//! database when `--db` (or `WINDLASS_DB`) is a `postgres://` URL.

use anyhow::Context as _;
use std::path::Path;
use std::time::{Duration, Instant};
use windlass_runtime::ShutdownSignal;
use windlass_store_any::{AnyStore, DbLocation};
use windlass_store_api::StoreError;
use windlass_store_postgres::{LeaseOptions, PgOptions, PgStore};
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

/// How often `--wait-for-lock` tries the writer lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The database file `run`, `instances` and `recover` use when neither
/// `--db` nor `WINDLASS_DB` is given.
pub const DEFAULT_DB: &str = "windlass.db";

/// `--db`, else `WINDLASS_DB`, else [`DEFAULT_DB`] in the working directory.
pub fn location(db: Option<&Path>) -> DbLocation {
    DbLocation::from_arg_or_env(db, DEFAULT_DB)
}

/// Fails unless the database exists: a SQLite file must be there (a
/// PostgreSQL database is checked when connecting).
pub fn require_existing(db: &DbLocation) -> anyhow::Result<()> {
    match db.sqlite_path() {
        Some(path) if !path.is_file() => {
            anyhow::bail!(
                "no database at {} (give --db PATH or a postgres:// URL)",
                path.display()
            )
        }
        _ => Ok(()),
    }
}

/// Opens an existing database for reading only; a missing file is an error
/// (nothing is created by a read), and a PostgreSQL schema is not migrated.
pub async fn open_existing_read_only(db: &DbLocation) -> anyhow::Result<AnyStore> {
    require_existing(db)?;
    let store: Result<AnyStore, StoreError> = match db {
        DbLocation::Sqlite(path) => {
            let mut opts = SqliteOptions::new(path);
            opts.read_only = true;
            SqliteStore::open_with(opts).map(AnyStore::from)
        }
        DbLocation::Postgres(url) => {
            PgStore::connect_with(PgOptions::new(url.as_str()).migrate(false))
                .await
                .map(AnyStore::from)
        }
    };
    store.with_context(|| format!("opening {db}"))
}

/// "pid N on HOST": this process, as a database's lock or lease names it
/// to other processes.
pub fn process_name() -> String {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "an unknown host".to_string());
    format!("pid {} on {host}", std::process::id())
}

/// Opens (creating or migrating if needed) a database for writing, durable
/// by default. Takes the database's writer lock (a SQLite file) or lease
/// (PostgreSQL): fails at once, naming the holder, when another process
/// writes it.
pub async fn open_read_write(db: &DbLocation) -> anyhow::Result<AnyStore> {
    let store: Result<AnyStore, StoreError> = match db {
        DbLocation::Sqlite(path) => SqliteStore::open(path).map(AnyStore::from),
        DbLocation::Postgres(url) => {
            let lease = LeaseOptions::new(format!("windlass {}", process_name()));
            PgStore::connect_with(PgOptions::new(url.as_str()).with_lease(lease))
                .await
                .map(AnyStore::from)
        }
    };
    store.with_context(|| format!("opening {db}"))
}

/// [`open_read_write`], waiting up to `wait_seconds` (`--wait-for-lock`)
/// while another process holds the writer lock. A SIGINT / SIGTERM ends
/// the wait: `None` then.
pub async fn open_writer(
    db: &DbLocation,
    wait_seconds: u64,
    signal: &mut ShutdownSignal,
) -> anyhow::Result<Option<AnyStore>> {
    let deadline = Instant::now().checked_add(Duration::from_secs(wait_seconds));
    loop {
        match open_read_write(db).await {
            Ok(store) => return Ok(Some(store)),
            Err(e)
                if matches!(
                    e.downcast_ref::<StoreError>(),
                    Some(StoreError::InUse { .. })
                ) =>
            {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let hint = if wait_seconds == 0 {
                        "(--wait-for-lock SECONDS waits for it)".to_string()
                    } else {
                        format!("(waited {wait_seconds} s)")
                    };
                    return Err(anyhow::anyhow!("{e:#} {hint}"));
                }
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            () = tokio::time::sleep(LOCK_POLL) => {}
            s = signal.recv() => {
                s?;
                return Ok(None);
            }
        }
    }
}
