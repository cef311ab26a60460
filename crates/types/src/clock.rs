//! Time as an injected dependency: the engine never reads the clock, the
//! runtime passes [`Timestamp`]s in; tests drive a [`MockClock`].

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::Waker;

/// Milliseconds since the Unix epoch (UTC).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
    /// This timestamp plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// For clocks that move only when told ([`MockClock`]): arranges for
    /// `waker` to be woken once the clock reaches `at` and returns true.
    /// Real clocks keep the default, false: the caller waits real time
    /// (the runtime with its async timer) and then reads [`Clock::now`]
    /// again.
    fn wake_at(&self, at: Timestamp, waker: &Waker) -> bool {
        let _ = (at, waker);
        false
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one real clock: the runtime injects it, the pure crates never call it"
    )]
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }
}

/// A clock that only moves when a test moves it; whoever waits for a time
/// on it (see [`Clock::wake_at`]) is woken when it is moved there.
#[derive(Debug, Default)]
pub struct MockClock {
    now: AtomicI64,
    sleepers: Mutex<Vec<(Timestamp, Waker)>>,
}

impl MockClock {
    /// A mock clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: AtomicI64::new(start.0),
            sleepers: Mutex::default(),
        }
    }
    /// Moves the clock forward by `ms` milliseconds, waking the sleepers
    /// whose time has come.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
        self.wake_due();
    }
    /// Sets the clock to `t`, waking the sleepers whose time has come.
    pub fn set(&self, t: Timestamp) {
        self.now.store(t.0, Ordering::SeqCst);
        self.wake_due();
    }
    /// How many wake-ups are registered (tests wait for a sleeper to
    /// arrive before moving the clock).
    pub fn sleepers(&self) -> usize {
        self.sleepers.lock().map_or(0, |s| s.len())
    }

    fn wake_due(&self) {
        let now = self.now();
        let due: Vec<Waker> = match self.sleepers.lock() {
            Ok(mut list) => {
                let (due, rest) = std::mem::take(&mut *list)
                    .into_iter()
                    .partition(|(at, _)| *at <= now);
                *list = rest;
                due.into_iter().map(|(_, w)| w).collect()
            }
            Err(_) => Vec::new(),
        };
        // Woken outside the lock: a woken task may register again at once.
        for w in due {
            w.wake();
        }
    }
}

impl Clock for MockClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }

    fn wake_at(&self, at: Timestamp, waker: &Waker) -> bool {
        if let Ok(mut list) = self.sleepers.lock()
            && !list.iter().any(|(t, w)| *t == at && w.will_wake(waker))
        {
            list.push((at, waker.clone()));
        }
        // Moved there meanwhile: wake now rather than miss it.
        if self.now() >= at {
            self.wake_due();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_moves_only_when_told() {
        let c = MockClock::new(Timestamp(1_000));
        assert_eq!(c.now(), Timestamp(1_000));
        c.advance(500);
        assert_eq!(c.now(), Timestamp(1_500));
        c.set(Timestamp(7));
        assert_eq!(c.now().millis(), 7);
    }

    #[test]
    fn mock_clock_wakes_sleepers_when_moved_past_their_time() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        use std::task::Wake;
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let c = MockClock::new(Timestamp(0));
        assert!(c.wake_at(Timestamp(100), &waker));
        assert!(c.wake_at(Timestamp(100), &waker), "registered once");
        assert_eq!(c.sleepers(), 1);
        c.advance(99);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        c.advance(1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(c.sleepers(), 0);
        assert!(
            !SystemClock.wake_at(Timestamp(0), &waker),
            "real clocks wait real time"
        );
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().millis() > 1_577_836_800_000);
    }
}
