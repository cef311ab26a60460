//! Waiting for a time on the injected [`Clock`]: the one time source of the
//! runtime. Retry backoff and job timeouts wait for a [`Timestamp`] of the
//! clock; a clock that moves only when told (`MockClock`) wakes the waiter
//! when it is moved there, a real clock is waited for with tokio's timer and
//! read again (so a wall-clock jump is noticed).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;
use windlass_types::{Clock, Timestamp};

/// Resolves once `clock` reads `at` or later.
pub(crate) fn sleep_until(clock: Arc<dyn Clock>, at: Timestamp) -> SleepUntil {
    SleepUntil {
        clock,
        at,
        real: None,
    }
}

/// The future of [`sleep_until`].
pub(crate) struct SleepUntil {
    clock: Arc<dyn Clock>,
    at: Timestamp,
    /// The real-time wait of a real clock, armed for what is left.
    real: Option<Pin<Box<Sleep>>>,
}

impl Future for SleepUntil {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let now = self.clock.now();
            if now >= self.at {
                return Poll::Ready(());
            }
            if self.clock.wake_at(self.at, cx.waker()) {
                return Poll::Pending;
            }
            let left = Duration::from_millis(u64::try_from(self.at.0 - now.0).unwrap_or(0));
            let sleep = self
                .real
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(left)));
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // Read the clock again; re-arm for what is left, if any.
                Poll::Ready(()) => self.real = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use windlass_types::{MockClock, SystemClock};

    #[tokio::test]
    async fn a_mock_clock_fires_the_sleeper_when_advanced() {
        let clock = Arc::new(MockClock::new(Timestamp(1_000)));
        let task = tokio::spawn(sleep_until(clock.clone(), Timestamp(3_600_000)));
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!task.is_finished());
        clock.advance(3_600_000);
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .map_or_else(|_| panic!("woken"), |r| assert!(r.is_ok()));
    }

    #[tokio::test]
    async fn a_real_clock_waits_real_time() {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let t0 = std::time::Instant::now();
        sleep_until(clock.clone(), clock.now().plus_millis(30)).await;
        assert!(t0.elapsed() >= Duration::from_millis(25));
    }
}
