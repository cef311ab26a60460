//! Plans a batch before a SQL backend writes it, so that each row is written
//! once (shared by the SQLite and PostgreSQL backends):
//!
//! - appends to an instance created in the same batch are folded into its
//!   create: the instance row is inserted with its final status, time and
//!   last sequence (no UPDATE of a row just inserted), and history ranges
//!   recorded at the same time are packed into one history row;
//! - an outbox key that the batch inserts and then completes (with only
//!   updates between) is neither inserted nor deleted; only its absence from
//!   the database is checked, so a duplicate key is still an error.
//!
//! Only operations that would succeed are folded or skipped: an append whose
//! expected sequence does not match (or that has no events) stops folding
//! for its instance, and it and every later append of that instance take
//! the normal path, which reports the error exactly as before.

use crate::{Append, Batch, InstanceRef, InstanceStatus, OutboxChange, Timestamp};
use foldhash::{HashMap, HashMapExt};

/// One history row to write: events `first_seq..=last_seq` packed in `blob`.
#[derive(Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// The sequence number of the first event.
    pub first_seq: u64,
    /// The sequence number of the last event.
    pub last_seq: u64,
    /// The commit time the events are recorded with.
    pub recorded_at: Timestamp,
    /// The events, packed by [`pack_events`](crate::pack_events).
    pub blob: Vec<u8>,
}

/// The final state of one created instance after its folded appends.
#[derive(Debug)]
pub struct CreatePlan {
    /// The run's last sequence number once its folded appends are in.
    pub last_seq: u64,
    /// The run's status after its folded appends.
    pub status: InstanceStatus,
    /// The run's update time after its folded appends.
    pub updated_at: Timestamp,
    /// The run's per-node counts after its folded appends.
    pub tally: Vec<u8>,
    /// The history rows to write, in sequence order.
    pub history: Vec<HistoryRow>,
}

/// What to write for a batch; indexes match the batch's vectors.
#[derive(Debug)]
pub struct BatchPlan {
    /// One per `batch.creates`.
    pub creates: Vec<CreatePlan>,
    /// Per `batch.appends`: true if folded into its create (skip it).
    pub folded: Vec<bool>,
    /// Per `batch.outbox`: what to do with the change.
    pub outbox: Vec<OutboxStep>,
}

/// How one outbox change is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStep {
    /// Write it as usual.
    Write,
    /// The insert of a key the batch also completes: only check the key
    /// does not exist yet.
    CheckAbsent,
    /// Cancelled by an insert and completion in the same batch.
    Skip,
}

/// Appends `events` (first sequence `first`) to `rows`, merging with the
/// last row when it was recorded at the same time.
fn push_history(rows: &mut Vec<HistoryRow>, first: u64, events: &[Vec<u8>], at: Timestamp) {
    if events.is_empty() {
        return;
    }
    let last = first + events.len() as u64 - 1;
    let packed = crate::pack_events(events);
    if let Some(prev) = rows.last_mut()
        && prev.recorded_at == at
        && prev.last_seq + 1 == first
    {
        prev.blob.extend_from_slice(&packed);
        prev.last_seq = last;
        return;
    }
    rows.push(HistoryRow {
        first_seq: first,
        last_seq: last,
        recorded_at: at,
        blob: packed,
    });
}

/// Plans `batch`.
pub fn plan(batch: &Batch) -> BatchPlan {
    let mut by_instance: HashMap<&InstanceRef, usize> = HashMap::with_capacity(batch.creates.len());
    let mut creates = Vec::with_capacity(batch.creates.len());
    let mut open = Vec::with_capacity(batch.creates.len());
    for (i, c) in batch.creates.iter().enumerate() {
        by_instance.entry(&c.row.instance).or_insert(i);
        let mut history = Vec::new();
        let mut next = 1;
        for g in &c.carried {
            push_history(&mut history, next, &g.events, g.recorded_at);
            next += g.events.len() as u64;
        }
        push_history(&mut history, next, &c.events, c.row.created_at);
        creates.push(CreatePlan {
            last_seq: c.event_count(),
            status: c.row.status,
            updated_at: c.row.updated_at,
            tally: c.row.tally.clone(),
            history,
        });
        open.push(true);
    }
    let folded = batch
        .appends
        .iter()
        .map(|a| fold_append(a, &by_instance, &mut creates, &mut open))
        .collect();
    BatchPlan {
        creates,
        folded,
        outbox: plan_outbox(&batch.outbox),
    }
}

fn fold_append(
    a: &Append,
    by_instance: &HashMap<&InstanceRef, usize>,
    creates: &mut [CreatePlan],
    open: &mut [bool],
) -> bool {
    let Some(&i) = by_instance.get(&a.instance) else {
        return false;
    };
    let (Some(c), Some(is_open)) = (creates.get_mut(i), open.get_mut(i)) else {
        return false;
    };
    if !*is_open || a.events.is_empty() || a.expected_seq != c.last_seq {
        *is_open = false;
        return false;
    }
    push_history(
        &mut c.history,
        c.last_seq + 1,
        &a.events,
        a.update.updated_at,
    );
    c.last_seq += a.events.len() as u64;
    c.status = a.update.status;
    c.updated_at = a.update.updated_at;
    c.tally.clone_from(&a.update.tally);
    true
}

/// Per key: index of its first change, of its last, and how many inserts
/// and completions it has.
#[derive(Default)]
struct KeyOps {
    first: usize,
    last: usize,
    inserts: usize,
    completes: usize,
}

fn outbox_key(ch: &OutboxChange) -> &str {
    match ch {
        OutboxChange::Insert(r) | OutboxChange::Update(r) => &r.key,
        OutboxChange::Complete(k) => k,
    }
}

fn plan_outbox(changes: &[OutboxChange]) -> Vec<OutboxStep> {
    let mut steps = vec![OutboxStep::Write; changes.len()];
    let has_complete = changes
        .iter()
        .any(|c| matches!(c, OutboxChange::Complete(_)));
    let has_insert = changes.iter().any(|c| matches!(c, OutboxChange::Insert(_)));
    if !(has_complete && has_insert) {
        return steps;
    }
    let mut keys: HashMap<&str, KeyOps> = HashMap::with_capacity(changes.len());
    for (i, ch) in changes.iter().enumerate() {
        let k = keys.entry(outbox_key(ch)).or_insert(KeyOps {
            first: i,
            ..KeyOps::default()
        });
        k.last = i;
        match ch {
            OutboxChange::Insert(_) => k.inserts += 1,
            OutboxChange::Complete(_) => k.completes += 1,
            OutboxChange::Update(_) => {}
        }
    }
    for (key, k) in &keys {
        let cancels = k.inserts == 1
            && k.completes == 1
            && matches!(changes.get(k.first), Some(OutboxChange::Insert(_)))
            && matches!(changes.get(k.last), Some(OutboxChange::Complete(_)));
        if !cancels {
            continue;
        }
        for (i, ch) in changes.iter().enumerate().take(k.last + 1).skip(k.first) {
            if let Some(step) = steps.get_mut(i)
                && outbox_key(ch) == *key
            {
                *step = if i == k.first {
                    OutboxStep::CheckAbsent
                } else {
                    OutboxStep::Skip
                };
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InstanceRow, InstanceUpdate, NewInstance, OutboxRow};

    fn create(id: &str, events: usize, t: i64) -> NewInstance {
        NewInstance {
            carried: Vec::new(),
            row: InstanceRow {
                instance: InstanceRef::new(id, "1"),
                definition_key: "d:1".into(),
                status: InstanceStatus::Running,
                business_key: None,
                parent: None,
                created_at: Timestamp(t),
                updated_at: Timestamp(t),
                last_seq: 0,
                tally: Vec::new(),
            },
            events: vec![vec![1u8]; events],
        }
    }

    fn append(id: &str, expected: u64, events: usize, t: i64) -> Append {
        Append {
            instance: InstanceRef::new(id, "1"),
            expected_seq: expected,
            events: vec![vec![2]; events],
            update: InstanceUpdate {
                status: InstanceStatus::Completed,
                updated_at: Timestamp(t),
                tally: Vec::new(),
            },
        }
    }

    fn outbox_row(key: &str) -> OutboxRow {
        OutboxRow {
            key: key.into(),
            kind: "job".into(),
            instance: None,
            payload: vec![],
            due_at: Timestamp(0),
            attempt: 0,
            lease: None,
        }
    }

    #[test]
    fn matching_appends_fold_and_same_time_history_merges() {
        let mut b = Batch::default();
        b.creates.push(create("a", 4, 10));
        b.appends.push(append("a", 4, 2, 10));
        b.appends.push(append("a", 6, 1, 11));
        b.appends.push(append("other", 3, 1, 11));
        let p = plan(&b);
        assert_eq!(p.folded, vec![true, true, false]);
        let c = &p.creates[0];
        assert_eq!((c.last_seq, c.status), (7, InstanceStatus::Completed));
        assert_eq!(c.updated_at, Timestamp(11));
        let ranges: Vec<_> = c
            .history
            .iter()
            .map(|h| (h.first_seq, h.last_seq, h.recorded_at.0))
            .collect();
        assert_eq!(ranges, vec![(1, 6, 10), (7, 7, 11)]);
        let mut expect = crate::pack_events(&vec![vec![1u8]; 4]);
        expect.extend(crate::pack_events(&vec![vec![2u8]; 2]));
        assert_eq!(c.history[0].blob, expect);
    }

    #[test]
    fn a_mismatched_append_stops_folding_for_its_instance() {
        let mut b = Batch::default();
        b.creates.push(create("a", 2, 10));
        b.appends.push(append("a", 5, 1, 10));
        b.appends.push(append("a", 2, 1, 10));
        b.appends.push(append("a", 3, 0, 10));
        let p = plan(&b);
        assert_eq!(p.folded, vec![false, false, false]);
        assert_eq!(p.creates[0].last_seq, 2);
        assert_eq!(p.creates[0].status, InstanceStatus::Running);
    }

    #[test]
    fn insert_then_complete_is_skipped_but_checked() {
        let ch = vec![
            OutboxChange::Insert(outbox_row("k")),
            OutboxChange::Insert(outbox_row("x")),
            OutboxChange::Update(outbox_row("k")),
            OutboxChange::Complete("k".into()),
            OutboxChange::Complete("y".into()),
        ];
        use OutboxStep::*;
        assert_eq!(
            plan_outbox(&ch),
            vec![CheckAbsent, Write, Skip, Skip, Write]
        );
    }

    #[test]
    fn reinsert_after_complete_is_written() {
        let ch = vec![
            OutboxChange::Insert(outbox_row("k")),
            OutboxChange::Complete("k".into()),
            OutboxChange::Insert(outbox_row("k")),
        ];
        assert_eq!(plan_outbox(&ch), vec![OutboxStep::Write; 3]);
    }
}
