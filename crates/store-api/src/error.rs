//! The one error type every store backend returns. Backends map their own
//! errors (SQLite codes, PostgreSQL SQLSTATEs, ...) onto these variants so no
//! backend type leaks upward; the message always names what and where.

use crate::ids::InstanceRef;

/// What went wrong in a store operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: the history of `instance` does not end where
    /// the writer expected. The whole batch was rejected.
    #[error(
        "history conflict for instance {instance}: expected last sequence {expected}, \
         but the store has {actual}"
    )]
    Conflict {
        /// The instance whose history moved on.
        instance: InstanceRef,
        /// The last sequence number the writer expected (0 = no history).
        expected: u64,
        /// The last sequence number in the store (0 = no history).
        actual: u64,
    },
    /// A row with this key already exists (instance, outbox key, timer id,
    /// message id, or a definition key with different content).
    #[error("{what} '{key}' already exists")]
    AlreadyExists {
        /// Which kind of row (e.g. "instance", "outbox entry").
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A row the batch refers to does not exist.
    #[error("{what} '{key}' does not exist")]
    NotFound {
        /// Which kind of row (e.g. "instance", "outbox entry").
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// The batch itself is malformed (e.g. an append with no events).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// The file exists but is not a Windlass database (a foreign SQLite file
    /// or another application's data).
    #[error("{path} is not a Windlass database: {detail}")]
    NotWindlassDatabase {
        /// The file that was opened.
        path: String,
        /// Why it was refused.
        detail: String,
    },
    /// The database is damaged (not a database file at all, or it fails its
    /// integrity check).
    #[error("database {path} is corrupted or not a database: {detail}")]
    Corrupt {
        /// The file that was opened.
        path: String,
        /// What the backend reported.
        detail: String,
    },
    /// The database was written by a newer Windlass with a schema this build
    /// does not know.
    #[error(
        "database {path} has schema version {found}, newer than this build supports \
         ({supported}); upgrade Windlass"
    )]
    SchemaTooNew {
        /// The file that was opened.
        path: String,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The disk (or the database's size limit) is full; nothing of the
    /// failing batch was written.
    #[error("storage is full, the batch was not written: {0}")]
    Full(String),
    /// The database cannot be written (opened read-only, read-only file
    /// system, immutable file); nothing of the failing batch was written.
    #[error("database is read-only, the batch was not written: {0}")]
    ReadOnly(String),
    /// Another process writes this database (one writer per database); the
    /// second writer is refused instead of racing the first.
    #[error(
        "database {path} is in use by {holder}; one process writes a database at a time: \
         wait for it to finish or stop it, or send the work to the server that holds it \
         (`--server URL`)"
    )]
    InUse {
        /// The database file.
        path: String,
        /// Who holds it, e.g. "pid 42 on host h since 2026-01-01T00:00:00Z".
        holder: String,
    },
    /// This process's lease on the database moved to another process (it
    /// was paused or cut off past the lease's duration, and another node
    /// took over): it may no longer write, and nothing of the failing batch
    /// was written. The process should stop; its work continues on the
    /// new holder.
    #[error(
        "database {path}: this process lost its lease to {holder}; it no longer writes the \
         database, the batch was not written"
    )]
    Fenced {
        /// The database.
        path: String,
        /// Who holds the lease now.
        holder: String,
    },
    /// The database has an older schema and must be migrated by a writer
    /// before a read-only open can use it.
    #[error(
        "database {path} has schema version {found} and needs migrating to {supported}; \
         run `windlass db migrate --db` on it (the writing verbs, such as `recover` and \
         `server`, migrate it too)"
    )]
    NeedsMigration {
        /// The file that was opened.
        path: String,
        /// The schema version found in the file.
        found: i64,
        /// The schema version this build writes.
        supported: i64,
    },
    /// The store was closed (its worker stopped) before the request ran.
    #[error("store is closed")]
    Closed,
    /// A failure that passes by itself (the database is busy or locked by
    /// another connection, a connection dropped before the request was
    /// sent); nothing of the failing batch was written, and the same
    /// request may succeed when tried again.
    #[error("store temporarily unavailable, the batch was not written: {0}")]
    Transient(String),
    /// The commit's outcome is unknown (the connection was lost after the
    /// commit was sent): the batch may or may not have been written. The
    /// writer re-reads what it wrote before going on.
    #[error("commit outcome unknown (the batch may or may not be written): {0}")]
    Ambiguous(String),
    /// Any other backend failure, described.
    #[error("store backend error: {0}")]
    Backend(String),
}

/// Shorthand for results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// How a writer reacts to a [`StoreError`] (see `docs/storage.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Nothing was written and trying again later may succeed: retry with
    /// backoff.
    Transient,
    /// Whether the batch was written is unknown: re-read the affected rows
    /// and reconcile before going on.
    Ambiguous,
    /// The batch contradicts what is stored (a moved history, an existing or
    /// missing row): nothing was written; the unit that caused it is wrong,
    /// not the store. Re-read the affected rows; report it to that unit's
    /// requester.
    Conflict,
    /// Retrying does not help (full disk, read-only or damaged database, a
    /// malformed request, a closed store): stop and report.
    Permanent,
}

impl StoreError {
    /// The class of this error, which decides a writer's reaction.
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Transient(_) => ErrorClass::Transient,
            StoreError::Ambiguous(_) => ErrorClass::Ambiguous,
            StoreError::Conflict { .. }
            | StoreError::AlreadyExists { .. }
            | StoreError::NotFound { .. } => ErrorClass::Conflict,
            StoreError::Invalid(_)
            | StoreError::NotWindlassDatabase { .. }
            | StoreError::Corrupt { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::Full(_)
            | StoreError::ReadOnly(_)
            | StoreError::InUse { .. }
            | StoreError::Fenced { .. }
            | StoreError::NeedsMigration { .. }
            | StoreError::Closed
            | StoreError::Backend(_) => ErrorClass::Permanent,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn conflict_names_instance_and_versions() {
        let e = StoreError::Conflict {
            instance: InstanceRef::new("a", "1"),
            expected: 3,
            actual: 5,
        };
        let s = e.to_string();
        assert!(s.contains("'a' run '1'"), "{s}");
        assert!(s.contains("expected last sequence 3"), "{s}");
        assert!(s.contains("has 5"), "{s}");
    }

    #[test]
    fn every_variant_has_its_class() {
        let conflict = StoreError::Conflict {
            instance: InstanceRef::new("a", "1"),
            expected: 1,
            actual: 2,
        };
        assert_eq!(conflict.class(), ErrorClass::Conflict);
        let exists = StoreError::AlreadyExists {
            what: "instance",
            key: "a".into(),
        };
        assert_eq!(exists.class(), ErrorClass::Conflict);
        let missing = StoreError::NotFound {
            what: "instance",
            key: "a".into(),
        };
        assert_eq!(missing.class(), ErrorClass::Conflict);
        assert_eq!(
            StoreError::Transient("busy".into()).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            StoreError::Ambiguous("lost".into()).class(),
            ErrorClass::Ambiguous
        );
        for permanent in [
            StoreError::Full("f".into()),
            StoreError::ReadOnly("r".into()),
            StoreError::Invalid("i".into()),
            StoreError::Closed,
            StoreError::Backend("b".into()),
        ] {
            assert_eq!(permanent.class(), ErrorClass::Permanent, "{permanent}");
        }
    }
}
