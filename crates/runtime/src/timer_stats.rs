//! What the shards' timer services did ([`TimerStats`], read with
//! `RuntimeHandle::timer_stats`) and the catch-up window they share.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Timer counters since the runtime started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerStats {
    /// Timers fired (`TimerFired` committed).
    pub fired: u64,
    /// Occurrences of repeating timers skipped because they came later than
    /// `RuntimeOptions::timer_catch_up` (`TimerSkipped` committed).
    pub skipped: u64,
    /// Timers armed in the shards' heaps now, as of each shard's last
    /// commit (a timer closed without a `TimerCancelled`, by a finished
    /// instance, leaves the heap when it comes due).
    pub armed: u64,
}

/// The runtime's levels at one moment (`RuntimeHandle::levels`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Levels {
    /// Per shard: inputs waiting in its bounded intake.
    pub intake: Vec<usize>,
    /// Timers armed (see [`TimerStats::armed`]).
    pub timers_armed: u64,
    /// Messages buffered by the correlator.
    pub messages_buffered: u64,
}

/// The shared side of the timer services: the catch-up window and the
/// counters.
#[derive(Debug, Default)]
pub(crate) struct TimerShared {
    /// Fires older than this are skipped (repeating timers only).
    pub catch_up: Option<Duration>,
    fired: AtomicU64,
    skipped: AtomicU64,
    armed: AtomicI64,
}

impl TimerShared {
    /// With the catch-up window `catch_up`.
    pub fn new(catch_up: Option<Duration>) -> Self {
        TimerShared {
            catch_up,
            ..TimerShared::default()
        }
    }

    /// Counts a committed group's fires and skips.
    pub fn count(&self, fired: u64, skipped: u64) {
        if fired > 0 {
            self.fired.fetch_add(fired, Ordering::Relaxed);
        }
        if skipped > 0 {
            self.skipped.fetch_add(skipped, Ordering::Relaxed);
        }
    }

    /// A shard's armed timers changed by `delta`.
    pub fn armed_changed(&self, delta: i64) {
        if delta != 0 {
            self.armed.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> TimerStats {
        TimerStats {
            fired: self.fired.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            armed: u64::try_from(self.armed.load(Ordering::Relaxed)).unwrap_or(0),
        }
    }
}
