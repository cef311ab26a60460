//! Recovery on start: every unfinished instance is rebuilt from its history
//! (one prepared plan per definition key, cached), and every pending outbox
//! row is queued for re-dispatch on its instance's shard. Jobs therefore run
//! at least once; a re-dispatched job whose completion was already committed
//! cannot exist (completion and outbox removal share one transaction), and a
//! stale completion is refused by the engine.

use crate::definitions::DefinitionCache;
use crate::error::{RuntimeError, RuntimeResult};
use crate::outbox::broadcast_seen::Seen;
use crate::shard::msg::{Input, ShardMsg};
use crate::shard::{Slot, SlotMap};
use crate::shared::shard_of;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use windlass_engine::replay_encoded;
use windlass_store_api::{InstanceRow, OutboxRow, PartitionSet, RecoveredInstance, Store};

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Unfinished instances resumed.
    pub instances: usize,
    /// Pending outbox rows queued again (jobs, child starts, child notices).
    pub outbox_rows: usize,
    /// Instances that could not be resumed, with why (they stay in the
    /// store untouched).
    pub skipped: Vec<String>,
    /// Time spent.
    pub elapsed: Duration,
}

/// Per-shard slots and initial work.
pub(crate) struct Recovered {
    pub slots: Vec<SlotMap>,
    pub queues: Vec<VecDeque<Input>>,
    pub report: RecoveryReport,
    /// The markers of broadcasts a crash interrupted, by broadcast row key
    /// (`outbox/broadcast_seen.rs`), for the publisher.
    pub markers: Markers,
}

/// Broadcast markers by broadcast row key.
pub(crate) type Markers = std::collections::HashMap<String, Vec<Seen>>;

/// Loads everything unfinished of `partitions` from `store` (nothing when
/// `resume_all` is off): at start, and for partitions adopted later
/// (`adopt.rs`). Unless this is the `single` node of its store, an instance
/// whose definition needs one is skipped (`partitions.rs`), and so is a
/// delivery sent from outside `local` (the partitions served once these are
/// adopted): the delivery service takes those (`deliveries.rs`).
pub(crate) async fn recover<S: Store>(
    store: &S,
    cache: &DefinitionCache,
    shards: usize,
    resume_all: bool,
    partitions: &PartitionSet,
    single: bool,
    local: &PartitionSet,
) -> RuntimeResult<Recovered> {
    let started = Instant::now();
    let mut out = Recovered {
        slots: (0..shards).map(|_| SlotMap::default()).collect(),
        queues: (0..shards).map(|_| VecDeque::new()).collect(),
        report: RecoveryReport::default(),
        markers: Markers::new(),
    };
    if !resume_all {
        return Ok(out);
    }
    let unfinished = if partitions.is_all() {
        store.load_unfinished().await?
    } else {
        store.load_unfinished_in(partitions).await?
    };
    // Their outbox rows stay pending too (a shard completes a job row
    // whose instance it does not hold).
    let mut skipped = std::collections::HashSet::new();
    for rec in unfinished {
        let instance = rec.row.instance.clone();
        let resumed = resume(rec, store, cache).await.and_then(|slot| {
            if !single {
                crate::partitions::check_definition(partitions, &slot.def)?;
            }
            Ok(slot)
        });
        match resumed {
            Ok(slot) => {
                out.slots[shard_of(&instance.id, shards)].insert(instance, slot);
                out.report.instances += 1;
            }
            Err(e) => {
                tracing::error!(%instance, "not resumed: {e}");
                out.report.skipped.push(format!("{instance}: {e}"));
                skipped.insert(instance);
            }
        }
    }
    let mut pending = if partitions.is_all() {
        store.pending_outbox().await?
    } else {
        store.pending_outbox_in(partitions).await?
    };
    if !single {
        pending.retain(|row| !crate::deliveries::sent_from_outside(row, local));
    }
    for row in dispatch_order(pending) {
        if let Some(seen) = Seen::of_row(&row) {
            out.markers
                .entry(seen.broadcast().to_string())
                .or_default()
                .push(seen);
            continue;
        }
        let Some(instance) = &row.instance else {
            continue;
        };
        if skipped.contains(instance) {
            continue;
        }
        let i = shard_of(&instance.id, shards);
        out.queues[i].push_back(Input::Msg(ShardMsg::Dispatch(row)));
        out.report.outbox_rows += 1;
    }
    out.report.elapsed = started.elapsed();
    Ok(out)
}

/// Loads one live run that recovery did not resume (the runtime started
/// with `resume_unfinished` off, or evicted it after an error) into a slot,
/// from its stored history: what `OnConflict::TerminateExisting` does before
/// terminating it. Its pending outbox rows are not re-dispatched.
pub(crate) async fn load_slot<S: Store>(
    row: InstanceRow,
    store: &S,
    cache: &DefinitionCache,
) -> RuntimeResult<Slot> {
    let events = store.history(&row.instance).await?;
    resume(RecoveredInstance { row, events }, store, cache).await
}

async fn resume<S: Store>(
    rec: RecoveredInstance,
    store: &S,
    cache: &DefinitionCache,
) -> RuntimeResult<Slot> {
    let def = cache.get_or_load(&rec.row.definition_key, store).await?;
    let state = replay_encoded(rec.events.iter().map(|h| (h.seq, h.payload.as_slice())))
        .map_err(|e| RuntimeError::replay_failed(&rec.row.instance, &e))?;
    let children = state.children_waiting().count() as u32;
    Ok(Slot {
        state,
        def,
        seq: rec.events.last().map_or(rec.row.last_seq, |h| h.seq),
        inflight: children,
        parent: rec.row.parent,
        uncommitted: false,
        store_error: None,
    })
}

/// Outbox rows in the order they are dispatched again. Child terminations
/// go last: a child whose start row is still pending is started first (on
/// the same shard, in queue order) and then terminated, instead of the
/// termination finding no child and the start running it afterwards. A
/// child's escalations go first: sent before the child finished, they
/// reach the parent before its `child-done` notice (which ends the call
/// activity they are for), as they do live.
pub(crate) fn dispatch_order(rows: Vec<OutboxRow>) -> Vec<OutboxRow> {
    let (cancels, others): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(crate::outbox::is_cancel_child);
    let (mut escalations, others): (Vec<_>, Vec<_>) = others
        .into_iter()
        .partition(crate::outbox::is_child_escalated);
    // In the order each child sent them (its number ends the key; `/10`
    // sorts before `/2` as text): the parent refuses a number below one it
    // has taken.
    escalations.sort_by_cached_key(|row| match row.key.rsplit_once('/') {
        Some((child, number)) => (child.to_string(), number.parse::<u32>().unwrap_or(0)),
        None => (row.key.clone(), 0),
    });
    escalations
        .into_iter()
        .chain(others)
        .chain(cancels)
        .collect()
}
