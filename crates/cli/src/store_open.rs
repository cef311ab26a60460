//! Opening the stores the verbs use.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

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
pub fn open_read_write(path: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))
}
