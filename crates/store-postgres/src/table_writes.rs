//! A batch's changes to the timers, messages, dedup and schedules tables,
//! written inside the batch's transaction (see [`commit`](crate::commit)).

use crate::commit::{exec, insert_err, not_found};
use crate::convert::to_i64;
use crate::pg;
use crate::table_reads::SCHEDULE_COLS;
use deadpool_postgres::Transaction;
use windlass_store_api::{
    DedupChange, DedupHolder, MessageChange, ScheduleChange, StoreResult, TimerChange,
};

/// Deletes the row of `table` whose `column` is `key`; `NotFound` if none.
async fn delete(
    tx: &Transaction<'_>,
    sql: &str,
    key: &str,
    what: &'static str,
    t: &str,
) -> StoreResult<()> {
    let n = exec(tx, sql, &[&key]).await.map_err(pg(t))?;
    if n == 0 {
        Err(not_found(what, key))
    } else {
        Ok(())
    }
}

/// Applies one timer change.
pub(crate) async fn timer(tx: &Transaction<'_>, ch: &TimerChange, t: &str) -> StoreResult<()> {
    match ch {
        TimerChange::Insert(r) => {
            exec(
                tx,
                "INSERT INTO timers (id, instance_id, run_id, due_at, payload)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &r.id,
                    &r.instance.id.as_str(),
                    &r.instance.run.as_str(),
                    &r.due_at.0,
                    &r.payload,
                ],
            )
            .await
            .map_err(|e| insert_err(e, t, "timer", &r.id))?;
            Ok(())
        }
        TimerChange::Delete(id) => {
            delete(tx, "DELETE FROM timers WHERE id = $1", id, "timer", t).await
        }
    }
}

/// Applies one message change.
pub(crate) async fn message(tx: &Transaction<'_>, ch: &MessageChange, t: &str) -> StoreResult<()> {
    match ch {
        MessageChange::Insert(m) => {
            exec(
                tx,
                "INSERT INTO messages
                 (id, name, correlation_key, payload, published_at, expires_at, consumed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &m.id,
                    &m.name,
                    &m.correlation_key,
                    &m.payload,
                    &m.published_at.0,
                    &m.expires_at.map(|x| x.0),
                    &m.consumed_at.map(|x| x.0),
                ],
            )
            .await
            .map_err(|e| insert_err(e, t, "message", &m.id))?;
            Ok(())
        }
        MessageChange::Delete(id) => {
            delete(tx, "DELETE FROM messages WHERE id = $1", id, "message", t).await
        }
        MessageChange::DeleteExpired(at) => {
            exec(
                tx,
                "DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= $1",
                &[&at.0],
            )
            .await
            .map_err(pg(t))?;
            Ok(())
        }
        MessageChange::Consume { id, at, keep_until } => {
            let n = exec(
                tx,
                "UPDATE messages SET consumed_at = $2, expires_at = $3
                 WHERE id = $1 AND consumed_at IS NULL",
                &[id, &at.0, &keep_until.0],
            )
            .await
            .map_err(pg(t))?;
            if n == 0 {
                return Err(not_found("message", id));
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

/// Applies one dedup change (a put replaces the whole entry).
pub(crate) async fn dedup(tx: &Transaction<'_>, ch: &DedupChange, t: &str) -> StoreResult<()> {
    match ch {
        DedupChange::Put(d) => {
            let r = holder_cols(&d.running);
            let w = holder_cols(&d.waiting);
            exec(
                tx,
                "INSERT INTO dedup (key, running_id, running_run, running_token,
                     running_payload, waiting_id, waiting_run, waiting_token, waiting_payload,
                     updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (key) DO UPDATE SET running_id = EXCLUDED.running_id,
                     running_run = EXCLUDED.running_run,
                     running_token = EXCLUDED.running_token,
                     running_payload = EXCLUDED.running_payload,
                     waiting_id = EXCLUDED.waiting_id, waiting_run = EXCLUDED.waiting_run,
                     waiting_token = EXCLUDED.waiting_token,
                     waiting_payload = EXCLUDED.waiting_payload,
                     updated_at = EXCLUDED.updated_at",
                &[
                    &d.key,
                    &r.0,
                    &r.1,
                    &r.2,
                    &r.3,
                    &w.0,
                    &w.1,
                    &w.2,
                    &w.3,
                    &d.updated_at.0,
                ],
            )
            .await
            .map_err(pg(t))?;
            Ok(())
        }
        DedupChange::Delete(k) => {
            delete(tx, "DELETE FROM dedup WHERE key = $1", k, "dedup entry", t).await
        }
    }
}

/// Applies one schedule change (a put replaces the whole row).
pub(crate) async fn schedule(
    tx: &Transaction<'_>,
    ch: &ScheduleChange,
    t: &str,
) -> StoreResult<()> {
    match ch {
        ScheduleChange::Put(r) => {
            let occurrence = to_i64(r.next_occurrence, "schedule occurrence")?;
            let buffered: Vec<i64> = r.buffered.iter().map(|x| x.0).collect();
            let sql = format!(
                "INSERT INTO schedules ({SCHEDULE_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET process_id = EXCLUDED.process_id,
                     spec = EXCLUDED.spec, paused = EXCLUDED.paused,
                     next_fire_at = EXCLUDED.next_fire_at,
                     next_occurrence = EXCLUDED.next_occurrence,
                     last_fire_at = EXCLUDED.last_fire_at, buffered = EXCLUDED.buffered,
                     updated_at = EXCLUDED.updated_at"
            );
            exec(
                tx,
                &sql,
                &[
                    &r.id,
                    &r.process_id,
                    &r.spec,
                    &r.paused,
                    &r.next_fire_at.map(|x| x.0),
                    &occurrence,
                    &r.last_fire_at.map(|x| x.0),
                    &buffered,
                    &r.updated_at.0,
                ],
            )
            .await
            .map_err(pg(t))?;
            Ok(())
        }
        ScheduleChange::Delete(id) => {
            delete(tx, "DELETE FROM schedules WHERE id = $1", id, "schedule", t).await
        }
    }
}
