//! The `schedules` table (schema version 4): writes inside a batch's
//! transaction and the reads of [`ScheduleRead`](windlass_store_api::ScheduleRead).

use crate::convert::{to_i64, to_u64};
use crate::errors::map_sqlite;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use windlass_store_api::{ScheduleChange, ScheduleRow, StoreError, StoreResult, Timestamp};

const COLS: &str = "id, process_id, spec, paused, next_fire_at, next_occurrence, last_fire_at, \
     buffered, updated_at";

/// Applies one schedule change of a batch.
pub(crate) fn write(tx: &Transaction<'_>, ch: &ScheduleChange, path: &str) -> StoreResult<()> {
    match ch {
        ScheduleChange::Put(r) => {
            let occurrence = to_i64(r.next_occurrence, "schedule occurrence")?;
            tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO schedules ({COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    r.id,
                    r.process_id,
                    r.spec,
                    r.paused,
                    r.next_fire_at.map(|t| t.0),
                    occurrence,
                    r.last_fire_at.map(|t| t.0),
                    pack_times(&r.buffered),
                    r.updated_at.0,
                ])
            })
            .map_err(|e| map_sqlite(e, path))?;
            Ok(())
        }
        ScheduleChange::Delete(id) => {
            let n = tx
                .prepare_cached("DELETE FROM schedules WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id]))
                .map_err(|e| map_sqlite(e, path))?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: "schedule",
                    key: id.clone(),
                });
            }
            Ok(())
        }
    }
}

/// Raw columns of a schedule row (converted after the row is read).
struct Raw {
    id: String,
    process_id: String,
    spec: Vec<u8>,
    paused: bool,
    next_fire_at: Option<i64>,
    next_occurrence: i64,
    last_fire_at: Option<i64>,
    buffered: Vec<u8>,
    updated_at: i64,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        id: r.get(0)?,
        process_id: r.get(1)?,
        spec: r.get(2)?,
        paused: r.get(3)?,
        next_fire_at: r.get(4)?,
        next_occurrence: r.get(5)?,
        last_fire_at: r.get(6)?,
        buffered: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn convert(r: Raw, path: &str) -> StoreResult<ScheduleRow> {
    Ok(ScheduleRow {
        next_occurrence: to_u64(r.next_occurrence, path, "schedule occurrence")?,
        buffered: unpack_times(&r.buffered, &r.id, path)?,
        id: r.id,
        process_id: r.process_id,
        spec: r.spec,
        paused: r.paused,
        next_fire_at: r.next_fire_at.map(Timestamp),
        last_fire_at: r.last_fire_at.map(Timestamp),
        updated_at: Timestamp(r.updated_at),
    })
}

/// One schedule by id.
pub(crate) fn one(conn: &Connection, id: &str, path: &str) -> StoreResult<Option<ScheduleRow>> {
    let raw = conn
        .prepare_cached(&format!("SELECT {COLS} FROM schedules WHERE id = ?1"))
        .and_then(|mut s| s.query_row(params![id], raw).optional())
        .map_err(|e| map_sqlite(e, path))?;
    raw.map(|r| convert(r, path)).transpose()
}

/// Every schedule, ordered by id.
pub(crate) fn all(conn: &Connection, path: &str) -> StoreResult<Vec<ScheduleRow>> {
    let rows = conn
        .prepare_cached(&format!("SELECT {COLS} FROM schedules ORDER BY id"))
        .and_then(|mut s| s.query_map([], raw)?.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| map_sqlite(e, path))?;
    rows.into_iter().map(|r| convert(r, path)).collect()
}

fn pack_times(times: &[Timestamp]) -> Vec<u8> {
    times.iter().flat_map(|t| t.0.to_le_bytes()).collect()
}

fn unpack_times(bytes: &[u8], id: &str, path: &str) -> StoreResult<Vec<Timestamp>> {
    if !bytes.len().is_multiple_of(8) {
        return Err(StoreError::Corrupt {
            path: path.to_string(),
            detail: format!(
                "schedule '{id}': buffered fires take {} bytes, not a multiple of 8",
                bytes.len()
            ),
        });
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Timestamp(i64::from_le_bytes(b))
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buffered_times_round_trip_and_damage_is_named() {
        let times = [Timestamp(1), Timestamp(-5), Timestamp(i64::MAX)];
        let packed = pack_times(&times);
        assert_eq!(unpack_times(&packed, "s", "p").unwrap(), times);
        let err = unpack_times(&packed[..7], "s", "p").unwrap_err();
        assert!(err.to_string().contains("schedule 's'"), "{err}");
    }
}
