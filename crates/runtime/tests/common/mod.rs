//! Shared helpers of the runtime's integration tests: small BPMN documents
//! and handler builders.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_runtime::{HandlerResult, InstanceOutcome, Job, JobOutcome, RuntimeHandle};
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Vars;

/// Wraps process elements in a `<definitions>` document.
pub fn doc(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
{body}
</definitions>"#
    )
}

/// start → serviceTask "Work" → end.
pub fn simple(process: &str) -> String {
    doc(&format!(
        r#"<process id="{process}" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

/// start → `<{kind} id="t" name="{name}"/>` → end.
pub fn one_task(process: &str, kind: &str, name: &str) -> String {
    doc(&format!(
        r#"<process id="{process}" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <{kind} id="t" name="{name}"/>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <endEvent id="e"/>
</process>"#
    ))
}

/// A parent calling `child` through a call activity, then "After"; the
/// child runs "Inside".
pub fn parent_and_child() -> String {
    doc(r#"<process id="parent" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
  <callActivity id="call" name="Call child" calledElement="child"/>
  <sequenceFlow id="f2" sourceRef="call" targetRef="after"/>
  <serviceTask id="after" name="After"/>
  <sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
  <endEvent id="e"/>
</process>
<process id="child" isExecutable="true">
  <startEvent id="cs"/>
  <sequenceFlow id="c1" sourceRef="cs" targetRef="inside"/>
  <serviceTask id="inside" name="Inside"/>
  <sequenceFlow id="c2" sourceRef="inside" targetRef="ce"/>
  <endEvent id="ce"/>
</process>"#)
}

/// A handler that counts calls and completes with `{name: n}`.
pub fn counting(counter: Arc<AtomicUsize>, var: &'static str) -> impl Fn(&Job) -> HandlerResult {
    move |_job: &Job| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let mut v = Vars::new();
        v.insert(var.into(), n.into());
        HandlerResult::Ready(JobOutcome::done(v))
    }
}
pub mod failing;
pub mod gated;

/// The instance once it has settled, failing the test after 20 s instead
/// of hanging.
pub async fn settled<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> InstanceOutcome {
    tokio::time::timeout(Duration::from_secs(20), rt.wait_settled(id))
        .await
        .unwrap()
        .unwrap()
}

/// The instance once it has finished, failing the test after 20 s.
pub async fn finished<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> InstanceOutcome {
    tokio::time::timeout(Duration::from_secs(20), rt.wait_finished(id))
        .await
        .unwrap()
        .unwrap()
}

/// The instance's stored history, decoded.
pub async fn events<S: Store>(rt: &RuntimeHandle<S>, id: &InstanceRef) -> Vec<Event> {
    let history = rt.store().history(id).await.unwrap();
    history
        .iter()
        .map(|h| decode_event(&h.payload).unwrap())
        .collect()
}

/// The external jobs handed out: (key, cancellation token).
pub type Handed = Arc<std::sync::Mutex<Vec<(String, windlass_runtime::CancellationToken)>>>;

/// A handler for external workers that records each job's key and token.
pub fn external(handed: Handed) -> impl Fn(&Job) -> HandlerResult {
    move |job: &Job| {
        handed
            .lock()
            .unwrap()
            .push((job.key.clone(), job.cancel.clone()));
        HandlerResult::External
    }
}

/// start → wait `PT10M` → "After" → end (process `t`).
pub fn timer_catch() -> String {
    doc(r#"<process id="t" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
  <intermediateCatchEvent id="wait" name="Wait">
    <timerEventDefinition><timeDuration>PT10M</timeDuration></timerEventDefinition>
  </intermediateCatchEvent>
  <sequenceFlow id="f2" sourceRef="wait" targetRef="after"/>
  <serviceTask id="after" name="After"/>
  <sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}
