//! Writes one [`Batch`] in one IMMEDIATE transaction. Any failing operation
//! returns its error and drops the transaction, which rolls it back, so a
//! failing batch changes nothing. The batch is first planned (see
//! [`plan`](windlass_store_api::plan)) so each row is written once.

use crate::convert::to_i64;
use crate::errors::{is_unique_violation, map_sqlite};
use crate::hot::{Hot, Sql};
use rusqlite::{
    Connection, OptionalExtension, Statement, Transaction, TransactionBehavior, params,
};
use windlass_store_api::plan::{BatchPlan, CreatePlan, HistoryRow, OutboxStep, plan};
use windlass_store_api::{
    Append, Batch, DedupChange, DedupHolder, DefinitionRow, MessageChange, NewInstance,
    OutboxChange, OutboxRow, StoreError, StoreResult, TimerChange, Timestamp, pack_events,
};

/// Commits `batch` on `conn` (the database at `path`).
pub(crate) fn commit(conn: &mut Connection, batch: &Batch, path: &str) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let BatchPlan {
        creates,
        folded,
        outbox: outbox_steps,
    } = plan(batch);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sq)?;
    for d in &batch.definitions {
        put_definition(&tx, d, path)?;
    }
    let mut hot = Hot::new(&tx);
    for (c, p) in batch.creates.iter().zip(&creates) {
        create(&mut hot, c, p, path)?;
    }
    for (a, is_folded) in batch.appends.iter().zip(&folded) {
        if !is_folded {
            append(&mut hot, a, path)?;
        }
    }
    for (ch, step) in batch.outbox.iter().zip(&outbox_steps) {
        match step {
            OutboxStep::Write => outbox(&mut hot, ch, path)?,
            OutboxStep::CheckAbsent => check_outbox_absent(&mut hot, ch, path)?,
            OutboxStep::Skip => {}
        }
    }
    drop(hot);
    for ch in &batch.timers {
        timer(&tx, ch, path)?;
    }
    for ch in &batch.messages {
        message(&tx, ch, path)?;
    }
    for ch in &batch.dedup {
        dedup(&tx, ch, path)?;
    }
    for ch in &batch.schedules {
        crate::schedules::write(&tx, ch, path)?;
    }
    tx.commit().map_err(sq)
}

/// Maps an insert error: a unique violation means the key exists.
fn insert_err(e: rusqlite::Error, path: &str, what: &'static str, key: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::AlreadyExists {
            what,
            key: key.to_string(),
        }
    } else {
        map_sqlite(e, path)
    }
}

fn not_found(what: &'static str, key: &str) -> StoreError {
    StoreError::NotFound {
        what,
        key: key.to_string(),
    }
}

fn put_definition(tx: &Transaction<'_>, d: &DefinitionRow, path: &str) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let n = tx
        .prepare_cached(
            "INSERT INTO definitions (key, process_id, version, source, deployed_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                d.key,
                d.process_id,
                d.version,
                d.source,
                d.deployed_at.0
            ])
        })
        .map_err(sq)?;
    if n == 1 {
        return Ok(());
    }
    let same: bool = tx
        .prepare_cached(
            // deployed_at is not content: the same file deployed twice (two
            // processes, milliseconds apart) is the same definition.
            "SELECT process_id = ?2 AND version = ?3 AND source = ?4
             FROM definitions WHERE key = ?1",
        )
        .and_then(|mut s| {
            s.query_row(params![d.key, d.process_id, d.version, d.source], |r| {
                r.get(0)
            })
        })
        .map_err(sq)?;
    if same {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists {
            what: "definition",
            key: d.key.clone(),
        })
    }
}

fn insert_history(
    hot: &mut Hot<'_>,
    pk: i64,
    first: u64,
    events: &[Vec<u8>],
    recorded_at: Timestamp,
    path: &str,
) -> StoreResult<()> {
    let first_i = to_i64(first, "sequence")?;
    let last_i = to_i64(first + events.len() as u64 - 1, "sequence")?;
    let blob = pack_events(events);
    hot.get(Sql::InsertHistory)
        .and_then(|s| s.execute(params![pk, first_i, last_i, blob, recorded_at.0]))
        .map_err(|e| map_sqlite(e, path))?;
    Ok(())
}

fn write_history(hot: &mut Hot<'_>, pk: i64, h: &HistoryRow, path: &str) -> StoreResult<()> {
    let first = to_i64(h.first_seq, "sequence")?;
    let last = to_i64(h.last_seq, "sequence")?;
    hot.get(Sql::InsertHistory)
        .and_then(|s| s.execute(params![pk, first, last, h.blob, h.recorded_at.0]))
        .map_err(|e| map_sqlite(e, path))?;
    Ok(())
}

/// Inserts the instance row in its planned final state (appends of the same
/// batch folded in) and its history rows.
///
/// No `RETURNING` here or in [`append`]: SQLite runs a `RETURNING` statement
/// through a fresh ephemeral table and a statement journal (a copy of every
/// page it touches), which cost more than the write itself. `pk` is the
/// rowid, so `last_insert_rowid` gives it.
fn create(hot: &mut Hot<'_>, c: &NewInstance, p: &CreatePlan, path: &str) -> StoreResult<()> {
    let r = &c.row;
    let last = to_i64(p.last_seq, "event count")?;
    hot.get(Sql::InsertInstance)
        .and_then(|s| {
            s.execute(params![
                r.instance.id.as_str(),
                r.instance.run.as_str(),
                r.definition_key,
                p.status.code(),
                r.business_key,
                r.parent.as_ref().map(|p| p.id.as_str()),
                r.parent.as_ref().map(|p| p.run.as_str()),
                r.created_at.0,
                p.updated_at.0,
                last,
                p.tally
            ])
        })
        .map_err(|e| insert_err(e, path, "instance", &r.instance.to_string()))?;
    let pk = hot.conn().last_insert_rowid();
    for h in &p.history {
        write_history(hot, pk, h, path)?;
    }
    Ok(())
}

/// Appends to an existing run: looks the row up by its unique key, checks
/// the expected sequence, then updates it by primary key.
fn append(hot: &mut Hot<'_>, a: &Append, path: &str) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    if a.events.is_empty() {
        return Err(StoreError::Invalid(format!(
            "append to instance {} has no events",
            a.instance
        )));
    }
    let expected = to_i64(a.expected_seq, "expected sequence")?;
    let new_last = to_i64(a.expected_seq + a.events.len() as u64, "sequence")?;
    let found: Option<(i64, i64)> = hot
        .get(Sql::SelectInstance)
        .and_then(|s| {
            s.query_row(
                params![a.instance.id.as_str(), a.instance.run.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
        .map_err(sq)?;
    let pk = match found {
        None => return Err(not_found("instance", &a.instance.to_string())),
        Some((pk, actual)) if actual == expected => pk,
        Some((_, actual)) => {
            return Err(StoreError::Conflict {
                instance: a.instance.clone(),
                expected: a.expected_seq,
                actual: u64::try_from(actual).unwrap_or(0),
            });
        }
    };
    hot.get(Sql::UpdateInstance)
        .and_then(|s| {
            s.execute(params![
                new_last,
                a.update.status.code(),
                a.update.updated_at.0,
                pk,
                a.update.tally
            ])
        })
        .map_err(sq)?;
    insert_history(
        hot,
        pk,
        a.expected_seq + 1,
        &a.events,
        a.update.updated_at,
        path,
    )
}

fn write_outbox_row(stmt: &mut Statement<'_>, r: &OutboxRow) -> rusqlite::Result<usize> {
    stmt.execute(params![
        r.key,
        r.kind,
        r.instance.as_ref().map(|i| i.id.as_str()),
        r.instance.as_ref().map(|i| i.run.as_str()),
        r.payload,
        r.due_at.0,
        r.attempt,
        r.lease.as_ref().map(|l| l.owner.as_str()),
        r.lease.as_ref().map(|l| l.expires_at.0),
    ])
}

/// For an insert the batch also completes: the key must not exist yet.
fn check_outbox_absent(hot: &mut Hot<'_>, ch: &OutboxChange, path: &str) -> StoreResult<()> {
    let OutboxChange::Insert(r) = ch else {
        return outbox(hot, ch, path);
    };
    let exists = hot
        .get(Sql::OutboxExists)
        .and_then(|s| s.exists(params![r.key]))
        .map_err(|e| map_sqlite(e, path))?;
    if exists {
        Err(StoreError::AlreadyExists {
            what: "outbox entry",
            key: r.key.clone(),
        })
    } else {
        Ok(())
    }
}

fn outbox(hot: &mut Hot<'_>, ch: &OutboxChange, path: &str) -> StoreResult<()> {
    match ch {
        OutboxChange::Insert(r) => {
            hot.get(Sql::InsertOutbox)
                .and_then(|s| write_outbox_row(s, r))
                .map_err(|e| insert_err(e, path, "outbox entry", &r.key))?;
        }
        OutboxChange::Update(r) => {
            let n = hot
                .get(Sql::UpdateOutbox)
                .and_then(|s| write_outbox_row(s, r))
                .map_err(|e| map_sqlite(e, path))?;
            if n == 0 {
                return Err(not_found("outbox entry", &r.key));
            }
        }
        OutboxChange::Complete(k) => {
            let n = hot
                .get(Sql::DeleteOutbox)
                .and_then(|s| s.execute(params![k]))
                .map_err(|e| map_sqlite(e, path))?;
            if n == 0 {
                return Err(not_found("outbox entry", k));
            }
        }
    }
    Ok(())
}

fn delete(
    tx: &Transaction<'_>,
    sql: &str,
    key: &str,
    what: &'static str,
    path: &str,
) -> StoreResult<()> {
    let n = tx
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(params![key]))
        .map_err(|e| map_sqlite(e, path))?;
    if n == 0 {
        Err(not_found(what, key))
    } else {
        Ok(())
    }
}

fn timer(tx: &Transaction<'_>, ch: &TimerChange, path: &str) -> StoreResult<()> {
    match ch {
        TimerChange::Insert(t) => {
            tx.prepare_cached(
                "INSERT INTO timers (id, instance_id, run_id, due_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    t.id,
                    t.instance.id.as_str(),
                    t.instance.run.as_str(),
                    t.due_at.0,
                    t.payload
                ])
            })
            .map_err(|e| insert_err(e, path, "timer", &t.id))?;
            Ok(())
        }
        TimerChange::Delete(id) => {
            delete(tx, "DELETE FROM timers WHERE id = ?1", id, "timer", path)
        }
    }
}

fn message(tx: &Transaction<'_>, ch: &MessageChange, path: &str) -> StoreResult<()> {
    match ch {
        MessageChange::Insert(m) => {
            tx.prepare_cached(
                "INSERT INTO messages
                 (id, name, correlation_key, payload, published_at, expires_at, consumed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    m.id,
                    m.name,
                    m.correlation_key,
                    m.payload,
                    m.published_at.0,
                    m.expires_at.map(|t| t.0),
                    m.consumed_at.map(|t| t.0)
                ])
            })
            .map_err(|e| insert_err(e, path, "message", &m.id))?;
            Ok(())
        }
        MessageChange::Delete(id) => delete(
            tx,
            "DELETE FROM messages WHERE id = ?1",
            id,
            "message",
            path,
        ),
        MessageChange::DeleteExpired(t) => {
            tx.prepare_cached(
                "DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?1",
            )
            .and_then(|mut s| s.execute(params![t.0]))
            .map_err(|e| map_sqlite(e, path))?;
            Ok(())
        }
        MessageChange::Consume { id, at, keep_until } => {
            let n = tx
                .prepare_cached(
                    "UPDATE messages SET consumed_at = ?2, expires_at = ?3
                     WHERE id = ?1 AND consumed_at IS NULL",
                )
                .and_then(|mut s| s.execute(params![id, at.0, keep_until.0]))
                .map_err(|e| map_sqlite(e, path))?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: "message",
                    key: id.clone(),
                });
            }
            Ok(())
        }
    }
}

type HolderCols<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a [u8]>,
);

fn holder_cols(h: &Option<DedupHolder>) -> HolderCols<'_> {
    match h {
        Some(h) => (
            Some(h.instance.id.as_str()),
            Some(h.instance.run.as_str()),
            Some(h.token.as_str()),
            Some(h.payload.as_slice()),
        ),
        None => (None, None, None, None),
    }
}

fn dedup(tx: &Transaction<'_>, ch: &DedupChange, path: &str) -> StoreResult<()> {
    match ch {
        DedupChange::Put(d) => {
            let r = holder_cols(&d.running);
            let w = holder_cols(&d.waiting);
            tx.prepare_cached(
                "INSERT OR REPLACE INTO dedup (key, running_id, running_run, running_token,
                     running_payload, waiting_id, waiting_run, waiting_token, waiting_payload,
                     updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    d.key,
                    r.0,
                    r.1,
                    r.2,
                    r.3,
                    w.0,
                    w.1,
                    w.2,
                    w.3,
                    d.updated_at.0
                ])
            })
            .map_err(|e| map_sqlite(e, path))?;
            Ok(())
        }
        DedupChange::Delete(k) => delete(
            tx,
            "DELETE FROM dedup WHERE key = ?1",
            k,
            "dedup entry",
            path,
        ),
    }
}
