//! Writes one [`Batch`] in one transaction, its statements sent as one
//! pipeline: the batch is planned ([`plan`](windlass_store_api::plan)),
//! turned into statements ([`batch_ops`](crate::batch_ops)), each
//! statement prepared once per connection, then all are sent without
//! waiting for answers and the answers read in order. On a loopback or LAN
//! connection a batch of hundreds of writes then costs a few round trips
//! (BEGIN, the pipeline, COMMIT) instead of one per write.
//!
//! PostgreSQL runs the statements in the order sent. The first statement
//! (in batch order) whose outcome is wrong decides the error; the
//! transaction is then rolled back, so a failing batch changes nothing.
//! Statements after a failed one fail too ("transaction is aborted"),
//! which is never the first error.
//!
//! Fencing: a store holding the database's lease starts each pipeline
//! with a read of the lease row `FOR SHARE` (`lease.rs`); a batch whose
//! epoch is no longer the row's is refused with [`StoreError::Fenced`]
//! and rolled back.
//!
//! Concurrency: an append's `UPDATE ... WHERE last_seq = expected` locks
//! the run's row; a second writer with the same expectation waits for the
//! first to commit, then finds the sequence moved and gets
//! [`StoreError::Conflict`]. Two nodes therefore never both append the
//! same events to one run.

use crate::batch_ops::{Check, LAST_SEQ, Op, batch_ops};
use crate::convert::{get, to_u64};
use crate::errors::{commit_error, is_unique_violation, map_pg};
use crate::pg;
use deadpool_postgres::ClientWrapper;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use tokio_postgres::types::ToSql;
use windlass_store_api::plan::plan;
use windlass_store_api::{Batch, InstanceRef, StoreError, StoreResult};

/// Commits `batch` on `conn` (the database `target`), starting with the
/// statements `lead`: the lease read when the store holds a lease (a
/// [`Check::Fence`]), a wake-up of other nodes (`wake.rs`).
pub(crate) async fn commit(
    conn: &mut ClientWrapper,
    batch: Batch,
    target: &str,
    lead: Vec<Op>,
) -> StoreResult<()> {
    let planned = plan(&batch);
    let mut ops = lead;
    ops.extend(batch_ops(batch, planned)?);
    let tx = conn.transaction().await.map_err(pg(target))?;
    // Prepare first (cached per connection: a round trip only the first
    // time a connection sees a statement), so the pipeline below only
    // binds and executes.
    let mut statements = Vec::with_capacity(ops.len());
    for op in &ops {
        statements.push(tx.prepare_cached(op.sql).await.map_err(pg(target))?);
    }
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = ops
        .iter()
        .map(|op| {
            op.params
                .iter()
                .map(|b| b.as_ref() as &(dyn ToSql + Sync))
                .collect()
        })
        .collect();
    let tx_ref = &tx;
    let requests: Requests<'_> = ops
        .iter()
        .zip(statements.iter().zip(&params))
        .map(|(op, (stmt, params))| {
            let request: Request<'_> = if matches!(op.check, Check::Append { .. }) {
                Box::pin(async move {
                    let row = tx_ref.query_one(stmt, params).await?;
                    Ok(Answer::Append(row))
                })
            } else if matches!(op.check, Check::Fence { .. }) {
                Box::pin(async move { Ok(Answer::Fence(tx_ref.query_opt(stmt, params).await?)) })
            } else {
                Box::pin(async move { Ok(Answer::Rows(tx_ref.execute(stmt, params).await?)) })
            };
            request
        })
        .collect();
    let answers = in_order(requests).await;
    let mut first_bad = None;
    for (op, answer) in ops.iter().zip(answers) {
        if let Some(error) = judge(op, answer, target)? {
            first_bad = Some(error);
            break;
        }
    }
    drop(params);
    match first_bad {
        None => tx.commit().await.map_err(|e| commit_error(e, target)),
        Some(bad) => {
            tx.rollback().await.map_err(pg(target))?;
            Err(match bad {
                Bad::Error(e) => e,
                Bad::Overtaken { instance, expected } => {
                    overtaken(conn, instance, expected, target).await?
                }
            })
        }
    }
}

/// What went wrong with one statement.
enum Bad {
    /// The error to report.
    Error(StoreError),
    /// An append found its run moved on by a writer that committed while
    /// it waited: the run's sequence is read again after the rollback.
    Overtaken {
        instance: InstanceRef,
        expected: u64,
    },
}

/// The error of an overtaken append: `Conflict` with the run's committed
/// last sequence (`NotFound` if the run is gone).
async fn overtaken(
    conn: &ClientWrapper,
    instance: InstanceRef,
    expected: u64,
    target: &str,
) -> StoreResult<StoreError> {
    let stmt = conn.prepare_cached(LAST_SEQ).await.map_err(pg(target))?;
    let row = conn
        .query_opt(&stmt, &[&instance.id.as_str(), &instance.run.as_str()])
        .await
        .map_err(pg(target))?;
    Ok(match row {
        None => StoreError::NotFound {
            what: "instance",
            key: instance.to_string(),
        },
        Some(r) => StoreError::Conflict {
            instance,
            expected,
            actual: to_u64(get(&r, 0, target)?, target, "last sequence")?,
        },
    })
}

/// What a statement answered.
enum Answer {
    /// The rows it touched (or, for a lookup, found).
    Rows(u64),
    /// An append's one row: rows moved, and the run's last sequence.
    Append(tokio_postgres::Row),
    /// The lease row, if there is one.
    Fence(Option<tokio_postgres::Row>),
}

/// Judges one statement's answer: `Some` when it is wrong.
fn judge(
    op: &Op,
    answer: Result<Answer, tokio_postgres::Error>,
    target: &str,
) -> StoreResult<Option<Bad>> {
    let n = match answer {
        Ok(Answer::Rows(n)) => n,
        Ok(Answer::Append(row)) => return append_outcome(op, &row, target),
        Ok(Answer::Fence(row)) => return fence_outcome(op, row.as_ref(), target),
        Err(e) => {
            return Ok(Some(Bad::Error(match &op.check {
                Check::Insert { what, key } if is_unique_violation(&e) => {
                    StoreError::AlreadyExists {
                        what,
                        key: key.clone(),
                    }
                }
                _ => map_pg(e, target),
            })));
        }
    };
    let error = match &op.check {
        Check::Any | Check::Insert { .. } | Check::Append { .. } | Check::Fence { .. } => {
            return Ok(None);
        }
        Check::Touch { what, key } if n == 0 => StoreError::NotFound {
            what,
            key: key.clone(),
        },
        Check::Absent { what, key } if n > 0 => StoreError::AlreadyExists {
            what,
            key: key.clone(),
        },
        Check::Definition { key } if n == 0 => StoreError::AlreadyExists {
            what: "definition",
            key: key.clone(),
        },
        _ => return Ok(None),
    };
    Ok(Some(Bad::Error(error)))
}

/// Judges the lease read: the batch may go on only if the lease's epoch
/// is still the one this store took.
fn fence_outcome(
    op: &Op,
    row: Option<&tokio_postgres::Row>,
    target: &str,
) -> StoreResult<Option<Bad>> {
    let Check::Fence { epoch, node } = &op.check else {
        return Ok(None);
    };
    let holder = match row {
        None => "nobody (the lease row is gone)".to_string(),
        Some(r) => {
            let now: i64 = get(r, 0, target)?;
            if now == *epoch {
                return Ok(None);
            }
            let owner: String = get(r, 1, target)?;
            let address: Option<String> = get(r, 2, target)?;
            if *node {
                return Ok(Some(Bad::Error(StoreError::Fenced {
                    path: target.to_string(),
                    holder: format!(
                        "another node, which took over the partitions of node '{owner}' \
                         (its lease epoch moved from {epoch} to {now})"
                    ),
                })));
            }
            match address {
                Some(a) => format!("'{owner}' (API at {a}, lease epoch {now})"),
                None => format!("'{owner}' (lease epoch {now})"),
            }
        }
    };
    Ok(Some(Bad::Error(StoreError::Fenced {
        path: target.to_string(),
        holder,
    })))
}

/// Judges an append's answer: no row moved is `NotFound` when the run does
/// not exist, else `Conflict` with the run's last sequence.
fn append_outcome(op: &Op, row: &tokio_postgres::Row, target: &str) -> StoreResult<Option<Bad>> {
    let Check::Append { instance, expected } = &op.check else {
        return Ok(None);
    };
    let moved: i64 = get(row, 0, target)?;
    if moved == 1 {
        return Ok(None);
    }
    let actual: Option<i64> = get(row, 1, target)?;
    let error = match actual
        .map(|a| to_u64(a, target, "last sequence"))
        .transpose()?
    {
        None => StoreError::NotFound {
            what: "instance",
            key: instance.to_string(),
        },
        Some(actual) if actual == *expected => {
            return Ok(Some(Bad::Overtaken {
                instance: instance.clone(),
                expected: *expected,
            }));
        }
        Some(actual) => StoreError::Conflict {
            instance: instance.clone(),
            expected: *expected,
            actual,
        },
    };
    Ok(Some(Bad::Error(error)))
}

/// One request of a pipeline.
type Request<'a> = Pin<Box<dyn Future<Output = Result<Answer, tokio_postgres::Error>> + Send + 'a>>;

/// The requests of one pipeline.
type Requests<'a> = Vec<Request<'a>>;

/// Runs `requests` together, polling each one for the first time in index
/// order, and returns their outputs in that order.
///
/// Written here rather than taken from `futures::future::join_all`, which
/// for more than 30 futures switches to `FuturesOrdered` and does not
/// promise the order of first polls; tokio-postgres sends a request when
/// its future is first polled, and the pipeline must go out in batch order.
async fn in_order(mut requests: Requests<'_>) -> Vec<Result<Answer, tokio_postgres::Error>> {
    let mut outputs: Vec<Option<Result<Answer, tokio_postgres::Error>>> =
        (0..requests.len()).map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (request, output) in requests.iter_mut().zip(outputs.iter_mut()) {
            if output.is_some() {
                continue;
            }
            match request.as_mut().poll(cx) {
                Poll::Ready(v) => *output = Some(v),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
