//! A [`Batch`]: everything one group commit writes, applied all-or-nothing
//! in one transaction (one fsync on durable backends).
//!
//! Sections are applied in this fixed order, and in the order given within a
//! section: definitions, new instances, appends, outbox, timers, messages,
//! dedup, schedules. So a batch may create an instance and append to it, or insert an
//! outbox row and complete it. If any operation fails, the backend rolls the
//! whole batch back and returns that operation's error.

use crate::dedup::DedupChange;
use crate::definition::DefinitionRow;
use crate::ids::InstanceRef;
use crate::instance::{InstanceRow, InstanceUpdate};
use crate::message::MessageChange;
use crate::outbox::OutboxChange;
use crate::schedule::ScheduleChange;
use crate::timer::TimerChange;
use windlass_types::Timestamp;

/// A new instance run with its first events (sequence numbers 1..=n): the
/// events `carried` over from another run (a reset), each group with the
/// time it was first recorded, then `events`, recorded at the row's
/// `created_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// The index row; `last_seq` is ignored (the store sets it to n).
    pub row: InstanceRow,
    /// Events carried over with their original times; usually empty.
    pub carried: Vec<CarriedEvents>,
    /// The first events of the run's own, encoded; may be empty.
    pub events: Vec<Vec<u8>>,
}

impl NewInstance {
    /// How many events the run starts with (carried and its own).
    pub fn event_count(&self) -> u64 {
        let carried: usize = self.carried.iter().map(|c| c.events.len()).sum();
        (carried + self.events.len()) as u64
    }
}

/// Events a new run carries over from another run (see
/// [`Batch::create_carried`]), recorded at `recorded_at` as they were there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedEvents {
    /// When they were first recorded.
    pub recorded_at: Timestamp,
    /// The encoded events.
    pub events: Vec<Vec<u8>>,
}

/// Events appended to an existing instance run, with optimistic concurrency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    /// Which instance run.
    pub instance: InstanceRef,
    /// The last sequence number the writer saw; the append fails with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) unless the
    /// store's last sequence equals it. The new events get
    /// `expected_seq + 1 ..= expected_seq + events.len()`.
    pub expected_seq: u64,
    /// The events, encoded; at least one.
    pub events: Vec<Vec<u8>>,
    /// The new status and update time of the index row.
    pub update: InstanceUpdate,
}

/// Everything one group commit writes. Build it with the methods or fill the
/// public fields directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Definitions to deploy.
    pub definitions: Vec<DefinitionRow>,
    /// Instance runs to create.
    pub creates: Vec<NewInstance>,
    /// Appends to existing runs.
    pub appends: Vec<Append>,
    /// Outbox inserts, updates and completions.
    pub outbox: Vec<OutboxChange>,
    /// Timer inserts and deletions.
    pub timers: Vec<TimerChange>,
    /// Message inserts and deletions.
    pub messages: Vec<MessageChange>,
    /// Dedup puts and deletions.
    pub dedup: Vec<DedupChange>,
    /// Schedule puts and deletions.
    pub schedules: Vec<ScheduleChange>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deploys a definition.
    pub fn put_definition(&mut self, def: DefinitionRow) -> &mut Self {
        self.definitions.push(def);
        self
    }

    /// Creates an instance run with its first events.
    pub fn create(&mut self, row: InstanceRow, events: Vec<Vec<u8>>) -> &mut Self {
        self.creates.push(NewInstance {
            row,
            carried: Vec::new(),
            events,
        });
        self
    }

    /// Creates an instance run that starts with events carried over from
    /// another run (a reset: its first events with their original times),
    /// followed by its own `events` recorded at the row's `created_at`.
    pub fn create_carried(
        &mut self,
        row: InstanceRow,
        carried: Vec<CarriedEvents>,
        events: Vec<Vec<u8>>,
    ) -> &mut Self {
        self.creates.push(NewInstance {
            row,
            carried,
            events,
        });
        self
    }

    /// Appends events to a run whose history must end at `expected_seq`.
    pub fn append(
        &mut self,
        instance: InstanceRef,
        expected_seq: u64,
        events: Vec<Vec<u8>>,
        update: InstanceUpdate,
    ) -> &mut Self {
        self.appends.push(Append {
            instance,
            expected_seq,
            events,
            update,
        });
        self
    }

    /// Adds an outbox change.
    pub fn outbox(&mut self, change: OutboxChange) -> &mut Self {
        self.outbox.push(change);
        self
    }

    /// Adds a timer change.
    pub fn timer(&mut self, change: TimerChange) -> &mut Self {
        self.timers.push(change);
        self
    }

    /// Adds a message change.
    pub fn message(&mut self, change: MessageChange) -> &mut Self {
        self.messages.push(change);
        self
    }

    /// Adds a dedup change.
    pub fn dedup(&mut self, change: DedupChange) -> &mut Self {
        self.dedup.push(change);
        self
    }

    /// Adds a schedule change.
    pub fn schedule(&mut self, change: ScheduleChange) -> &mut Self {
        self.schedules.push(change);
        self
    }

    /// Appends every operation of `other` after this batch's own, section by
    /// section (how the runtime merges per-shard batches into one commit).
    pub fn merge(&mut self, other: Batch) -> &mut Self {
        self.definitions.extend(other.definitions);
        self.creates.extend(other.creates);
        self.appends.extend(other.appends);
        self.outbox.extend(other.outbox);
        self.timers.extend(other.timers);
        self.messages.extend(other.messages);
        self.dedup.extend(other.dedup);
        self.schedules.extend(other.schedules);
        self
    }

    /// How many operations of each kind the batch holds: what
    /// [`Batch::split`] needs to take a merged batch apart again.
    pub fn shape(&self) -> BatchShape {
        BatchShape([
            self.definitions.len(),
            self.creates.len(),
            self.appends.len(),
            self.outbox.len(),
            self.timers.len(),
            self.messages.len(),
            self.dedup.len(),
            self.schedules.len(),
        ])
    }

    /// Takes a batch made by merging batches of `shapes` (in that order)
    /// apart again, without copying: the parts come back in order. A
    /// merged batch that failed as a whole is committed part by part, so
    /// one unit's conflict does not fail the others (a group commit of
    /// several writers). Shapes that do not add up to this batch give
    /// back the batch whole, as one part.
    pub fn split(mut self, shapes: &[BatchShape]) -> Vec<Batch> {
        let total = shapes.iter().fold([0usize; 8], |mut acc, s| {
            for (a, n) in acc.iter_mut().zip(s.0) {
                *a += n;
            }
            acc
        });
        if total != self.shape().0 {
            return vec![self];
        }
        let mut parts = Vec::with_capacity(shapes.len());
        for shape in shapes.iter().rev() {
            let [d, c, a, o, t, m, k, sc] = shape.0;
            let tail = |v: usize, n: usize| v.saturating_sub(n);
            parts.push(Batch {
                definitions: self.definitions.split_off(tail(self.definitions.len(), d)),
                creates: self.creates.split_off(tail(self.creates.len(), c)),
                appends: self.appends.split_off(tail(self.appends.len(), a)),
                outbox: self.outbox.split_off(tail(self.outbox.len(), o)),
                timers: self.timers.split_off(tail(self.timers.len(), t)),
                messages: self.messages.split_off(tail(self.messages.len(), m)),
                dedup: self.dedup.split_off(tail(self.dedup.len(), k)),
                schedules: self.schedules.split_off(tail(self.schedules.len(), sc)),
            });
        }
        parts.reverse();
        parts
    }

    /// True when the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.operation_count() == 0
    }

    /// The number of operations in the batch.
    pub fn operation_count(&self) -> usize {
        self.definitions.len()
            + self.creates.len()
            + self.appends.len()
            + self.outbox.len()
            + self.timers.len()
            + self.messages.len()
            + self.dedup.len()
            + self.schedules.len()
    }

    /// The number of history events the batch writes.
    pub fn event_count(&self) -> usize {
        self.creates
            .iter()
            .map(|c| c.event_count() as usize)
            .sum::<usize>()
            + self.appends.iter().map(|a| a.events.len()).sum::<usize>()
    }
}

/// The operation counts of a [`Batch`], by kind ([`Batch::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchShape([usize; 8]);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::instance::InstanceStatus;
    use windlass_types::Timestamp;

    #[test]
    fn counts_and_merge() {
        let mut a = Batch::new();
        assert!(a.is_empty());
        a.append(
            InstanceRef::new("x", "1"),
            2,
            vec![vec![1], vec![2]],
            InstanceUpdate {
                status: InstanceStatus::Running,
                updated_at: Timestamp(1),
                tally: Vec::new(),
            },
        );
        let mut b = Batch::new();
        b.outbox(OutboxChange::Complete("k".into()));
        a.merge(b);
        assert_eq!(a.operation_count(), 2);
        assert_eq!(a.event_count(), 2);
        assert!(!a.is_empty());
    }

    #[test]
    fn a_merged_batch_splits_back_into_its_parts() {
        let part = |id: &str, t: i64| {
            let mut b = Batch::new();
            let update = crate::InstanceUpdate {
                status: crate::InstanceStatus::Running,
                updated_at: windlass_types::Timestamp(t),
                tally: Vec::new(),
            };
            b.append(crate::InstanceRef::new(id, "r"), 1, vec![vec![1]], update);
            b.timer(crate::TimerChange::Delete(format!("{id}/t")));
            if t > 0 {
                b.dedup(crate::DedupChange::Delete(format!("{id}/k")));
            }
            b
        };
        let parts = [part("a", 0), part("b", 1), part("c", 2)];
        let shapes: Vec<BatchShape> = parts.iter().map(Batch::shape).collect();
        let mut merged = Batch::new();
        for p in parts.clone() {
            merged.merge(p);
        }
        assert_eq!(merged.clone().split(&shapes), parts.to_vec());
        // Shapes that do not fit give the batch back whole.
        assert_eq!(merged.clone().split(&shapes[..1]), vec![merged]);
    }
}
