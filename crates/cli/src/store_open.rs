//! Opening the stores the verbs use.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use windlass_runtime::ShutdownSignal;
use windlass_store_api::StoreError;
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

/// How often `--wait-for-lock` tries the writer lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The database file `run`, `instances` and `recover` use when `--db` is not given.
pub const DEFAULT_DB: &str = "windlass.db";

/// `--db`, or [`DEFAULT_DB`] in the working directory.
pub fn db_path(db: Option<&Path>) -> PathBuf {
    db.map_or_else(|| PathBuf::from(DEFAULT_DB), Path::to_path_buf)
}

/// Opens an existing database for reading only; a missing file is an error
/// (nothing is created by a read).
pub fn open_existing_read_only(path: &Path) -> anyhow::Result<SqliteStore> {
    if !path.is_file() {
        anyhow::bail!("no database at {} (give --db PATH)", path.display());
    }
    let mut opts = SqliteOptions::new(path);
    opts.read_only = true;
    SqliteStore::open_with(opts).with_context(|| format!("opening {}", path.display()))
}

/// Opens (creating if needed) a database for writing, durable by default.
/// Takes the database's writer lock: fails at once, naming the holder, when
/// another process writes it.
pub fn open_read_write(path: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))
}

/// [`open_read_write`], waiting up to `wait_seconds` (`--wait-for-lock`)
/// while another process holds the writer lock. A SIGINT / SIGTERM ends
/// the wait: `None` then.
pub async fn open_writer(
    path: &Path,
    wait_seconds: u64,
    signal: &mut ShutdownSignal,
) -> anyhow::Result<Option<SqliteStore>> {
    let deadline = Instant::now().checked_add(Duration::from_secs(wait_seconds));
    loop {
        match open_read_write(path) {
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
