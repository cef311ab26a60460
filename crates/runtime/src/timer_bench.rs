//! The timer benchmark (`bench::timers`): park N instances at a timer catch
//! event (N pending timers, due times spread over N/1000 distinct
//! milliseconds), measure resident memory per pending timer, then move the
//! mock clock past them all and measure how fast they fire (each fire moves
//! its instance on to its end: fire + completion, group-committed).

use crate::bench::rss_bytes;
use crate::error::{RuntimeError, RuntimeResult};
use crate::handlers::Handlers;
use crate::options::RuntimeOptions;
use crate::runtime::Runtime;
use crate::start::StartRequest;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use windlass_store_api::Store;
use windlass_types::{MockClock, Timestamp};

/// start → timer catch event (`PT1H`) → end.
pub const TIMER_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:b">
<process id="timer" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
  <intermediateCatchEvent id="w">
    <timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>
  </intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

/// Results of [`timers`].
#[derive(Debug, Clone, PartialEq)]
pub struct TimerBench {
    /// Timers pending before the clock moved (one per instance).
    pub pending: usize,
    /// Resident memory per pending timer (its waiting instance included),
    /// bytes.
    pub bytes_per_timer: f64,
    /// Time to park them all.
    pub park_seconds: f64,
    /// Time from moving the clock until every instance completed.
    pub fire_seconds: f64,
    /// `pending / fire_seconds`.
    pub fired_per_second: f64,
    /// Fires counted by the runtime.
    pub fired: u64,
}

/// Parks `instances` instances of [`TIMER_PROCESS`] on one shard, then
/// fires all their timers.
pub async fn timers<S: Store>(store: S, instances: usize) -> RuntimeResult<TimerBench> {
    let t0 = Timestamp(1_767_225_600_000);
    let clock = Arc::new(MockClock::new(t0));
    let done = Arc::new(AtomicUsize::new(0));
    let seen = done.clone();
    let opts = RuntimeOptions {
        clock: clock.clone(),
        on_finished: Some(Arc::new(move |_, _| {
            seen.fetch_add(1, Ordering::Relaxed);
        })),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, store, Handlers::new()).await?;
    let dep = rt.deploy(TIMER_PROCESS).await?;
    let key = dep
        .default_key
        .ok_or_else(|| RuntimeError::UnknownDefinition("(no executable process)".into()))?;
    let rss_before = rss_bytes()?;
    let started = Instant::now();
    let mut last = None;
    for i in 0..instances {
        last = Some(rt.start_detached(StartRequest::new(key.clone())).await?);
        if i % 1_000 == 999 {
            // Spread the due times.
            clock.advance(1);
        }
        if i % 10_000 == 9_999
            && let Some(l) = &last
        {
            rt.wait_settled(l).await?;
        }
    }
    if let Some(l) = &last {
        rt.wait_settled(l).await?;
    }
    let park_seconds = started.elapsed().as_secs_f64();
    let rss_after = rss_bytes()?;
    let fire_start = Instant::now();
    clock.advance(2 * 3_600_000);
    while done.load(Ordering::Relaxed) < instances {
        if let Some(e) = rt.storage_failed() {
            return Err(RuntimeError::Store(e));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let fire_seconds = fire_start.elapsed().as_secs_f64();
    let fired = rt.timer_stats().fired;
    rt.shutdown().await?;
    Ok(TimerBench {
        pending: instances,
        bytes_per_timer: rss_after.saturating_sub(rss_before) as f64 / instances.max(1) as f64,
        park_seconds,
        fire_seconds,
        fired_per_second: instances as f64 / fire_seconds.max(1e-9),
        fired,
    })
}
