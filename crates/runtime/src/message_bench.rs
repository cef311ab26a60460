//! The message benchmark (`bench::messages`): park N instances at a
//! message catch event (each keyed by its own order id), then publish one
//! message per instance from `publishers` concurrent tasks and measure how
//! many are correlated per second (each correlation moves its instance on
//! to its end: the correlator's hop, the instance's commit with the
//! message row, and the completion).

use crate::error::{RuntimeError, RuntimeResult};
use crate::handlers::Handlers;
use crate::messages::PublishOutcome;
use crate::options::RuntimeOptions;
use crate::runtime::Runtime;
use crate::start::StartRequest;
use std::time::Instant;
use windlass_engine::driver::Message;
use windlass_store_api::Store;
use windlass_types::Vars;

/// start → message catch event `paid` keyed by `order` → end.
pub const MESSAGE_PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:b">
<message id="m" name="paid">
  <extensionElements><windlass:correlation key="order"/></extensionElements>
</message>
<process id="paid" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
  <intermediateCatchEvent id="w"><messageEventDefinition messageRef="m"/></intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

/// Results of [`messages`].
#[derive(Debug, Clone, PartialEq)]
pub struct MessageBench {
    /// Messages published (one per waiting instance).
    pub messages: usize,
    /// Time to park the instances.
    pub park_seconds: f64,
    /// Time from the first publication until every one was answered
    /// `Correlated`.
    pub correlate_seconds: f64,
    /// `messages / correlate_seconds`.
    pub correlated_per_second: f64,
}

/// Parks `instances` instances of [`MESSAGE_PROCESS`] over `shards`
/// shards, then publishes their messages from `publishers` tasks.
pub async fn messages<S: Store>(
    store: S,
    instances: usize,
    shards: usize,
    publishers: usize,
) -> RuntimeResult<MessageBench> {
    let opts = RuntimeOptions {
        shards,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, store, Handlers::new()).await?;
    let dep = rt.deploy(MESSAGE_PROCESS).await?;
    let key = dep
        .default_key
        .ok_or_else(|| RuntimeError::UnknownDefinition("(no executable process)".into()))?;
    let started = Instant::now();
    let mut last = None;
    for i in 0..instances {
        let mut req = StartRequest::new(key.clone());
        req.vars.insert("order".into(), format!("o-{i}").into());
        last = Some(rt.start_detached(req).await?);
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
    let t0 = Instant::now();
    let publishers = publishers.clamp(1, instances.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..publishers {
        let rt = rt.clone();
        tasks.spawn(async move {
            let mut i = p;
            while i < instances {
                let m = Message {
                    name: "paid".into(),
                    correlation_key: Some(format!("o-{i}")),
                    message_id: None,
                    vars: Vars::new(),
                    ttl_millis: None,
                };
                match rt.publish(m).await? {
                    PublishOutcome::Correlated { .. } => {}
                    other => {
                        return Err(RuntimeError::TimedOut(format!(
                            "message o-{i} was not correlated: {other:?}"
                        )));
                    }
                }
                i += publishers;
            }
            Ok::<(), RuntimeError>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| RuntimeError::TaskPanicked(e.to_string()))??;
    }
    let correlate_seconds = t0.elapsed().as_secs_f64();
    rt.shutdown().await?;
    Ok(MessageBench {
        messages: instances,
        park_seconds,
        correlate_seconds,
        correlated_per_second: instances as f64 / correlate_seconds.max(1e-9),
    })
}
