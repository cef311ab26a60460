//! Opening a database file: recognise it (ours, new, foreign or damaged),
//! set WAL and the sync level, run pending migrations.

use crate::errors::map_sqlite;
use crate::options::{SqliteOptions, SyncMode};
use crate::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
use rusqlite::{Connection, OpenFlags};
use std::time::Duration;
use windlass_store_api::{StoreError, StoreResult};

/// What the file turned out to be.
enum Identity {
    /// A Windlass database at this schema version.
    Windlass(i64),
    /// An empty (or new) file.
    Empty,
}

/// How a connection opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read and write (creating the file if missing).
    ReadWrite,
    /// Read only, with the usual WAL shared memory (`-shm`).
    ReadOnly,
    /// Read only as an immutable file: no `-wal`/`-shm`, no locks (for a
    /// read-only folder or file system).
    Immutable,
}

/// Opens the write connection (or, for a read-only store, the only kind of
/// connection) and brings the schema up to date. Also says how the file was
/// opened, for [`open_reader`].
pub(crate) fn open_primary(opts: &SqliteOptions, path: &str) -> StoreResult<(Connection, Access)> {
    if opts.read_only && !opts.path.exists() {
        return Err(StoreError::NotFound {
            what: "database file",
            key: path.to_string(),
        });
    }
    let (conn, access) = if opts.read_only {
        connect_read_only(opts, path)?
    } else {
        (connect(opts, path, Access::ReadWrite)?, Access::ReadWrite)
    };
    let sq = |e| map_sqlite(e, path);
    let identity = identify(&conn, path)?;
    match identity {
        Identity::Empty if opts.read_only => {
            return Err(StoreError::NotWindlassDatabase {
                path: path.to_string(),
                detail: "the file is empty and cannot be initialised read-only".into(),
            });
        }
        Identity::Windlass(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::SchemaTooNew {
                path: path.to_string(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Identity::Windlass(v) if opts.read_only && v < SCHEMA_VERSION => {
            return Err(StoreError::NeedsMigration {
                path: path.to_string(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        _ => {}
    }
    if !opts.read_only {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(sq)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "database {path}: cannot switch to WAL journal mode (got '{mode}')"
            )));
        }
    }
    let sync = match opts.sync {
        SyncMode::Full => "FULL",
        SyncMode::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync).map_err(sq)?;
    if opts.verify_on_open || (!opts.read_only && writer_should_check(opts, &identity)) {
        quick_check(&conn, path)?;
    }
    if !opts.read_only {
        migrate(&conn, path)?;
        if let Some(max) = opts.max_size_bytes {
            let page: i64 = conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(sq)?;
            let pages = (max / u64::try_from(page.max(1)).unwrap_or(4096)).max(1);
            let pages = i64::try_from(pages).unwrap_or(i64::MAX);
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(sq)?;
        }
    }
    Ok((conn, access))
}

/// A writer checks an existing Windlass file it is about to write into when
/// the file (with its WAL) is within the configured size.
fn writer_should_check(opts: &SqliteOptions, identity: &Identity) -> bool {
    let (Identity::Windlass(_), Some(limit)) = (identity, opts.writer_check_limit) else {
        return false;
    };
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    size(&opts.path) + size(&sidecar(&opts.path, "-wal")) <= limit
}

/// Opens a second connection for reads only (after [`open_primary`]), the
/// way the primary one was opened.
pub(crate) fn open_reader(
    opts: &SqliteOptions,
    access: Access,
    path: &str,
) -> StoreResult<Connection> {
    let access = if access == Access::ReadWrite {
        Access::ReadOnly
    } else {
        access
    };
    let conn = connect(opts, path, access)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| map_sqlite(e, path))?;
    Ok(conn)
}

/// A read-only open: normally, or as an immutable file when the normal
/// open fails because the WAL's `-shm`/`-wal` cannot be created (read-only
/// folder or file system) and no WAL content would be missed.
fn connect_read_only(opts: &SqliteOptions, path: &str) -> StoreResult<(Connection, Access)> {
    if opts.immutable {
        return Ok((connect(opts, path, Access::Immutable)?, Access::Immutable));
    }
    // Reading the schema opens the WAL index: this is where a read-only
    // folder or file system makes a WAL database fail.
    let normal = connect_raw(opts, Access::ReadOnly).and_then(|c| {
        c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(c)
    });
    let err = match normal {
        Ok(c) => return Ok((c, Access::ReadOnly)),
        Err(e) => e,
    };
    let cannot_write_sidecars = matches!(
        &err,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    );
    if !cannot_write_sidecars {
        return Err(map_sqlite(err, path));
    }
    let wal = sidecar(&opts.path, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(StoreError::Backend(format!(
            "cannot read database {path}: {err}; the folder or file system is read-only and \
             {} holds commits not yet copied into the database file, so it cannot be read as \
             an immutable file either (open it once where it is writable: writers fold the \
             WAL into the file when they exit)",
            wal.display()
        )));
    }
    Ok((connect(opts, path, Access::Immutable)?, Access::Immutable))
}

/// `db` with `suffix` appended to its file name (`-wal`, `-shm`).
fn sidecar(db: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

fn connect(opts: &SqliteOptions, path: &str, access: Access) -> StoreResult<Connection> {
    connect_raw(opts, access).map_err(|e| map_sqlite(e, path))
}

fn connect_raw(opts: &SqliteOptions, access: Access) -> rusqlite::Result<Connection> {
    let conn = match access {
        Access::ReadWrite => Connection::open_with_flags(
            &opts.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        Access::ReadOnly => Connection::open_with_flags(
            &opts.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        Access::Immutable => Connection::open_with_flags(
            immutable_uri(&opts.path),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
    }?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "cache_size", -32_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// A `file:` URI for `path` with `immutable=1`, percent-encoding every byte
/// that is not plainly safe in a URI path.
fn immutable_uri(path: &std::path::Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Reads the header fields that tell a Windlass database from a new file, a
/// foreign SQLite file or something that is not SQLite at all.
fn identify(conn: &Connection, path: &str) -> StoreResult<Identity> {
    let sq = |e| map_sqlite(e, path);
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(sq)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sq)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(sq)?;
    if app == APPLICATION_ID {
        return Ok(Identity::Windlass(version));
    }
    if app != 0 {
        return Err(StoreError::NotWindlassDatabase {
            path: path.to_string(),
            detail: format!(
                "its application id is {app:#010x}, a Windlass database has {APPLICATION_ID:#010x}"
            ),
        });
    }
    if tables > 0 || version != 0 {
        return Err(StoreError::NotWindlassDatabase {
            path: path.to_string(),
            detail: format!(
                "it is a SQLite database of another application ({tables} schema objects, \
                 no Windlass application id); refusing to touch it"
            ),
        });
    }
    Ok(Identity::Empty)
}

fn quick_check(conn: &Connection, path: &str) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(sq)?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sq)?
        .collect::<Result<_, _>>()
        .map_err(sq)?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: path.to_string(),
        detail: format!(
            "the integrity check failed ({}); nothing was written to it. \
             `windlass db check --db {path}` reports the damage",
            problems.join("; ")
        ),
    })
}

/// Runs every migration the file has not had yet, each in its own
/// transaction together with the `user_version` bump. The version is read
/// inside that (`BEGIN IMMEDIATE`, i.e. write-locked) transaction, so two
/// processes opening a new file at once never both apply a migration.
fn migrate(conn: &Connection, path: &str) -> StoreResult<()> {
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let target = i as i64 + 1;
        let step = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if current < target {
                conn.execute_batch(&format!(
                    "{sql}\nPRAGMA application_id = {APPLICATION_ID};\n\
                     PRAGMA user_version = {target};"
                ))?;
            }
            conn.execute_batch("COMMIT")
        };
        if let Err(e) = step() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(match map_sqlite(e, path) {
                StoreError::Backend(d) => {
                    StoreError::Backend(format!("migration to schema version {target}: {d}"))
                }
                other => other,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// Without the writer lock (which keeps this from happening between
    /// processes), connections migrating a new file at once still apply
    /// each migration exactly once.
    #[test]
    fn concurrent_migrations_of_a_new_file_apply_each_step_once() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..20 {
            let opts = Arc::new(SqliteOptions::new(dir.path().join(format!("m{round}.db"))));
            let start = Arc::new(Barrier::new(4));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (opts, start) = (opts.clone(), start.clone());
                    std::thread::spawn(move || {
                        let conn = connect(&opts, "m.db", Access::ReadWrite).unwrap();
                        conn.pragma_update(None, "journal_mode", "WAL").ok();
                        start.wait();
                        migrate(&conn, "m.db")
                    })
                })
                .collect();
            for t in threads {
                let r = t.join().unwrap();
                assert!(r.is_ok(), "round {round}: {r:?}");
            }
            let conn = connect(&opts, "m.db", Access::ReadOnly).unwrap();
            let v: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(v, SCHEMA_VERSION);
        }
    }
}
