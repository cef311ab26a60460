//! The signal broadcast benchmark (`bench::signals`): park N instances at
//! a signal catch event, broadcast the signal once, and measure how long
//! until every instance took it and completed — on the single node of a
//! store (the broadcast goes to every shard) and on runtimes serving a
//! share of the partitions each (the broadcast is one row per partition,
//! which each node takes from the store: `broadcast_parts.rs`).

use crate::error::{RuntimeError, RuntimeResult};
use crate::handlers::Handlers;
use crate::options::RuntimeOptions;
use crate::runtime::{Runtime, RuntimeHandle};
use crate::start::StartRequest;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use windlass_store_api::{InstanceStatus, PartitionSet, Store};
use windlass_types::Vars;

/// start → signal catch event `go` → end.
pub const SIGNAL_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:b">
<signal id="go" name="go"/>
<process id="wait-go" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
  <intermediateCatchEvent id="w"><signalEventDefinition signalRef="go"/></intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

/// Results of [`signals`].
#[derive(Debug, Clone, PartialEq)]
pub struct SignalBench {
    /// Waiting instances.
    pub instances: usize,
    /// Runtimes sharing the partitions (0: the single node of its store).
    pub nodes: usize,
    /// Time to park the instances.
    pub park_seconds: f64,
    /// How long the broadcast call took.
    pub call_seconds: f64,
    /// Time from the call until every instance completed.
    pub reach_seconds: f64,
    /// `instances / reach_seconds`.
    pub per_second: f64,
}

/// Parks `instances` instances of [`SIGNAL_PROCESS`] and broadcasts `go`
/// once through the first runtime: one runtime on `store` when `nodes` is
/// 0, else `nodes` runtimes on clones of it, each serving an equal share of
/// the partitions and looking for deliveries every `poll` (on PostgreSQL a
/// `NOTIFY` wakes them instead).
pub async fn signals<S: Store + Clone>(
    store: S,
    instances: usize,
    nodes: usize,
    poll: Duration,
) -> RuntimeResult<SignalBench> {
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let listener: crate::FinishListener = {
        let (done, all_done) = (done.clone(), all_done.clone());
        Arc::new(move |_, status| {
            if status == InstanceStatus::Completed {
                done.fetch_add(1, Ordering::SeqCst);
                all_done.notify_one();
            }
        })
    };
    let shares = u16::try_from(nodes).unwrap_or(u16::MAX);
    let mut rts: Vec<RuntimeHandle<S>> = Vec::new();
    for i in 0..nodes.max(1) {
        let opts = RuntimeOptions {
            partitions: (nodes > 0).then(|| PartitionSet::share(i as u16, shares)),
            delivery_poll: poll,
            on_finished: Some(listener.clone()),
            ..RuntimeOptions::default()
        };
        rts.push(Runtime::start(opts, store.clone(), Handlers::new()).await?);
    }
    let first = rts
        .first()
        .cloned()
        .ok_or_else(|| RuntimeError::Unsupported("no runtime".into()))?;
    let dep = first.deploy(SIGNAL_PROCESS).await?;
    let key = dep
        .default_key
        .ok_or_else(|| RuntimeError::UnknownDefinition("(no executable process)".into()))?;
    let started = Instant::now();
    // The last instance started through each runtime: settled, all of its
    // instances are parked.
    let mut last = vec![None; rts.len()];
    for i in 0..instances {
        let n = i % rts.len();
        let id = rts[n]
            .start_detached(StartRequest::new(key.clone()))
            .await?;
        if i % 10_000 == 9_999 {
            rts[n].wait_settled(&id).await?;
        }
        last[n] = Some(id);
    }
    for (rt, id) in rts.iter().zip(&last) {
        if let Some(id) = id {
            rt.wait_settled(id).await?;
        }
    }
    let park_seconds = started.elapsed().as_secs_f64();
    let t0 = Instant::now();
    first.broadcast("go", Vars::new()).await?;
    let call_seconds = t0.elapsed().as_secs_f64();
    let deadline = Duration::from_secs(600);
    while done.load(Ordering::SeqCst) < instances {
        let wait = deadline.saturating_sub(t0.elapsed());
        if tokio::time::timeout(wait, all_done.notified())
            .await
            .is_err()
        {
            return Err(RuntimeError::TimedOut(format!(
                "{} of {instances} instances took the broadcast",
                done.load(Ordering::SeqCst)
            )));
        }
    }
    let reach_seconds = t0.elapsed().as_secs_f64();
    for rt in rts {
        rt.shutdown().await?;
    }
    Ok(SignalBench {
        instances,
        nodes,
        park_seconds,
        call_seconds,
        reach_seconds,
        per_second: instances as f64 / reach_seconds.max(1e-9),
    })
}
