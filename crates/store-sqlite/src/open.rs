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

/// Opens the write connection (or, for a read-only store, the only kind of
/// connection) and brings the schema up to date.
pub(crate) fn open_primary(opts: &SqliteOptions, path: &str) -> StoreResult<Connection> {
    if opts.read_only && !opts.path.exists() {
        return Err(StoreError::NotFound {
            what: "database file",
            key: path.to_string(),
        });
    }
    let conn = connect(opts, path, opts.read_only)?;
    let sq = |e| map_sqlite(e, path);
    match identify(&conn, path)? {
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
            return Err(StoreError::ReadOnly(format!(
                "{path} has schema version {v} and needs migrating to {SCHEMA_VERSION}; \
                 open it writable once"
            )));
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
    if opts.verify_on_open {
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
    Ok(conn)
}

/// Opens a second connection for reads only (after [`open_primary`]).
pub(crate) fn open_reader(opts: &SqliteOptions, path: &str) -> StoreResult<Connection> {
    let conn = connect(opts, path, true)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| map_sqlite(e, path))?;
    Ok(conn)
}

fn connect(opts: &SqliteOptions, path: &str, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(&opts.path, flags).map_err(|e| map_sqlite(e, path))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| map_sqlite(e, path))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "cache_size", -32_000)
        .map_err(|e| map_sqlite(e, path))?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(|e| map_sqlite(e, path))?;
    Ok(conn)
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
        detail: format!("integrity check failed: {}", problems.join("; ")),
    })
}

/// Runs every migration the file has not had yet, each in its own
/// transaction together with the `user_version` bump.
fn migrate(conn: &Connection, path: &str) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sq)?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let target = i as i64 + 1;
        if target <= current {
            continue;
        }
        let script = format!(
            "BEGIN IMMEDIATE;\n{sql}\nPRAGMA application_id = {APPLICATION_ID};\n\
             PRAGMA user_version = {target};\nCOMMIT;"
        );
        if let Err(e) = conn.execute_batch(&script) {
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
