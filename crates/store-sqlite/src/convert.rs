//! Conversions between store types and SQLite column values.

use windlass_store_api::{InstanceRef, InstanceStatus, StoreError, StoreResult};

/// A sequence number or count as an SQLite integer.
pub(crate) fn to_i64(v: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

/// An SQLite integer read back as a sequence number.
pub(crate) fn to_u64(v: i64, path: &str, what: &str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        path: path.to_string(),
        detail: format!("negative {what} {v}"),
    })
}

/// A status code read back.
pub(crate) fn status(code: i64, path: &str) -> StoreResult<InstanceStatus> {
    u8::try_from(code)
        .ok()
        .and_then(InstanceStatus::from_code)
        .ok_or_else(|| StoreError::Corrupt {
            path: path.to_string(),
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
