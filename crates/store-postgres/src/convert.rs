//! Conversions between store types and PostgreSQL column values. Columns
//! are read with [`get`], which reports a column of an unexpected type or an
//! unexpected NULL as a damaged database instead of panicking.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use windlass_store_api::{
    InstanceRef, InstanceStatus, Partition, PartitionSet, StoreError, StoreResult,
};

/// Column `i` of `r`.
pub(crate) fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize, target: &str) -> StoreResult<T> {
    r.try_get(i).map_err(|e| StoreError::Corrupt {
        path: target.to_string(),
        detail: format!("column {i}: {e}"),
    })
}

/// A sequence number, count or `u32` as a PostgreSQL `BIGINT`.
pub(crate) fn to_i64(v: impl Into<u64>, what: &str) -> StoreResult<i64> {
    let v = v.into();
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

/// A `BIGINT` read back as a sequence number.
pub(crate) fn to_u64(v: i64, target: &str, what: &str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        path: target.to_string(),
        detail: format!("negative {what} {v}"),
    })
}

/// A `BIGINT` read back as a `u32` (versions, attempts).
pub(crate) fn to_u32(v: i64, target: &str, what: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        path: target.to_string(),
        detail: format!("{what} {v} out of range"),
    })
}

/// A status code read back.
pub(crate) fn status(code: i16, target: &str) -> StoreResult<InstanceStatus> {
    u8::try_from(code)
        .ok()
        .and_then(InstanceStatus::from_code)
        .ok_or_else(|| StoreError::Corrupt {
            path: target.to_string(),
            detail: format!("unknown status code {code}"),
        })
}

/// An optional instance ref from two nullable columns.
pub(crate) fn opt_ref(id: Option<String>, run: Option<String>) -> Option<InstanceRef> {
    match (id, run) {
        (Some(id), Some(run)) => Some(InstanceRef::new(id, run)),
        _ => None,
    }
}

/// The `partition` column's value for `p` (schema version 4; partitions
/// are below 256, so they fit a `SMALLINT`).
pub(crate) fn partition_column(p: Partition) -> i16 {
    i16::try_from(p.0).unwrap_or(i16::MAX)
}

/// The `partition` column values of every partition in `set`.
pub(crate) fn partition_columns(set: &PartitionSet) -> Vec<i16> {
    set.iter().map(partition_column).collect()
}
