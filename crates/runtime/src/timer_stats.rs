//! What the shards' timer services did ([`TimerStats`], read with
//! `RuntimeHandle::timer_stats`) and the catch-up window they share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Timer counters since the runtime started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerStats {
    /// Timers fired (`TimerFired` committed).
    pub fired: u64,
    /// Occurrences of repeating timers skipped because they came later than
    /// `RuntimeOptions::timer_catch_up` (`TimerSkipped` committed).
    pub skipped: u64,
}

/// The shared side of the timer services: the catch-up window and the
/// counters.
#[derive(Debug, Default)]
pub(crate) struct TimerShared {
    /// Fires older than this are skipped (repeating timers only).
    pub catch_up: Option<Duration>,
    fired: AtomicU64,
    skipped: AtomicU64,
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

    /// The counters so far.
    pub fn stats(&self) -> TimerStats {
        TimerStats {
            fired: self.fired.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}
