//! Maps SQLite errors onto [`StoreError`] so no rusqlite type leaks upward
//! and every message names the database file.

use rusqlite::ErrorCode;
use windlass_store_api::StoreError;

/// Maps `e`, raised while working on the database at `path`.
pub(crate) fn map_sqlite(e: rusqlite::Error, path: &str) -> StoreError {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    };
    let detail = e.to_string();
    match code {
        Some(ErrorCode::DiskFull) => StoreError::Full(format!(
            "{path}: {detail} (free disk space, or raise the size limit)"
        )),
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly(format!("{path}: {detail}")),
        Some(ErrorCode::NotADatabase) => StoreError::Corrupt {
            path: path.to_string(),
            detail: "file is not a database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_string(),
            detail,
        },
        Some(ErrorCode::CannotOpen) => StoreError::Backend(format!(
            "cannot open database {path}: {detail} (does the directory exist and is it writable?)"
        )),
        // SQLite rolls a failed transaction back: busy / locked never leaves
        // half a batch, and the same batch may succeed later.
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Transient(
            format!("database {path} is locked by another connection or process: {detail}"),
        ),
        Some(ErrorCode::SystemIoFailure) => {
            StoreError::Backend(format!("I/O error on database {path}: {detail}"))
        }
        _ => StoreError::Backend(format!("database {path}: {detail}")),
    }
}

/// True if `e` is a UNIQUE / PRIMARY KEY constraint violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn codes_map_to_clear_variants() {
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_FULL), "/x.db");
        assert!(
            matches!(&e, StoreError::Full(d) if d.contains("/x.db")),
            "{e:?}"
        );
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_READONLY), "/x.db");
        assert!(matches!(e, StoreError::ReadOnly(_)), "{e:?}");
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_NOTADB), "/x.db");
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_CORRUPT), "/x.db");
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_BUSY), "/x.db");
        assert!(e.to_string().contains("locked"), "{e}");
        assert_eq!(e.class(), windlass_store_api::ErrorClass::Transient);
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_LOCKED), "/x.db");
        assert_eq!(e.class(), windlass_store_api::ErrorClass::Transient);
        let e = map_sqlite(failure(rusqlite::ffi::SQLITE_FULL), "/x.db");
        assert_eq!(e.class(), windlass_store_api::ErrorClass::Permanent);
        assert!(is_unique_violation(&failure(
            rusqlite::ffi::SQLITE_CONSTRAINT
        )));
    }
}
