//! A planned [`Batch`] as the list of statements that write it, in batch
//! order: each with its SQL, its parameters (owned, moved out of the batch)
//! and how its outcome is judged ([`Check`]). [`commit`](crate::commit)
//! sends them all in one pipeline.

use crate::convert::to_i64;
use tokio_postgres::types::ToSql;
use windlass_store_api::plan::{BatchPlan, OutboxStep};
use windlass_store_api::{
    Batch, DedupChange, DedupHolder, InstanceRef, MessageChange, OutboxChange, OutboxRow,
    ScheduleChange, StoreResult, TimerChange, pack_events,
};

/// A parameter of a statement.
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

/// How the outcome of one statement is judged.
#[derive(Debug)]
pub(crate) enum Check {
    /// Any row count is fine.
    Any,
    /// An insert: a unique violation means the key exists.
    Insert { what: &'static str, key: String },
    /// An update or delete: no row touched means the key does not exist.
    Touch { what: &'static str, key: String },
    /// A lookup: a row found means the key exists.
    Absent { what: &'static str, key: String },
    /// A definition put: no row means another definition has the key.
    Definition { key: String },
    /// An append: no row means the run is missing or its sequence moved on.
    Append {
        instance: InstanceRef,
        expected: u64,
    },
    /// The lease read a fenced batch starts with: its epoch must be this
    /// one (see `lease.rs`). `node`: the row is a node's lease under
    /// partitioned ownership (`node_lease.rs`), whose row names the node
    /// itself, not who took over.
    Fence { epoch: i64, node: bool },
}

/// One statement of a batch.
pub(crate) struct Op {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param>,
    pub(crate) check: Check,
}

impl Op {
    pub(crate) fn new(sql: &'static str, params: Vec<Param>, check: Check) -> Op {
        Op { sql, params, check }
    }
}

const PUT_DEFINITION: &str =
    "INSERT INTO definitions (key, process_id, version, source, deployed_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
     WHERE definitions.process_id = EXCLUDED.process_id
       AND definitions.version = EXCLUDED.version AND definitions.source = EXCLUDED.source";

const CREATE: &str = "WITH i AS (
         INSERT INTO instances (instance_id, run_id, definition_key, status, business_key,
             parent_id, parent_run, created_at, updated_at, last_seq, tally, partition)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $15, $16) RETURNING pk)
     INSERT INTO history (instance_pk, first_seq, last_seq, recorded_at, events)
     SELECT i.pk, h.f, h.l, h.r, h.e FROM i,
         unnest($11::bigint[], $12::bigint[], $13::bigint[], $14::bytea[]) AS h(f, l, r, e)";

/// Moves the run's last sequence from the expected one and writes the
/// history row; answers one row: how many rows moved (0 or 1) and the run's
/// last sequence as the statement found it (NULL: no such run), which
/// tells a conflict from a missing run without another round trip. (All
/// parts of the statement see the transaction as it was when the statement
/// began, the batch's earlier writes included. A writer that committed
/// while this statement waited for the row's lock is not seen there: the
/// sequence then reads as the expected one, and [`LAST_SEQ`] asks again.)
const APPEND: &str = "WITH u AS (
         UPDATE instances SET last_seq = $4, status = $5, updated_at = $6, tally = $8
         WHERE instance_id = $1 AND run_id = $2 AND last_seq = $3 RETURNING pk),
     h AS (
         INSERT INTO history (instance_pk, first_seq, last_seq, recorded_at, events)
         SELECT pk, $3 + 1, $4, $6, $7 FROM u RETURNING 1)
     SELECT (SELECT count(*) FROM h),
            (SELECT last_seq FROM instances WHERE instance_id = $1 AND run_id = $2)";

/// The last sequence of a run, read afresh.
pub(crate) const LAST_SEQ: &str =
    "SELECT last_seq FROM instances WHERE instance_id = $1 AND run_id = $2";

const OUTBOX_INSERT: &str = "INSERT INTO outbox (key, kind, instance_id, run_id, payload, due_at,
         attempt, lease_owner, lease_expires_at, partition)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const OUTBOX_UPDATE: &str = "UPDATE outbox SET kind = $2, instance_id = $3, run_id = $4,
         payload = $5, due_at = $6, attempt = $7, lease_owner = $8, lease_expires_at = $9,
         partition = $10
     WHERE key = $1";
const OUTBOX_DELETE: &str = "DELETE FROM outbox WHERE key = $1";
const OUTBOX_EXISTS: &str = "SELECT 1 FROM outbox WHERE key = $1";

const TIMER_INSERT: &str =
    "INSERT INTO timers (id, partition, instance_id, run_id, due_at, payload)
     VALUES ($1, $2, $3, $4, $5, $6)";
const TIMER_DELETE: &str = "DELETE FROM timers WHERE id = $1";

const MESSAGE_INSERT: &str = "INSERT INTO messages
         (id, name, correlation_key, payload, published_at, expires_at, consumed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const MESSAGE_DELETE: &str = "DELETE FROM messages WHERE id = $1";
const MESSAGE_DELETE_EXPIRED: &str =
    "DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= $1";
const MESSAGE_CONSUME: &str = "UPDATE messages SET consumed_at = $2, expires_at = $3
     WHERE id = $1 AND consumed_at IS NULL";

const DEDUP_PUT: &str = "INSERT INTO dedup (key, running_id, running_run, running_token,
         running_payload, waiting_id, waiting_run, waiting_token, waiting_payload, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (key) DO UPDATE SET running_id = EXCLUDED.running_id,
         running_run = EXCLUDED.running_run, running_token = EXCLUDED.running_token,
         running_payload = EXCLUDED.running_payload, waiting_id = EXCLUDED.waiting_id,
         waiting_run = EXCLUDED.waiting_run, waiting_token = EXCLUDED.waiting_token,
         waiting_payload = EXCLUDED.waiting_payload, updated_at = EXCLUDED.updated_at";
const DEDUP_DELETE: &str = "DELETE FROM dedup WHERE key = $1";

/// The upsert of a schedule row; a unit test checks its column list is
/// [`SCHEDULE_COLS`](crate::table_reads::SCHEDULE_COLS), the one the reads
/// use.
const SCHEDULE_PUT: &str = "INSERT INTO schedules (id, process_id, spec, paused, next_fire_at,
         next_occurrence, last_fire_at, buffered, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET process_id = EXCLUDED.process_id, spec = EXCLUDED.spec,
         paused = EXCLUDED.paused, next_fire_at = EXCLUDED.next_fire_at,
         next_occurrence = EXCLUDED.next_occurrence, last_fire_at = EXCLUDED.last_fire_at,
         buffered = EXCLUDED.buffered, updated_at = EXCLUDED.updated_at";
const SCHEDULE_DELETE: &str = "DELETE FROM schedules WHERE id = $1";

fn p<T: ToSql + Sync + Send + 'static>(v: T) -> Param {
    Box::new(v)
}

/// The statements that write `batch` as `plan` planned it, in batch order.
/// Fails (writing nothing) on a request that cannot be valid: an append
/// without events, a number beyond PostgreSQL's `BIGINT`.
pub(crate) fn batch_ops(batch: Batch, plan: BatchPlan) -> StoreResult<Vec<Op>> {
    let mut ops = Vec::with_capacity(batch.operation_count());
    for d in batch.definitions {
        let params = vec![
            p(d.key.clone()),
            p(d.process_id),
            p(i64::from(d.version)),
            p(d.source),
            p(d.deployed_at.0),
        ];
        ops.push(Op::new(
            PUT_DEFINITION,
            params,
            Check::Definition { key: d.key },
        ));
    }
    for (c, cp) in batch.creates.into_iter().zip(plan.creates) {
        let r = c.row;
        let mut firsts = Vec::with_capacity(cp.history.len());
        let mut lasts = Vec::with_capacity(cp.history.len());
        let mut times = Vec::with_capacity(cp.history.len());
        let mut blobs = Vec::with_capacity(cp.history.len());
        for h in cp.history {
            firsts.push(to_i64(h.first_seq, "sequence")?);
            lasts.push(to_i64(h.last_seq, "sequence")?);
            times.push(h.recorded_at.0);
            blobs.push(h.blob);
        }
        let key = r.instance.to_string();
        let partition = partition_of(&r.instance);
        let (parent_id, parent_run) = match r.parent {
            Some(parent) => (Some(parent.id.0), Some(parent.run.0)),
            None => (None, None),
        };
        let params = vec![
            p(r.instance.id.0),
            p(r.instance.run.0),
            p(r.definition_key),
            p(i16::from(cp.status.code())),
            p(r.business_key),
            p(parent_id),
            p(parent_run),
            p(r.created_at.0),
            p(cp.updated_at.0),
            p(to_i64(cp.last_seq, "event count")?),
            p(firsts),
            p(lasts),
            p(times),
            p(blobs),
            p(cp.tally),
            p(partition),
        ];
        let check = Check::Insert {
            what: "instance",
            key,
        };
        ops.push(Op::new(CREATE, params, check));
    }
    for (a, folded) in batch.appends.into_iter().zip(plan.folded) {
        if folded {
            continue;
        }
        if a.events.is_empty() {
            return Err(windlass_store_api::StoreError::Invalid(format!(
                "append to instance {} has no events",
                a.instance
            )));
        }
        let new_last = a.expected_seq + a.events.len() as u64;
        let params = vec![
            p(a.instance.id.0.clone()),
            p(a.instance.run.0.clone()),
            p(to_i64(a.expected_seq, "expected sequence")?),
            p(to_i64(new_last, "sequence")?),
            p(i16::from(a.update.status.code())),
            p(a.update.updated_at.0),
            p(pack_events(&a.events)),
            p(a.update.tally),
        ];
        let check = Check::Append {
            instance: a.instance,
            expected: a.expected_seq,
        };
        ops.push(Op::new(APPEND, params, check));
    }
    for (ch, step) in batch.outbox.into_iter().zip(plan.outbox) {
        match (ch, step) {
            (_, OutboxStep::Skip) => {}
            (OutboxChange::Insert(r), OutboxStep::CheckAbsent) => {
                let check = Check::Absent {
                    what: "outbox entry",
                    key: r.key.clone(),
                };
                ops.push(Op::new(OUTBOX_EXISTS, vec![p(r.key)], check));
            }
            (OutboxChange::Insert(r), _) => {
                let check = Check::Insert {
                    what: "outbox entry",
                    key: r.key.clone(),
                };
                ops.push(Op::new(OUTBOX_INSERT, outbox_params(r), check));
            }
            (OutboxChange::Update(r), _) => {
                let check = Check::Touch {
                    what: "outbox entry",
                    key: r.key.clone(),
                };
                ops.push(Op::new(OUTBOX_UPDATE, outbox_params(r), check));
            }
            (OutboxChange::Complete(k), _) => {
                let check = Check::Touch {
                    what: "outbox entry",
                    key: k.clone(),
                };
                ops.push(Op::new(OUTBOX_DELETE, vec![p(k)], check));
            }
        }
    }
    for ch in batch.timers {
        ops.push(timer_op(ch));
    }
    for ch in batch.messages {
        ops.push(message_op(ch));
    }
    for ch in batch.dedup {
        ops.push(dedup_op(ch));
    }
    for ch in batch.schedules {
        ops.push(schedule_op(ch)?);
    }
    Ok(ops)
}

/// The `partition` column of a row of instance `i`.
fn partition_of(i: &InstanceRef) -> i16 {
    crate::convert::partition_column(i.partition())
}

fn outbox_params(r: OutboxRow) -> Vec<Param> {
    let partition = r.instance.as_ref().map(partition_of);
    let (id, run) = match r.instance {
        Some(i) => (Some(i.id.0), Some(i.run.0)),
        None => (None, None),
    };
    let (owner, expires) = match r.lease {
        Some(l) => (Some(l.owner), Some(l.expires_at.0)),
        None => (None, None),
    };
    vec![
        p(r.key),
        p(r.kind),
        p(id),
        p(run),
        p(r.payload),
        p(r.due_at.0),
        p(i64::from(r.attempt)),
        p(owner),
        p(expires),
        p(partition),
    ]
}

fn touch(sql: &'static str, what: &'static str, key: String) -> Op {
    let check = Check::Touch {
        what,
        key: key.clone(),
    };
    Op::new(sql, vec![p(key)], check)
}

fn timer_op(ch: TimerChange) -> Op {
    match ch {
        TimerChange::Insert(t) => {
            let check = Check::Insert {
                what: "timer",
                key: t.id.clone(),
            };
            let params = vec![
                p(t.id),
                p(partition_of(&t.instance)),
                p(t.instance.id.0),
                p(t.instance.run.0),
                p(t.due_at.0),
                p(t.payload),
            ];
            Op::new(TIMER_INSERT, params, check)
        }
        TimerChange::Delete(id) => touch(TIMER_DELETE, "timer", id),
    }
}

fn message_op(ch: MessageChange) -> Op {
    match ch {
        MessageChange::Insert(m) => {
            let check = Check::Insert {
                what: "message",
                key: m.id.clone(),
            };
            let params = vec![
                p(m.id),
                p(m.name),
                p(m.correlation_key),
                p(m.payload),
                p(m.published_at.0),
                p(m.expires_at.map(|t| t.0)),
                p(m.consumed_at.map(|t| t.0)),
            ];
            Op::new(MESSAGE_INSERT, params, check)
        }
        MessageChange::Delete(id) => touch(MESSAGE_DELETE, "message", id),
        MessageChange::DeleteExpired(at) => {
            Op::new(MESSAGE_DELETE_EXPIRED, vec![p(at.0)], Check::Any)
        }
        MessageChange::Consume { id, at, keep_until } => {
            let check = Check::Touch {
                what: "message",
                key: id.clone(),
            };
            Op::new(
                MESSAGE_CONSUME,
                vec![p(id), p(at.0), p(keep_until.0)],
                check,
            )
        }
    }
}

/// The four columns of a dedup holder.
fn holder_params(h: Option<DedupHolder>, out: &mut Vec<Param>) {
    match h {
        Some(h) => {
            out.push(p(Some(h.instance.id.0)));
            out.push(p(Some(h.instance.run.0)));
            out.push(p(Some(h.token)));
            out.push(p(Some(h.payload)));
        }
        None => {
            out.push(p(None::<String>));
            out.push(p(None::<String>));
            out.push(p(None::<String>));
            out.push(p(None::<Vec<u8>>));
        }
    }
}

fn dedup_op(ch: DedupChange) -> Op {
    match ch {
        DedupChange::Put(d) => {
            let mut params = vec![p(d.key)];
            holder_params(d.running, &mut params);
            holder_params(d.waiting, &mut params);
            params.push(p(d.updated_at.0));
            Op::new(DEDUP_PUT, params, Check::Any)
        }
        DedupChange::Delete(k) => touch(DEDUP_DELETE, "dedup entry", k),
    }
}

fn schedule_op(ch: ScheduleChange) -> StoreResult<Op> {
    Ok(match ch {
        ScheduleChange::Put(r) => {
            let buffered: Vec<i64> = r.buffered.iter().map(|t| t.0).collect();
            let params = vec![
                p(r.id),
                p(r.process_id),
                p(r.spec),
                p(r.paused),
                p(r.next_fire_at.map(|t| t.0)),
                p(to_i64(r.next_occurrence, "schedule occurrence")?),
                p(r.last_fire_at.map(|t| t.0)),
                p(buffered),
                p(r.updated_at.0),
            ];
            Op::new(SCHEDULE_PUT, params, Check::Any)
        }
        ScheduleChange::Delete(id) => touch(SCHEDULE_DELETE, "schedule", id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table_reads::SCHEDULE_COLS;

    #[test]
    fn the_schedule_upsert_names_the_read_columns() {
        let cols: String = SCHEDULE_PUT
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(cols, _)| cols.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        assert_eq!(cols, SCHEDULE_COLS);
    }
}
