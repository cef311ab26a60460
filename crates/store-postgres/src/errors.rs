//! Maps PostgreSQL and pool errors onto [`StoreError`] by the store API's
//! error classes, so no driver type leaks upward and every message names
//! the server and database (never the password).
//!
//! - The server refusing work for a while (serialization failures,
//!   deadlocks, lock timeouts, shutdown, too many connections, a read-only
//!   standby after a failover) and a connection lost *before* COMMIT are
//!   [`Transient`](StoreError::Transient): the transaction was rolled back,
//!   the same batch may succeed later.
//! - A connection lost *during* COMMIT is [`Ambiguous`](StoreError::Ambiguous)
//!   (see [`commit_error`]).
//! - Everything else is permanent.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;
use windlass_store_api::StoreError;

/// Maps `e`, raised while working on the database `target` (`host:port/db`).
pub(crate) fn map_pg(e: tokio_postgres::Error, target: &str) -> StoreError {
    if let Some(why) = tls_refusal(&e) {
        // The server's certificate (or the TLS setup) was refused: trying
        // again meets the same certificate.
        return StoreError::Invalid(format!("database {target}: TLS handshake refused: {why}"));
    }
    let Some(db) = e.as_db_error() else {
        // No answer from the server: the connection is gone or never came
        // (transient), or the driver refused something on this side (a
        // value it cannot encode, a bad setting: retrying does not help).
        let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        return if e.is_closed() || io {
            StoreError::Transient(format!("database {target}: {e}"))
        } else {
            StoreError::Backend(format!("database {target}: {e}"))
        };
    };
    let code = db.code();
    let detail = format!("{} ({})", db.message(), code.code());
    if is_transient(code) {
        return StoreError::Transient(format!("database {target}: {detail}"));
    }
    if *code == SqlState::DISK_FULL || *code == SqlState::OUT_OF_MEMORY {
        return StoreError::Full(format!("database {target}: {detail}"));
    }
    if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        || *code == SqlState::UNTRANSLATABLE_CHARACTER
        || *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE
    {
        // e.g. a NUL character in a text value, which PostgreSQL cannot store.
        return StoreError::Invalid(format!("database {target} refused a value: {detail}"));
    }
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        return StoreError::Backend(format!(
            "database {target}: {detail}; the role needs CREATE on the schema and \
             SELECT/INSERT/UPDATE/DELETE on Windlass's tables"
        ));
    }
    StoreError::Backend(format!("database {target}: {detail}"))
}

/// The rustls error behind a failed TLS handshake, if that is what `e` is
/// (tokio-rustls hands it over inside an `io::Error`).
fn tls_refusal(e: &tokio_postgres::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        if let Some(r) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r.to_string());
        }
        source = s.source();
    }
    None
}

/// SQLSTATEs after which the transaction is rolled back and a retry may
/// succeed.
fn is_transient(code: &SqlState) -> bool {
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::QUERY_CANCELED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::CONNECTION_FAILURE,
        SqlState::CONNECTION_EXCEPTION,
        SqlState::READ_ONLY_SQL_TRANSACTION,
        SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
    ]
    .contains(code)
}

/// Maps an error of COMMIT itself. The server answered: the transaction is
/// rolled back (mapped as usual). No answer: the commit may or may not have
/// happened, which the caller must be told.
pub(crate) fn commit_error(e: tokio_postgres::Error, target: &str) -> StoreError {
    if e.as_db_error().is_some() {
        map_pg(e, target)
    } else {
        StoreError::Ambiguous(format!(
            "database {target}: the connection failed during COMMIT: {e}"
        ))
    }
}

/// True if `e` is a UNIQUE / PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Maps a failure to get a connection from the pool.
pub(crate) fn map_pool(e: PoolError, target: &str) -> StoreError {
    match e {
        PoolError::Backend(e) => map_pg(e, target),
        PoolError::Closed => StoreError::Closed,
        PoolError::Timeout(_) => StoreError::Transient(format!(
            "database {target}: timed out waiting for a connection"
        )),
        other => StoreError::Transient(format!("database {target}: {other}")),
    }
}
