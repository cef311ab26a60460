//! The timer service of one shard: one heap of armed timers ordered by due
//! time and ONE wait on the injected clock for the earliest (no task per
//! timer). A due timer becomes an [`Input::Timer`] and goes through the
//! normal group path as `Command::FireTimer`, so its consequences commit
//! with everything else; a timer closed meanwhile is dropped before it is
//! decided (and the engine refuses a stale fire anyway).
//!
//! Timer rows (`{instance}/{run}/t/{sub}` in the store's `timers` table)
//! are written in the same batch as the events that open and close them; a
//! timer opened and closed within one group writes nothing and is never
//! armed. Armed timers are checked against the state after the commit.
//! Recovery rebuilds the heap from the replayed states
//! (`InstanceState::timers`): a timer that fell due while the runtime was
//! down fires once, at start. A fire later than
//! `RuntimeOptions::timer_catch_up` is sent as `Command::SkipTimer`: the
//! engine skips it for a repeating timer (recorded, counted in
//! `TimerStats::skipped`) and fires it for a one-shot.

use super::group::Group;
use super::msg::Input;
use super::{Shard, SlotMap};
use crate::timer_stats::TimerShared;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use windlass_engine::ids::SubId;
use windlass_engine::state::SubKind;
use windlass_engine::{Command, Event, InstanceState};
use windlass_store_api::{InstanceRef, Store, TimerChange, TimerRow};
use windlass_types::Timestamp;

/// Stale heap entries tolerated before the heap is compacted (and at least
/// as many as live ones).
const COMPACT_AFTER: usize = 4096;

/// The store id of timer `sub` of `instance`.
pub(crate) fn timer_id(instance: &InstanceRef, sub: SubId) -> String {
    format!("{}/{}/t/{}", instance.id.0, instance.run.0, sub.0)
}

/// A shard's timers: the heap, and what the group being built opens and
/// closes.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Timestamp, InstanceRef, SubId)>>,
    /// Entries in the heap whose timer was closed before it came due.
    stale: usize,
    /// Timer rows of the group being built, by id: `Some` = inserted in
    /// this group, `None` = deleted (a row committed earlier).
    group: HashMap<String, Option<TimerRow>, super::FastHash>,
    /// Timers opened in the group being built, armed after its commit if
    /// still open.
    to_arm: Vec<(InstanceRef, SubId, Timestamp)>,
    /// Fires and skips of the group being built (counted once committed).
    fired: u64,
    skipped: u64,
    /// The armed count last added to `TimerShared`.
    reported: i64,
}

impl Timers {
    /// The heap of every open timer of `slots` (recovery).
    pub fn from_slots(slots: &SlotMap) -> Timers {
        let mut t = Timers::default();
        for (instance, slot) in slots {
            t.arm_all(instance, &slot.state);
        }
        t
    }

    /// Arms every open timer of `state` (start, reload after a failed
    /// commit; a timer armed twice fires once: the second is stale).
    pub fn arm_all(&mut self, instance: &InstanceRef, state: &InstanceState) {
        for (sub, due) in state.timers() {
            self.heap.push(Reverse((due, instance.clone(), sub)));
        }
    }

    /// A new run that starts from a carried state (a reset): a timer row
    /// for every open timer, armed after the commit.
    pub fn carried(&mut self, instance: &InstanceRef, state: &InstanceState) {
        for (sub, due_at) in state.timers() {
            let row = TimerRow {
                id: timer_id(instance, sub),
                instance: instance.clone(),
                due_at,
                payload: sub.0.to_le_bytes().to_vec(),
            };
            self.group.insert(row.id.clone(), Some(row));
            self.to_arm.push((instance.clone(), sub, due_at));
        }
    }

    /// The earliest due time armed.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.heap.peek().map(|Reverse((due, _, _))| *due)
    }

    /// True when `state` has an open timer due at `now` (it must fire
    /// before its instance counts as settled).
    pub fn has_due(state: &InstanceState, now: Timestamp) -> bool {
        state.timers().any(|(_, due)| due <= now)
    }

    /// Moves timers due at `now` into `queue` as inputs, until the queue
    /// holds `cap` inputs (the rest stay in the heap for the next groups,
    /// so a million timers due at once never sit in the queue together).
    pub fn take_due(&mut self, now: Timestamp, queue: &mut VecDeque<Input>, cap: usize) {
        while let Some(Reverse((due, _, _))) = self.heap.peek() {
            if *due > now || queue.len() >= cap {
                break;
            }
            if let Some(Reverse((_, instance, sub))) = self.heap.pop() {
                queue.push_back(Input::Timer { instance, sub });
            }
        }
    }

    /// Records the timer rows and arms of one decision's `events`.
    pub fn decided(&mut self, instance: &InstanceRef, events: &[Event]) {
        for e in events {
            match e {
                Event::TimerScheduled { sub, due_at, .. } => {
                    let row = TimerRow {
                        id: timer_id(instance, *sub),
                        instance: instance.clone(),
                        due_at: *due_at,
                        payload: sub.0.to_le_bytes().to_vec(),
                    };
                    self.group.insert(row.id.clone(), Some(row));
                    self.to_arm.push((instance.clone(), *sub, *due_at));
                }
                Event::TimerFired { sub }
                | Event::TimerCancelled { sub }
                | Event::TimerSkipped { sub } => {
                    let id = timer_id(instance, *sub);
                    // Inserted in this group: nothing to write at all.
                    if self.group.remove(&id).is_none() {
                        self.group.insert(id, None);
                    }
                    match e {
                        Event::TimerCancelled { .. } => self.stale += 1,
                        Event::TimerFired { .. } => self.fired += 1,
                        _ => self.skipped += 1,
                    }
                }
                _ => {}
            }
        }
    }

    /// Moves the group's timer rows into its batch.
    pub fn write_rows(&mut self, g: &mut Group) {
        // Sorted by id so a batch's content does not depend on hashing.
        let mut rows: Vec<(String, Option<TimerRow>)> = self.group.drain().collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, row) in rows {
            g.batch.timer(match row {
                Some(row) => TimerChange::Insert(row),
                None => TimerChange::Delete(id),
            });
        }
    }

    /// After the group committed: counts its fires and skips, arms the
    /// timers it opened that are still open, and compacts the heap when
    /// closed entries pile up.
    pub fn committed(&mut self, slots: &SlotMap, shared: &TimerShared) {
        shared.count(self.fired, self.skipped);
        (self.fired, self.skipped) = (0, 0);
        for (instance, sub, due) in self.to_arm.drain(..) {
            let open = slots
                .get(&instance)
                .is_some_and(|s| s.state.subscription(sub).is_some());
            if open {
                self.heap.push(Reverse((due, instance, sub)));
            }
        }
        if self.stale > COMPACT_AFTER && self.stale > self.heap.len() / 2 {
            self.heap.retain(|Reverse((_, instance, sub))| {
                slots
                    .get(instance)
                    .is_some_and(|s| s.state.subscription(*sub).is_some())
            });
            self.stale = 0;
        }
        let armed = i64::try_from(self.heap.len().saturating_sub(self.stale)).unwrap_or(i64::MAX);
        shared.armed_changed(armed - self.reported);
        self.reported = armed;
    }

    /// Disarms the timers of instances in `partitions` (given up:
    /// `shard/release.rs`).
    pub fn forget(&mut self, partitions: &windlass_types::PartitionSet) {
        self.heap
            .retain(|Reverse((_, instance, _))| !partitions.has_instance(&instance.id.0));
        self.stale = self.stale.min(self.heap.len());
    }

    /// The group failed: nothing it opened is armed (the affected
    /// instances are reloaded and re-armed from the store).
    pub fn commit_failed(&mut self) {
        self.group.clear();
        self.to_arm.clear();
        (self.fired, self.skipped) = (0, 0);
    }
}

impl<S: Store> Shard<S> {
    /// A due timer: parked while its instance is suspended (`parked.rs`);
    /// else `Command::FireTimer` through the group, unless it was
    /// closed meanwhile (or its instance finished); `Command::SkipTimer`
    /// when it is later than the catch-up window (the engine skips only
    /// repeating timers: one-shots fire anyway).
    pub(super) fn take_timer(&mut self, instance: InstanceRef, sub: SubId, g: &mut Group) {
        if self.is_suspended(&instance) {
            return self.park(&instance, super::parked::Parked::Timer(sub));
        }
        let due = self
            .slots
            .get(&instance)
            .and_then(|s| s.state.subscription(sub))
            .and_then(|s| match s.kind {
                SubKind::Timer { due_at, .. } => Some(due_at),
                SubKind::Message { .. } | SubKind::Signal { .. } | SubKind::Dedup { .. } => None,
            });
        let Some(due) = due else {
            return;
        };
        let late = self.shared.timers.catch_up.is_some_and(|w| {
            let w = i64::try_from(w.as_millis()).unwrap_or(i64::MAX);
            g.now.millis().saturating_sub(due.millis()) > w
        });
        let cmd = if late {
            Command::SkipTimer { sub }
        } else {
            Command::FireTimer { sub }
        };
        if let Err(e) = self.take_unanswered(instance, &cmd, None, g) {
            tracing::debug!(%sub, "timer fire dropped: {e}");
        }
    }
}

/// Resolves when the clock reaches `at` (never when there is none).
pub(super) async fn wake_at(
    clock: std::sync::Arc<dyn windlass_types::Clock>,
    at: Option<Timestamp>,
) {
    match at {
        Some(at) => crate::timer::sleep_until(clock, at).await,
        None => std::future::pending().await,
    }
}
