//! The read queries, run on the reader connection. Each returns rows in the
//! order the store traits promise.

use crate::convert::{opt_ref, status, to_i64, to_u64};
use crate::errors::map_sqlite;
use rusqlite::{Connection, OptionalExtension, Row, params};
use windlass_store_api::{
    DedupHolder, DedupRow, DefinitionRow, HistoryEvent, InstanceQuery, InstanceRef, InstanceRow,
    Lease, MessageRow, OutboxRow, RecoveredInstance, StoreError, StoreResult, TimerRow, Timestamp,
    unpack_events,
};

const INSTANCE_COLS: &str = "pk, instance_id, run_id, definition_key, status, business_key, \
     parent_id, parent_run, created_at, updated_at, last_seq, tally";

/// Raw columns of an instance row (converted after the row is read).
struct RawInstance {
    pk: i64,
    id: String,
    run: String,
    definition_key: String,
    status: i64,
    business_key: Option<String>,
    parent_id: Option<String>,
    parent_run: Option<String>,
    created_at: i64,
    updated_at: i64,
    last_seq: i64,
    tally: Vec<u8>,
}

fn raw_instance(r: &Row<'_>) -> rusqlite::Result<RawInstance> {
    Ok(RawInstance {
        pk: r.get(0)?,
        id: r.get(1)?,
        run: r.get(2)?,
        definition_key: r.get(3)?,
        status: r.get(4)?,
        business_key: r.get(5)?,
        parent_id: r.get(6)?,
        parent_run: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        last_seq: r.get(10)?,
        tally: r.get(11)?,
    })
}

impl RawInstance {
    fn into_row(self, path: &str) -> StoreResult<(i64, InstanceRow)> {
        let row = InstanceRow {
            instance: InstanceRef::new(self.id, self.run),
            definition_key: self.definition_key,
            status: status(self.status, path)?,
            business_key: self.business_key,
            parent: opt_ref(self.parent_id, self.parent_run),
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            last_seq: to_u64(self.last_seq, path, "last sequence")?,
            tally: self.tally,
        };
        Ok((self.pk, row))
    }
}

fn instance_pk(
    conn: &Connection,
    i: &InstanceRef,
    path: &str,
) -> StoreResult<Option<(i64, InstanceRow)>> {
    let sql =
        format!("SELECT {INSTANCE_COLS} FROM instances WHERE instance_id = ?1 AND run_id = ?2");
    let raw = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![i.id.as_str(), i.run.as_str()], raw_instance)
                .optional()
        })
        .map_err(|e| map_sqlite(e, path))?;
    raw.map(|r| r.into_row(path)).transpose()
}

/// The row of one instance run.
pub(crate) fn instance(
    conn: &Connection,
    i: &InstanceRef,
    path: &str,
) -> StoreResult<Option<InstanceRow>> {
    Ok(instance_pk(conn, i, path)?.map(|(_, r)| r))
}

/// The row of the latest run of instance id `id` in the run order: the
/// legacy run `"1"` first, then the other run ids by their text (UUIDv7,
/// creation order). Served by the `UNIQUE (instance_id, run_id)` index.
pub(crate) fn latest_run(
    conn: &Connection,
    id: &str,
    path: &str,
) -> StoreResult<Option<InstanceRow>> {
    let sql = format!(
        "SELECT {INSTANCE_COLS} FROM instances WHERE instance_id = ?1 \
         ORDER BY (run_id <> '1') DESC, run_id DESC LIMIT 1"
    );
    let raw = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params![id], raw_instance).optional())
        .map_err(|e| map_sqlite(e, path))?;
    raw.map(|r| r.into_row(path).map(|(_, row)| row))
        .transpose()
}

/// One stored history row: `count` events from sequence `first`, packed in
/// `blob`, committed at `recorded_at`.
struct HistoryRow<'r> {
    first: u64,
    count: u64,
    recorded_at: Timestamp,
    blob: &'r [u8],
}

/// Reads the columns `first_seq, last_seq, events, recorded_at` of `r`,
/// starting at column `at`, and checks the sequence range.
fn history_row<'r>(r: &'r Row<'_>, at: usize, path: &str) -> StoreResult<HistoryRow<'r>> {
    let sq = |e| map_sqlite(e, path);
    let first = to_u64(r.get(at).map_err(sq)?, path, "sequence")?;
    let last = to_u64(r.get(at + 1).map_err(sq)?, path, "sequence")?;
    let blob = r
        .get_ref(at + 2)
        .map_err(sq)?
        .as_blob()
        .map_err(|e| StoreError::Corrupt {
            path: path.to_string(),
            detail: format!("history blob: {e}"),
        })?;
    let recorded_at = Timestamp(r.get(at + 3).map_err(sq)?);
    let Some(count) = (last + 1).checked_sub(first) else {
        return Err(StoreError::Corrupt {
            path: path.to_string(),
            detail: format!("history row with sequence range {first}..{last}"),
        });
    };
    Ok(HistoryRow {
        first,
        count,
        recorded_at,
        blob,
    })
}

/// Events of the instance with primary key `pk` above `after`, appended to `out`.
fn events_of(
    conn: &Connection,
    pk: i64,
    after: u64,
    path: &str,
    out: &mut Vec<HistoryEvent>,
) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let after_i = to_i64(after, "sequence")?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT first_seq, last_seq, events, recorded_at FROM history
             WHERE instance_pk = ?1 AND last_seq > ?2 ORDER BY first_seq",
        )
        .map_err(sq)?;
    let mut rows = stmt.query(params![pk, after_i]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let h = history_row(r, 0, path)?;
        let (first, start) = (h.first, out.len());
        unpack_events(h.blob, first, h.count, h.recorded_at, path, out)?;
        if first <= after {
            // The cut falls inside this row: drop its older events.
            let skip = usize::try_from(after - first + 1).unwrap_or(usize::MAX);
            out.drain(start..start + skip.min(out.len() - start));
        }
    }
    Ok(())
}

/// The events of `i` above `after`.
pub(crate) fn history(
    conn: &mut Connection,
    i: &InstanceRef,
    after: u64,
    path: &str,
) -> StoreResult<Vec<HistoryEvent>> {
    let tx = conn.transaction().map_err(|e| map_sqlite(e, path))?;
    let (pk, _) = instance_pk(&tx, i, path)?.ok_or_else(|| StoreError::NotFound {
        what: "instance",
        key: i.to_string(),
    })?;
    let mut out = Vec::new();
    events_of(&tx, pk, after, path, &mut out)?;
    Ok(out)
}

/// Instance rows matching `q`.
pub(crate) fn query_instances(
    conn: &Connection,
    q: &InstanceQuery,
    path: &str,
) -> StoreResult<Vec<InstanceRow>> {
    let mut sql = format!("SELECT {INSTANCE_COLS} FROM instances WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |sql: &mut String, cond: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
    };
    use rusqlite::types::Value::{Integer, Text};
    if let Some(id) = &q.id {
        arg(&mut sql, " AND instance_id = ?", Text(id.0.clone()));
    }
    if let Some(d) = &q.definition_key {
        arg(&mut sql, " AND definition_key = ?", Text(d.clone()));
    }
    // Prefixes compare with substr (characters, as Rust's starts_with on
    // the same UTF-8 text): no LIKE, so `%` and `_` in a prefix are plain.
    if let Some(p) = &q.definition_prefix {
        let n = Integer(i64::try_from(p.chars().count()).unwrap_or(i64::MAX));
        arg(&mut sql, " AND substr(definition_key, 1, ?", n);
        arg(&mut sql, ") = ?", Text(p.clone()));
    }
    if let Some(p) = &q.id_prefix {
        let n = Integer(i64::try_from(p.chars().count()).unwrap_or(i64::MAX));
        arg(&mut sql, " AND substr(instance_id, 1, ?", n);
        arg(&mut sql, ") = ?", Text(p.clone()));
    }
    if let Some(s) = q.status {
        arg(&mut sql, " AND status = ?", Integer(i64::from(s.code())));
    }
    if let Some(b) = &q.business_key {
        arg(&mut sql, " AND business_key = ?", Text(b.clone()));
    }
    if let Some(p) = &q.parent {
        arg(&mut sql, " AND parent_id = ?", Text(p.id.0.clone()));
        arg(&mut sql, " AND parent_run = ?", Text(p.run.0.clone()));
    }
    if let Some(t) = q.created_from {
        arg(&mut sql, " AND created_at >= ?", Integer(t.0));
    }
    if let Some(t) = q.created_until {
        arg(&mut sql, " AND created_at < ?", Integer(t.0));
    }
    if let Some(c) = &q.after {
        // Keyset paging: rows after (created_at, id, run) in the result order.
        arg(&mut sql, " AND (created_at > ?", Integer(c.created_at.0));
        arg(&mut sql, " OR (created_at = ?", Integer(c.created_at.0));
        arg(
            &mut sql,
            " AND (instance_id > ?",
            Text(c.instance.id.0.clone()),
        );
        arg(
            &mut sql,
            " OR (instance_id = ?",
            Text(c.instance.id.0.clone()),
        );
        arg(
            &mut sql,
            " AND run_id > ?))))",
            Text(c.instance.run.0.clone()),
        );
    }
    sql.push_str(" ORDER BY created_at, instance_id, run_id");
    if let Some(l) = q.limit {
        arg(
            &mut sql,
            " LIMIT ?",
            Integer(i64::try_from(l).unwrap_or(i64::MAX)),
        );
    }
    let sq = |e| map_sqlite(e, path);
    let mut stmt = conn.prepare_cached(&sql).map_err(sq)?;
    let raws: Vec<RawInstance> = stmt
        .query_map(rusqlite::params_from_iter(args), raw_instance)
        .map_err(sq)?
        .collect::<Result<_, _>>()
        .map_err(sq)?;
    raws.into_iter()
        .map(|r| r.into_row(path).map(|(_, row)| row))
        .collect()
}

/// Every unfinished instance with its history, from one snapshot: one
/// query for the rows, one scan of their history rows in key order.
pub(crate) fn load_unfinished(
    conn: &mut Connection,
    path: &str,
) -> StoreResult<Vec<RecoveredInstance>> {
    let sq = |e| map_sqlite(e, path);
    let tx = conn.transaction().map_err(sq)?;
    let sql = format!(
        "SELECT {INSTANCE_COLS} FROM instances WHERE status IN (0, 1)
         ORDER BY created_at, instance_id, run_id"
    );
    let raws: Vec<RawInstance> = tx
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_map([], raw_instance)?.collect())
        .map_err(sq)?;
    let mut out = Vec::with_capacity(raws.len());
    let mut slot_of_pk = std::collections::HashMap::with_capacity(raws.len());
    for raw in raws {
        let (pk, row) = raw.into_row(path)?;
        slot_of_pk.insert(pk, out.len());
        let events = Vec::with_capacity(usize::try_from(row.last_seq).unwrap_or(0));
        out.push(RecoveredInstance { row, events });
    }
    let mut stmt = tx
        .prepare_cached(
            "SELECT instance_pk, first_seq, last_seq, events, recorded_at FROM history
             WHERE instance_pk IN (SELECT pk FROM instances WHERE status IN (0, 1))
             ORDER BY instance_pk, first_seq",
        )
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let pk: i64 = r.get(0).map_err(sq)?;
        let Some(&slot) = slot_of_pk.get(&pk) else {
            continue;
        };
        let h = history_row(r, 1, path)?;
        unpack_events(
            h.blob,
            h.first,
            h.count,
            h.recorded_at,
            path,
            &mut out[slot].events,
        )?;
    }
    Ok(out)
}

fn definition_row(r: &Row<'_>) -> rusqlite::Result<DefinitionRow> {
    Ok(DefinitionRow {
        key: r.get(0)?,
        process_id: r.get(1)?,
        version: r.get(2)?,
        source: r.get(3)?,
        deployed_at: Timestamp(r.get(4)?),
    })
}

/// One definition.
pub(crate) fn definition(
    conn: &Connection,
    key: &str,
    path: &str,
) -> StoreResult<Option<DefinitionRow>> {
    conn.prepare_cached(
        "SELECT key, process_id, version, source, deployed_at FROM definitions WHERE key = ?1",
    )
    .and_then(|mut s| s.query_row(params![key], definition_row).optional())
    .map_err(|e| map_sqlite(e, path))
}

/// Every definition.
pub(crate) fn definitions(conn: &Connection, path: &str) -> StoreResult<Vec<DefinitionRow>> {
    conn.prepare_cached(
        "SELECT key, process_id, version, source, deployed_at FROM definitions
         ORDER BY process_id, version, key",
    )
    .and_then(|mut s| s.query_map([], definition_row)?.collect())
    .map_err(|e| map_sqlite(e, path))
}

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    let owner: Option<String> = r.get(7)?;
    let expires: Option<i64> = r.get(8)?;
    Ok(OutboxRow {
        key: r.get(0)?,
        kind: r.get(1)?,
        instance: opt_ref(r.get(2)?, r.get(3)?),
        payload: r.get(4)?,
        due_at: Timestamp(r.get(5)?),
        attempt: r.get(6)?,
        lease: owner.zip(expires).map(|(owner, e)| Lease {
            owner,
            expires_at: Timestamp(e),
        }),
    })
}

const OUTBOX_COLS: &str =
    "key, kind, instance_id, run_id, payload, due_at, attempt, lease_owner, lease_expires_at";

/// Every pending outbox row.
pub(crate) fn pending_outbox(conn: &Connection, path: &str) -> StoreResult<Vec<OutboxRow>> {
    conn.prepare_cached(&format!(
        "SELECT {OUTBOX_COLS} FROM outbox ORDER BY due_at, key"
    ))
    .and_then(|mut s| s.query_map([], outbox_row)?.collect())
    .map_err(|e| map_sqlite(e, path))
}

/// One outbox row.
pub(crate) fn outbox_entry(
    conn: &Connection,
    key: &str,
    path: &str,
) -> StoreResult<Option<OutboxRow>> {
    conn.prepare_cached(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE key = ?1"))
        .and_then(|mut s| s.query_row(params![key], outbox_row).optional())
        .map_err(|e| map_sqlite(e, path))
}

fn timer_row(r: &Row<'_>) -> rusqlite::Result<TimerRow> {
    Ok(TimerRow {
        id: r.get(0)?,
        instance: InstanceRef::new(r.get::<_, String>(1)?, r.get::<_, String>(2)?),
        due_at: Timestamp(r.get(3)?),
        payload: r.get(4)?,
    })
}

/// Timers due by `until`.
pub(crate) fn due_timers(
    conn: &Connection,
    until: Timestamp,
    limit: usize,
    path: &str,
) -> StoreResult<Vec<TimerRow>> {
    conn.prepare_cached(
        "SELECT id, instance_id, run_id, due_at, payload FROM timers
         WHERE due_at <= ?1 ORDER BY due_at, id LIMIT ?2",
    )
    .and_then(|mut s| {
        s.query_map(
            params![until.0, i64::try_from(limit).unwrap_or(i64::MAX)],
            timer_row,
        )?
        .collect()
    })
    .map_err(|e| map_sqlite(e, path))
}

/// Timers of one instance.
pub(crate) fn timers_of(
    conn: &Connection,
    i: &InstanceRef,
    path: &str,
) -> StoreResult<Vec<TimerRow>> {
    conn.prepare_cached(
        "SELECT id, instance_id, run_id, due_at, payload FROM timers
         WHERE instance_id = ?1 AND run_id = ?2 ORDER BY due_at, id",
    )
    .and_then(|mut s| {
        s.query_map(params![i.id.as_str(), i.run.as_str()], timer_row)?
            .collect()
    })
    .map_err(|e| map_sqlite(e, path))
}

/// Deliverable messages for a name and correlation key.
pub(crate) fn messages_for(
    conn: &Connection,
    name: &str,
    key: &str,
    now: Timestamp,
    path: &str,
) -> StoreResult<Vec<MessageRow>> {
    conn.prepare_cached(
        "SELECT id, name, correlation_key, payload, published_at, expires_at, consumed_at
         FROM messages
         WHERE name = ?1 AND correlation_key = ?2 AND consumed_at IS NULL
           AND (expires_at IS NULL OR expires_at > ?3)
         ORDER BY published_at, id",
    )
    .and_then(|mut s| {
        s.query_map(params![name, key, now.0], message_row)?
            .collect()
    })
    .map_err(|e| map_sqlite(e, path))
}

/// Every message not expired at `now`, consumed ones included.
pub(crate) fn live_messages(
    conn: &Connection,
    now: Timestamp,
    path: &str,
) -> StoreResult<Vec<MessageRow>> {
    conn.prepare_cached(
        "SELECT id, name, correlation_key, payload, published_at, expires_at, consumed_at
         FROM messages WHERE expires_at IS NULL OR expires_at > ?1
         ORDER BY published_at, id",
    )
    .and_then(|mut s| s.query_map(params![now.0], message_row)?.collect())
    .map_err(|e| map_sqlite(e, path))
}

fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        name: r.get(1)?,
        correlation_key: r.get(2)?,
        payload: r.get(3)?,
        published_at: Timestamp(r.get(4)?),
        expires_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        consumed_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

fn holder(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<DedupHolder>> {
    let id: Option<String> = r.get(at)?;
    let run: Option<String> = r.get(at + 1)?;
    let token: Option<String> = r.get(at + 2)?;
    let payload: Option<Vec<u8>> = r.get(at + 3)?;
    Ok(match (opt_ref(id, run), token) {
        (Some(instance), Some(token)) => Some(DedupHolder {
            instance,
            token,
            payload: payload.unwrap_or_default(),
        }),
        _ => None,
    })
}

/// The columns of a dedup row, in [`dedup_row`]'s order.
const DEDUP_COLUMNS: &str = "key, running_id, running_run, running_token, running_payload, \
     waiting_id, waiting_run, waiting_token, waiting_payload, updated_at";

fn dedup_row(r: &Row<'_>) -> rusqlite::Result<DedupRow> {
    Ok(DedupRow {
        key: r.get(0)?,
        running: holder(r, 1)?,
        waiting: holder(r, 5)?,
        updated_at: Timestamp(r.get(9)?),
    })
}

/// Every dedup entry, by key.
pub(crate) fn dedup_entries(conn: &Connection, path: &str) -> StoreResult<Vec<DedupRow>> {
    conn.prepare_cached(&format!("SELECT {DEDUP_COLUMNS} FROM dedup ORDER BY key"))
        .and_then(|mut s| s.query_map([], dedup_row)?.collect())
        .map_err(|e| map_sqlite(e, path))
}

/// One dedup entry.
pub(crate) fn dedup_entry(
    conn: &Connection,
    key: &str,
    path: &str,
) -> StoreResult<Option<DedupRow>> {
    conn.prepare_cached(&format!("SELECT {DEDUP_COLUMNS} FROM dedup WHERE key = ?1"))
        .and_then(|mut s| s.query_row(params![key], dedup_row).optional())
        .map_err(|e| map_sqlite(e, path))
}
