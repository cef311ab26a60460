//! Reads of the tables around the histories: definitions, outbox, timers,
//! messages, dedup and schedules, each in the order the store traits
//! promise.

use crate::convert::{get, opt_ref, to_u32, to_u64};
use crate::pg;
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use windlass_store_api::{
    DedupHolder, DedupRow, DefinitionRow, InstanceRef, LatestDefinition, Lease, MessageRow,
    OutboxRow, ScheduleRow, StoreResult, TimerRow, Timestamp,
};

/// Runs the cached statement `sql` and converts every row with `convert`.
async fn rows<T>(
    c: &ClientWrapper,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    target: &str,
    convert: impl Fn(&Row, &str) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let stmt = c.prepare_cached(sql).await.map_err(pg(target))?;
    let rows = c.query(&stmt, params).await.map_err(pg(target))?;
    rows.iter().map(|r| convert(r, target)).collect()
}

/// The first row of [`rows`], if any.
async fn first<T>(
    c: &ClientWrapper,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    target: &str,
    convert: impl Fn(&Row, &str) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    Ok(rows(c, sql, params, target, convert)
        .await?
        .into_iter()
        .next())
}

const DEFINITION_COLS: &str = "key, process_id, version, source, deployed_at";

fn definition_row(r: &Row, t: &str) -> StoreResult<DefinitionRow> {
    Ok(DefinitionRow {
        key: get(r, 0, t)?,
        process_id: get(r, 1, t)?,
        version: to_u32(get(r, 2, t)?, t, "definition version")?,
        source: get(r, 3, t)?,
        deployed_at: Timestamp(get(r, 4, t)?),
    })
}

/// One definition.
pub(crate) async fn definition(
    c: &ClientWrapper,
    key: &str,
    t: &str,
) -> StoreResult<Option<DefinitionRow>> {
    let sql = format!("SELECT {DEFINITION_COLS} FROM definitions WHERE key = $1");
    first(c, &sql, &[&key], t, definition_row).await
}

/// Every definition, by `(process_id, version, key)`.
pub(crate) async fn definitions(c: &ClientWrapper, t: &str) -> StoreResult<Vec<DefinitionRow>> {
    let sql =
        format!("SELECT {DEFINITION_COLS} FROM definitions ORDER BY process_id, version, key");
    rows(c, &sql, &[], t, definition_row).await
}

/// The highest version of every process, by process id (no sources).
pub(crate) async fn latest_definitions(
    c: &ClientWrapper,
    t: &str,
) -> StoreResult<Vec<LatestDefinition>> {
    let sql = "SELECT DISTINCT ON (process_id) process_id, version, key FROM definitions \
               ORDER BY process_id, version DESC, key DESC";
    rows(c, sql, &[], t, |r, t| {
        Ok(LatestDefinition {
            process_id: get(r, 0, t)?,
            version: to_u32(get(r, 1, t)?, t, "definition version")?,
            key: get(r, 2, t)?,
        })
    })
    .await
}

const OUTBOX_COLS: &str =
    "key, kind, instance_id, run_id, payload, due_at, attempt, lease_owner, lease_expires_at";

fn outbox_row(r: &Row, t: &str) -> StoreResult<OutboxRow> {
    let owner: Option<String> = get(r, 7, t)?;
    let expires: Option<i64> = get(r, 8, t)?;
    Ok(OutboxRow {
        key: get(r, 0, t)?,
        kind: get(r, 1, t)?,
        instance: opt_ref(get(r, 2, t)?, get(r, 3, t)?),
        payload: get(r, 4, t)?,
        due_at: Timestamp(get(r, 5, t)?),
        attempt: to_u32(get(r, 6, t)?, t, "outbox attempt")?,
        lease: owner.zip(expires).map(|(owner, e)| Lease {
            owner,
            expires_at: Timestamp(e),
        }),
    })
}

/// Every pending outbox row, by `(due_at, key)`.
pub(crate) async fn pending_outbox(c: &ClientWrapper, t: &str) -> StoreResult<Vec<OutboxRow>> {
    let sql = format!("SELECT {OUTBOX_COLS} FROM outbox ORDER BY due_at, key");
    rows(c, &sql, &[], t, outbox_row).await
}

/// The outbox rows of `partitions` and of no partition, by `(due_at, key)`.
pub(crate) async fn pending_outbox_in(
    c: &ClientWrapper,
    partitions: &[i16],
    t: &str,
) -> StoreResult<Vec<OutboxRow>> {
    let sql = format!(
        "SELECT {OUTBOX_COLS} FROM outbox WHERE partition = ANY($1) OR partition IS NULL
         ORDER BY due_at, key"
    );
    rows(c, &sql, &[&partitions], t, outbox_row).await
}

/// The pending outbox rows of `partitions` (or of none) of `kinds`.
pub(crate) async fn pending_outbox_of_kinds_in(
    c: &ClientWrapper,
    partitions: &[i16],
    kinds: &[&str],
    t: &str,
) -> StoreResult<Vec<OutboxRow>> {
    let sql = format!(
        "SELECT {OUTBOX_COLS} FROM outbox
         WHERE (partition = ANY($1) OR partition IS NULL) AND kind = ANY($2)
         ORDER BY due_at, key"
    );
    rows(c, &sql, &[&partitions, &kinds], t, outbox_row).await
}

/// One outbox row.
pub(crate) async fn outbox_entry(
    c: &ClientWrapper,
    key: &str,
    t: &str,
) -> StoreResult<Option<OutboxRow>> {
    let sql = format!("SELECT {OUTBOX_COLS} FROM outbox WHERE key = $1");
    first(c, &sql, &[&key], t, outbox_row).await
}

fn timer_row(r: &Row, t: &str) -> StoreResult<TimerRow> {
    Ok(TimerRow {
        id: get(r, 0, t)?,
        instance: InstanceRef::new(get::<String>(r, 1, t)?, get::<String>(r, 2, t)?),
        due_at: Timestamp(get(r, 3, t)?),
        payload: get(r, 4, t)?,
    })
}

/// Timers due by `until`, by `(due_at, id)`, at most `limit`.
pub(crate) async fn due_timers(
    c: &ClientWrapper,
    until: Timestamp,
    limit: usize,
    t: &str,
) -> StoreResult<Vec<TimerRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = "SELECT id, instance_id, run_id, due_at, payload FROM timers
               WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2";
    rows(c, sql, &[&until.0, &limit], t, timer_row).await
}

/// Timers of `partitions` due by `until`, by `(due_at, id)`, at most `limit`.
pub(crate) async fn due_timers_in(
    c: &ClientWrapper,
    partitions: &[i16],
    until: Timestamp,
    limit: usize,
    t: &str,
) -> StoreResult<Vec<TimerRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = "SELECT id, instance_id, run_id, due_at, payload FROM timers
               WHERE partition = ANY($1) AND due_at <= $2 ORDER BY due_at, id LIMIT $3";
    rows(c, sql, &[&partitions, &until.0, &limit], t, timer_row).await
}

/// Timers of one instance, by `(due_at, id)`.
pub(crate) async fn timers_of(
    c: &ClientWrapper,
    i: &InstanceRef,
    t: &str,
) -> StoreResult<Vec<TimerRow>> {
    let sql = "SELECT id, instance_id, run_id, due_at, payload FROM timers
               WHERE instance_id = $1 AND run_id = $2 ORDER BY due_at, id";
    rows(c, sql, &[&i.id.as_str(), &i.run.as_str()], t, timer_row).await
}

const MESSAGE_COLS: &str =
    "id, name, correlation_key, payload, published_at, expires_at, consumed_at";

fn message_row(r: &Row, t: &str) -> StoreResult<MessageRow> {
    Ok(MessageRow {
        id: get(r, 0, t)?,
        name: get(r, 1, t)?,
        correlation_key: get(r, 2, t)?,
        payload: get(r, 3, t)?,
        published_at: Timestamp(get(r, 4, t)?),
        expires_at: get::<Option<i64>>(r, 5, t)?.map(Timestamp),
        consumed_at: get::<Option<i64>>(r, 6, t)?.map(Timestamp),
    })
}

/// Deliverable messages for a name and correlation key.
pub(crate) async fn messages_for(
    c: &ClientWrapper,
    name: &str,
    key: &str,
    now: Timestamp,
    t: &str,
) -> StoreResult<Vec<MessageRow>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages
         WHERE name = $1 AND correlation_key = $2 AND consumed_at IS NULL
           AND (expires_at IS NULL OR expires_at > $3)
         ORDER BY published_at, id"
    );
    rows(c, &sql, &[&name, &key, &now.0], t, message_row).await
}

/// Every message not expired at `now`, consumed ones included.
pub(crate) async fn live_messages(
    c: &ClientWrapper,
    now: Timestamp,
    t: &str,
) -> StoreResult<Vec<MessageRow>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE expires_at IS NULL OR expires_at > $1
         ORDER BY published_at, id"
    );
    rows(c, &sql, &[&now.0], t, message_row).await
}

fn holder(r: &Row, at: usize, t: &str) -> StoreResult<Option<DedupHolder>> {
    let id: Option<String> = get(r, at, t)?;
    let run: Option<String> = get(r, at + 1, t)?;
    let token: Option<String> = get(r, at + 2, t)?;
    let payload: Option<Vec<u8>> = get(r, at + 3, t)?;
    Ok(match (opt_ref(id, run), token) {
        (Some(instance), Some(token)) => Some(DedupHolder {
            instance,
            token,
            payload: payload.unwrap_or_default(),
        }),
        _ => None,
    })
}

const DEDUP_COLS: &str = "key, running_id, running_run, running_token, running_payload, \
     waiting_id, waiting_run, waiting_token, waiting_payload, updated_at";

fn dedup_row(r: &Row, t: &str) -> StoreResult<DedupRow> {
    Ok(DedupRow {
        key: get(r, 0, t)?,
        running: holder(r, 1, t)?,
        waiting: holder(r, 5, t)?,
        updated_at: Timestamp(get(r, 9, t)?),
    })
}

/// Every dedup entry, by key.
pub(crate) async fn dedup_entries(c: &ClientWrapper, t: &str) -> StoreResult<Vec<DedupRow>> {
    let sql = format!("SELECT {DEDUP_COLS} FROM dedup ORDER BY key");
    rows(c, &sql, &[], t, dedup_row).await
}

/// One dedup entry.
pub(crate) async fn dedup_entry(
    c: &ClientWrapper,
    key: &str,
    t: &str,
) -> StoreResult<Option<DedupRow>> {
    let sql = format!("SELECT {DEDUP_COLS} FROM dedup WHERE key = $1");
    first(c, &sql, &[&key], t, dedup_row).await
}

/// The columns of a schedule row, in [`schedule_row`]'s order.
pub(crate) const SCHEDULE_COLS: &str = "id, process_id, spec, paused, next_fire_at, \
     next_occurrence, last_fire_at, buffered, updated_at";

fn schedule_row(r: &Row, t: &str) -> StoreResult<ScheduleRow> {
    let buffered: Vec<i64> = get(r, 7, t)?;
    Ok(ScheduleRow {
        id: get(r, 0, t)?,
        process_id: get(r, 1, t)?,
        spec: get(r, 2, t)?,
        paused: get(r, 3, t)?,
        next_fire_at: get::<Option<i64>>(r, 4, t)?.map(Timestamp),
        next_occurrence: to_u64(get(r, 5, t)?, t, "schedule occurrence")?,
        last_fire_at: get::<Option<i64>>(r, 6, t)?.map(Timestamp),
        buffered: buffered.into_iter().map(Timestamp).collect(),
        updated_at: Timestamp(get(r, 8, t)?),
    })
}

/// One schedule by id.
pub(crate) async fn schedule(
    c: &ClientWrapper,
    id: &str,
    t: &str,
) -> StoreResult<Option<ScheduleRow>> {
    let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE id = $1");
    first(c, &sql, &[&id], t, schedule_row).await
}

/// Every schedule, by id.
pub(crate) async fn schedules(c: &ClientWrapper, t: &str) -> StoreResult<Vec<ScheduleRow>> {
    let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY id");
    rows(c, &sql, &[], t, schedule_row).await
}
