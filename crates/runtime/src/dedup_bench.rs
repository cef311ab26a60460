//! The dedup benchmark (`bench::dedup`): `events` coalesced starts over
//! `keys` dedup keys of a process whose start event carries the key, from
//! `publishers` concurrent tasks, each submitting `batch` events at a time
//! (`start_coalesced_many`: a watch delivering a page of events; a batch of
//! 1 is `start_coalesced`). The first event of each key starts an
//! instance whose job stays open (a long reconcile); every later event of
//! the key replaces the start waiting for it. Measures events answered
//! (durably) per second.

use crate::dedup::DedupOutcome;
use crate::error::{RuntimeError, RuntimeResult};
use crate::handlers::Handlers;
use crate::job::HandlerResult;
use crate::options::RuntimeOptions;
use crate::runtime::Runtime;
use crate::start::StartRequest;
use std::time::Instant;
use windlass_store_api::Store;

/// A start event carrying the dedup key `{key}` → "Reconcile" → end.
pub const DEDUP_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:b">
<process id="reconcile" isExecutable="true">
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{key}"/></extensionElements>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
  <serviceTask id="w" name="Reconcile"/>
  <sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

/// Results of [`dedup`].
#[derive(Debug, Clone, PartialEq)]
pub struct DedupBench {
    /// Events submitted.
    pub events: usize,
    /// Distinct keys.
    pub keys: usize,
    /// Events that started an instance.
    pub started: usize,
    /// Events queued behind a holder (all but the latest per key replaced).
    pub queued: usize,
    /// Time from the first event until every one was answered.
    pub seconds: f64,
    /// `events / seconds`.
    pub events_per_second: f64,
}

/// Submits `events` coalesced starts over `keys` keys from `publishers`
/// tasks in batches of `batch`, on one shard.
pub async fn dedup<S: Store>(
    store: S,
    events: usize,
    keys: usize,
    publishers: usize,
    batch: usize,
) -> RuntimeResult<DedupBench> {
    let batch = batch.max(1);
    let handlers = Handlers::new().on_name("Reconcile", |_job: &crate::job::Job| {
        HandlerResult::External
    });
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
    rt.deploy(DEDUP_PROCESS).await?;
    let keys = keys.max(1);
    let publishers = publishers.clamp(1, events.max(1));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..publishers {
        let rt = rt.clone();
        tasks.spawn(async move {
            let (mut started, mut queued) = (0usize, 0usize);
            // Publisher p takes events p, p + publishers, ... in batches.
            let mut mine = (p..events).step_by(publishers).peekable();
            while mine.peek().is_some() {
                let reqs: Vec<StartRequest> = mine
                    .by_ref()
                    .take(batch)
                    .map(|i| {
                        let mut req = StartRequest::new("reconcile");
                        req.vars
                            .insert("key".into(), format!("ns/obj-{}", i % keys).into());
                        req
                    })
                    .collect();
                for outcome in rt.start_coalesced_many(reqs).await? {
                    match outcome {
                        DedupOutcome::Started(_) => started += 1,
                        DedupOutcome::Queued(_) => queued += 1,
                    }
                }
            }
            Ok::<_, RuntimeError>((started, queued))
        });
    }
    let (mut started, mut queued) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (s, q) = r.map_err(|e| RuntimeError::TaskPanicked(e.to_string()))??;
        started += s;
        queued += q;
    }
    let seconds = t0.elapsed().as_secs_f64();
    rt.shutdown().await?;
    Ok(DedupBench {
        events,
        keys,
        started,
        queued,
        seconds,
        events_per_second: events as f64 / seconds.max(1e-9),
    })
}
