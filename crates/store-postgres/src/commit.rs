//! Writes one [`Batch`] in one transaction. Any failing operation returns
//! its error and drops the transaction, which rolls it back, so a failing
//! batch changes nothing. The batch is first planned
//! ([`plan`](windlass_store_api::plan)) so each row is written once; a
//! create writes its instance row and all its history rows in one
//! statement, an append checks and moves the run's sequence and writes its
//! history row in one statement.
//!
//! Concurrency: an append's `UPDATE ... WHERE last_seq = expected` locks
//! the run's row; a second writer with the same expectation waits for the
//! first to commit, then finds the sequence moved and gets
//! [`StoreError::Conflict`]. Two nodes therefore never both append the
//! same events to one run.

use crate::convert::{to_i64, to_u64};
use crate::errors::{commit_error, is_unique_violation, map_pg};
use crate::{pg, table_writes};
use deadpool_postgres::{ClientWrapper, Transaction};
use windlass_store_api::plan::{BatchPlan, CreatePlan, OutboxStep, plan};
use windlass_store_api::{
    Append, Batch, DefinitionRow, NewInstance, OutboxChange, OutboxRow, StoreError, StoreResult,
};

/// Commits `batch` on `conn` (the database `target`).
pub(crate) async fn commit(
    conn: &mut ClientWrapper,
    batch: &Batch,
    target: &str,
) -> StoreResult<()> {
    let BatchPlan {
        creates,
        folded,
        outbox: outbox_steps,
    } = plan(batch);
    let tx = conn.transaction().await.map_err(pg(target))?;
    for d in &batch.definitions {
        put_definition(&tx, d, target).await?;
    }
    for (c, p) in batch.creates.iter().zip(&creates) {
        create(&tx, c, p, target).await?;
    }
    for (a, is_folded) in batch.appends.iter().zip(&folded) {
        if !is_folded {
            append(&tx, a, target).await?;
        }
    }
    for (ch, step) in batch.outbox.iter().zip(&outbox_steps) {
        match step {
            OutboxStep::Write => outbox(&tx, ch, target).await?,
            OutboxStep::CheckAbsent => check_outbox_absent(&tx, ch, target).await?,
            OutboxStep::Skip => {}
        }
    }
    for ch in &batch.timers {
        table_writes::timer(&tx, ch, target).await?;
    }
    for ch in &batch.messages {
        table_writes::message(&tx, ch, target).await?;
    }
    for ch in &batch.dedup {
        table_writes::dedup(&tx, ch, target).await?;
    }
    for ch in &batch.schedules {
        table_writes::schedule(&tx, ch, target).await?;
    }
    tx.commit().await.map_err(|e| commit_error(e, target))
}

/// Maps an insert error: a unique violation means the key exists.
pub(crate) fn insert_err(
    e: tokio_postgres::Error,
    target: &str,
    what: &'static str,
    key: &str,
) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::AlreadyExists {
            what,
            key: key.to_string(),
        }
    } else {
        map_pg(e, target)
    }
}

/// `NotFound` for `what` under `key`.
pub(crate) fn not_found(what: &'static str, key: &str) -> StoreError {
    StoreError::NotFound {
        what,
        key: key.to_string(),
    }
}

/// Runs the cached statement `sql` in `tx` and returns the rows it touched.
pub(crate) async fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let stmt = tx.prepare_cached(sql).await?;
    tx.execute(&stmt, params).await
}

async fn put_definition(tx: &Transaction<'_>, d: &DefinitionRow, t: &str) -> StoreResult<()> {
    let version = i64::from(d.version);
    let n = exec(
        tx,
        "INSERT INTO definitions (key, process_id, version, source, deployed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
        &[&d.key, &d.process_id, &version, &d.source, &d.deployed_at.0],
    )
    .await
    .map_err(pg(t))?;
    if n == 1 {
        return Ok(());
    }
    // deployed_at is not content: the same file deployed twice (two
    // processes, milliseconds apart) is the same definition.
    let stmt = tx
        .prepare_cached(
            "SELECT process_id = $2 AND version = $3 AND source = $4
             FROM definitions WHERE key = $1",
        )
        .await
        .map_err(pg(t))?;
    let same = tx
        .query_opt(&stmt, &[&d.key, &d.process_id, &version, &d.source])
        .await
        .map_err(pg(t))?
        .and_then(|r| r.try_get::<_, bool>(0).ok())
        .unwrap_or(false);
    if same {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists {
            what: "definition",
            key: d.key.clone(),
        })
    }
}

/// Inserts the instance row in its planned final state (appends of the same
/// batch folded in) together with its history rows.
async fn create(tx: &Transaction<'_>, c: &NewInstance, p: &CreatePlan, t: &str) -> StoreResult<()> {
    let r = &c.row;
    let mut firsts = Vec::with_capacity(p.history.len());
    let mut lasts = Vec::with_capacity(p.history.len());
    let mut times = Vec::with_capacity(p.history.len());
    let mut blobs: Vec<&[u8]> = Vec::with_capacity(p.history.len());
    for h in &p.history {
        firsts.push(to_i64(h.first_seq, "sequence")?);
        lasts.push(to_i64(h.last_seq, "sequence")?);
        times.push(h.recorded_at.0);
        blobs.push(&h.blob);
    }
    let status = i16::from(p.status.code());
    let last = to_i64(p.last_seq, "event count")?;
    exec(
        tx,
        "WITH i AS (
             INSERT INTO instances (instance_id, run_id, definition_key, status, business_key,
                 parent_id, parent_run, created_at, updated_at, last_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING pk)
         INSERT INTO history (instance_pk, first_seq, last_seq, recorded_at, events)
         SELECT i.pk, h.f, h.l, h.r, h.e FROM i,
             unnest($11::bigint[], $12::bigint[], $13::bigint[], $14::bytea[]) AS h(f, l, r, e)",
        &[
            &r.instance.id.as_str(),
            &r.instance.run.as_str(),
            &r.definition_key,
            &status,
            &r.business_key,
            &r.parent.as_ref().map(|p| p.id.as_str()),
            &r.parent.as_ref().map(|p| p.run.as_str()),
            &r.created_at.0,
            &p.updated_at.0,
            &last,
            &firsts,
            &lasts,
            &times,
            &blobs,
        ],
    )
    .await
    .map_err(|e| insert_err(e, t, "instance", &r.instance.to_string()))?;
    Ok(())
}

/// Appends to an existing run: moves its last sequence from the expected
/// one and writes the history row, in one statement; when no row moved,
/// finds out whether the run is missing or ahead.
async fn append(tx: &Transaction<'_>, a: &Append, t: &str) -> StoreResult<()> {
    if a.events.is_empty() {
        return Err(StoreError::Invalid(format!(
            "append to instance {} has no events",
            a.instance
        )));
    }
    let expected = to_i64(a.expected_seq, "expected sequence")?;
    let new_last = to_i64(a.expected_seq + a.events.len() as u64, "sequence")?;
    let status = i16::from(a.update.status.code());
    let blob = windlass_store_api::pack_events(&a.events);
    let n = exec(
        tx,
        "WITH u AS (
             UPDATE instances SET last_seq = $4, status = $5, updated_at = $6
             WHERE instance_id = $1 AND run_id = $2 AND last_seq = $3 RETURNING pk)
         INSERT INTO history (instance_pk, first_seq, last_seq, recorded_at, events)
         SELECT pk, $3 + 1, $4, $6, $7 FROM u",
        &[
            &a.instance.id.as_str(),
            &a.instance.run.as_str(),
            &expected,
            &new_last,
            &status,
            &a.update.updated_at.0,
            &blob,
        ],
    )
    .await
    .map_err(pg(t))?;
    if n == 1 {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached("SELECT last_seq FROM instances WHERE instance_id = $1 AND run_id = $2")
        .await
        .map_err(pg(t))?;
    let row = tx
        .query_opt(&stmt, &[&a.instance.id.as_str(), &a.instance.run.as_str()])
        .await
        .map_err(pg(t))?;
    match row {
        None => Err(not_found("instance", &a.instance.to_string())),
        Some(r) => Err(StoreError::Conflict {
            instance: a.instance.clone(),
            expected: a.expected_seq,
            actual: to_u64(crate::convert::get(&r, 0, t)?, t, "last sequence")?,
        }),
    }
}

/// The parameters of an outbox row, in the column order of the statements.
async fn write_outbox_row(
    tx: &Transaction<'_>,
    sql: &str,
    r: &OutboxRow,
) -> Result<u64, tokio_postgres::Error> {
    let attempt = i64::from(r.attempt);
    exec(
        tx,
        sql,
        &[
            &r.key,
            &r.kind,
            &r.instance.as_ref().map(|i| i.id.as_str()),
            &r.instance.as_ref().map(|i| i.run.as_str()),
            &r.payload,
            &r.due_at.0,
            &attempt,
            &r.lease.as_ref().map(|l| l.owner.as_str()),
            &r.lease.as_ref().map(|l| l.expires_at.0),
        ],
    )
    .await
}

/// For an insert the batch also completes: the key must not exist yet.
async fn check_outbox_absent(tx: &Transaction<'_>, ch: &OutboxChange, t: &str) -> StoreResult<()> {
    let OutboxChange::Insert(r) = ch else {
        return outbox(tx, ch, t).await;
    };
    let stmt = tx
        .prepare_cached("SELECT 1 FROM outbox WHERE key = $1")
        .await
        .map_err(pg(t))?;
    let exists = tx
        .query_opt(&stmt, &[&r.key])
        .await
        .map_err(pg(t))?
        .is_some();
    if exists {
        Err(StoreError::AlreadyExists {
            what: "outbox entry",
            key: r.key.clone(),
        })
    } else {
        Ok(())
    }
}

async fn outbox(tx: &Transaction<'_>, ch: &OutboxChange, t: &str) -> StoreResult<()> {
    match ch {
        OutboxChange::Insert(r) => {
            write_outbox_row(
                tx,
                "INSERT INTO outbox (key, kind, instance_id, run_id, payload, due_at, attempt,
                     lease_owner, lease_expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                r,
            )
            .await
            .map_err(|e| insert_err(e, t, "outbox entry", &r.key))?;
        }
        OutboxChange::Update(r) => {
            let n = write_outbox_row(
                tx,
                "UPDATE outbox SET kind = $2, instance_id = $3, run_id = $4, payload = $5,
                     due_at = $6, attempt = $7, lease_owner = $8, lease_expires_at = $9
                 WHERE key = $1",
                r,
            )
            .await
            .map_err(pg(t))?;
            if n == 0 {
                return Err(not_found("outbox entry", &r.key));
            }
        }
        OutboxChange::Complete(k) => {
            let n = exec(tx, "DELETE FROM outbox WHERE key = $1", &[k])
                .await
                .map_err(pg(t))?;
            if n == 0 {
                return Err(not_found("outbox entry", k));
            }
        }
    }
    Ok(())
}
