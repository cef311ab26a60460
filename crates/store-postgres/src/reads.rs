//! Reads of the instance index and histories, each in the order the store
//! traits promise. A read is one statement (one snapshot) except
//! [`load_unfinished`], which reads in one repeatable-read transaction.

use crate::convert::{get, opt_ref, status, to_i64, to_u64};
use crate::pg;
use deadpool_postgres::ClientWrapper;
use std::collections::HashMap;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use windlass_store_api::{
    HistoryEvent, InstanceQuery, InstanceRef, InstanceRow, RecoveredInstance, StoreError,
    StoreResult, Timestamp, unpack_events,
};

const INSTANCE_COLS: &str = "pk, instance_id, run_id, definition_key, status, business_key, \
     parent_id, parent_run, created_at, updated_at, last_seq, tally";

/// The primary key and row of an instance read with [`INSTANCE_COLS`].
fn instance_row(r: &Row, target: &str) -> StoreResult<(i64, InstanceRow)> {
    let g = |i| -> StoreResult<String> { get(r, i, target) };
    let row = InstanceRow {
        instance: InstanceRef::new(g(1)?, g(2)?),
        definition_key: g(3)?,
        status: status(get(r, 4, target)?, target)?,
        business_key: get(r, 5, target)?,
        parent: opt_ref(get(r, 6, target)?, get(r, 7, target)?),
        created_at: Timestamp(get(r, 8, target)?),
        updated_at: Timestamp(get(r, 9, target)?),
        last_seq: to_u64(get(r, 10, target)?, target, "last sequence")?,
        tally: get(r, 11, target)?,
    };
    Ok((get(r, 0, target)?, row))
}

/// The row of one instance run.
pub(crate) async fn instance(
    c: &ClientWrapper,
    i: &InstanceRef,
    target: &str,
) -> StoreResult<Option<InstanceRow>> {
    let sql =
        format!("SELECT {INSTANCE_COLS} FROM instances WHERE instance_id = $1 AND run_id = $2");
    let stmt = c.prepare_cached(&sql).await.map_err(pg(target))?;
    let row = c
        .query_opt(&stmt, &[&i.id.as_str(), &i.run.as_str()])
        .await
        .map_err(pg(target))?;
    row.map(|r| instance_row(&r, target).map(|(_, row)| row))
        .transpose()
}

/// The row of the latest run of `id` in the run order: the legacy run `"1"`
/// first, then the other run ids by their text (UUIDv7, creation order).
pub(crate) async fn latest_run(
    c: &ClientWrapper,
    id: &str,
    target: &str,
) -> StoreResult<Option<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLS} FROM instances WHERE instance_id = $1 \
         ORDER BY (run_id <> '1') DESC, run_id DESC LIMIT 1"
    );
    let stmt = c.prepare_cached(&sql).await.map_err(pg(target))?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg(target))?;
    row.map(|r| instance_row(&r, target).map(|(_, row)| row))
        .transpose()
}

/// Unpacks one history row (`first_seq, last_seq, recorded_at, events` from
/// column `at`) into `out`, leaving out events at or below `after`.
fn unpack_row(
    r: &Row,
    at: usize,
    after: u64,
    target: &str,
    out: &mut Vec<HistoryEvent>,
) -> StoreResult<()> {
    let first = to_u64(get(r, at, target)?, target, "sequence")?;
    let last = to_u64(get(r, at + 1, target)?, target, "sequence")?;
    let recorded_at = Timestamp(get(r, at + 2, target)?);
    let blob: &[u8] = get(r, at + 3, target)?;
    let Some(count) = (last + 1).checked_sub(first) else {
        return Err(StoreError::Corrupt {
            path: target.to_string(),
            detail: format!("history row with sequence range {first}..{last}"),
        });
    };
    let start = out.len();
    unpack_events(blob, first, count, recorded_at, target, out)?;
    if first <= after {
        // The cut falls inside this row: drop its older events.
        let skip = usize::try_from(after - first + 1).unwrap_or(usize::MAX);
        out.drain(start..start + skip.min(out.len() - start));
    }
    Ok(())
}

/// The events of `i` above `after`; `NotFound` if the run does not exist.
pub(crate) async fn history(
    c: &ClientWrapper,
    i: &InstanceRef,
    after: u64,
    target: &str,
) -> StoreResult<Vec<HistoryEvent>> {
    let after_i = to_i64(after, "sequence")?;
    // One statement: the instance's existence and its rows in one snapshot
    // (the LEFT JOIN gives one row with NULLs for a run without events).
    let stmt = c
        .prepare_cached(
            "SELECT h.first_seq, h.last_seq, h.recorded_at, h.events
             FROM instances i LEFT JOIN history h
               ON h.instance_pk = i.pk AND h.last_seq > $3
             WHERE i.instance_id = $1 AND i.run_id = $2
             ORDER BY h.first_seq",
        )
        .await
        .map_err(pg(target))?;
    let rows = c
        .query(&stmt, &[&i.id.as_str(), &i.run.as_str(), &after_i])
        .await
        .map_err(pg(target))?;
    if rows.is_empty() {
        return Err(StoreError::NotFound {
            what: "instance",
            key: i.to_string(),
        });
    }
    let mut out = Vec::new();
    for r in &rows {
        if get::<Option<i64>>(r, 0, target)?.is_some() {
            unpack_row(r, 0, after, target, &mut out)?;
        }
    }
    Ok(out)
}

/// Instance rows matching `q`, ordered by `(created_at, id, run)`.
pub(crate) async fn query_instances(
    c: &ClientWrapper,
    q: &InstanceQuery,
    target: &str,
) -> StoreResult<Vec<InstanceRow>> {
    let mut sql = format!("SELECT {INSTANCE_COLS} FROM instances WHERE TRUE");
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut arg = |sql: &mut String, cond: &str, v: Box<dyn ToSql + Sync + Send>| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("${}", args.len())));
    };
    if let Some(id) = &q.id {
        arg(&mut sql, " AND instance_id = ?", Box::new(id.0.clone()));
    }
    if let Some(d) = &q.definition_key {
        arg(&mut sql, " AND definition_key = ?", Box::new(d.clone()));
    }
    // starts_with, not LIKE: `%` and `_` in a prefix are plain characters.
    if let Some(p) = &q.definition_prefix {
        arg(
            &mut sql,
            " AND starts_with(definition_key, ?)",
            Box::new(p.clone()),
        );
    }
    if let Some(p) = &q.id_prefix {
        arg(
            &mut sql,
            " AND starts_with(instance_id, ?)",
            Box::new(p.clone()),
        );
    }
    if let Some(s) = q.status {
        arg(&mut sql, " AND status = ?", Box::new(i16::from(s.code())));
    }
    if let Some(b) = &q.business_key {
        arg(&mut sql, " AND business_key = ?", Box::new(b.clone()));
    }
    if let Some(p) = &q.parent {
        arg(&mut sql, " AND parent_id = ?", Box::new(p.id.0.clone()));
        arg(&mut sql, " AND parent_run = ?", Box::new(p.run.0.clone()));
    }
    if let Some(t) = q.created_from {
        arg(&mut sql, " AND created_at >= ?", Box::new(t.0));
    }
    if let Some(t) = q.created_until {
        arg(&mut sql, " AND created_at < ?", Box::new(t.0));
    }
    if let Some(cur) = &q.after {
        // Keyset paging: rows after (created_at, id, run) in the result order.
        arg(
            &mut sql,
            " AND (created_at, instance_id, run_id) > (?",
            Box::new(cur.created_at.0),
        );
        arg(&mut sql, ", ?", Box::new(cur.instance.id.0.clone()));
        arg(&mut sql, ", ?)", Box::new(cur.instance.run.0.clone()));
    }
    sql.push_str(" ORDER BY created_at, instance_id, run_id");
    if let Some(l) = q.limit {
        arg(
            &mut sql,
            " LIMIT ?",
            Box::new(i64::try_from(l).unwrap_or(i64::MAX)),
        );
    }
    let stmt = c.prepare_cached(&sql).await.map_err(pg(target))?;
    let params: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = c.query(&stmt, &params).await.map_err(pg(target))?;
    rows.iter()
        .map(|r| instance_row(r, target).map(|(_, row)| row))
        .collect()
}

/// Every unfinished instance with its history, from one snapshot: one
/// query for the rows, one for their history rows in key order.
pub(crate) async fn load_unfinished(
    c: &mut ClientWrapper,
    partitions: Option<&[i16]>,
    target: &str,
) -> StoreResult<Vec<RecoveredInstance>> {
    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg(target))?;
    // Scoped to partitions (`$1`) or not: the same statements, with or
    // without the filter.
    let (filter, history_filter, params): (&str, &str, Vec<&(dyn ToSql + Sync)>) = match &partitions
    {
        Some(p) => (
            "AND partition = ANY($1)",
            "AND i.partition = ANY($1)",
            vec![p],
        ),
        None => ("", "", Vec::new()),
    };
    let sql = format!(
        "SELECT {INSTANCE_COLS} FROM instances WHERE status IN (0, 1) {filter}
         ORDER BY created_at, instance_id, run_id"
    );
    let rows = tx.query(sql.as_str(), &params).await.map_err(pg(target))?;
    let mut out = Vec::with_capacity(rows.len());
    let mut slot_of_pk = HashMap::with_capacity(rows.len());
    for r in &rows {
        let (pk, row) = instance_row(r, target)?;
        slot_of_pk.insert(pk, out.len());
        let events = Vec::with_capacity(usize::try_from(row.last_seq).unwrap_or(0));
        out.push(RecoveredInstance { row, events });
    }
    let sql = format!(
        "SELECT h.instance_pk, h.first_seq, h.last_seq, h.recorded_at, h.events
         FROM history h JOIN instances i ON i.pk = h.instance_pk
         WHERE i.status IN (0, 1) {history_filter}
         ORDER BY h.instance_pk, h.first_seq"
    );
    let history = tx.query(sql.as_str(), &params).await.map_err(pg(target))?;
    for r in &history {
        let pk: i64 = get(r, 0, target)?;
        if let Some(slot) = slot_of_pk.get(&pk).and_then(|&s| out.get_mut(s)) {
            unpack_row(r, 1, 0, target, &mut slot.events)?;
        }
    }
    tx.commit().await.map_err(pg(target))?;
    Ok(out)
}
