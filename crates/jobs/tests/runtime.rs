//! Shell and http jobs end to end through the runtime (memory store, mock
//! clock for retries): success, and failure → retry → incident.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_store_api::{HistoryRead, InstanceRef, InstanceStatus};
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp};

fn doc(tasks: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
  {tasks}
  <sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

async fn server() -> String {
    let router = Router::new()
        .route(
            "/hello/{who}",
            get(
                |axum::extract::Path(who): axum::extract::Path<String>| async move {
                    axum::Json(json!({"hello": who}))
                },
            ),
        )
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn start(
    xml: &str,
    input: serde_json::Value,
) -> (RuntimeHandle<MemoryStore>, InstanceRef, Arc<MockClock>) {
    let clock = Arc::new(MockClock::new(Timestamp(1_700_000_000_000)));
    let opts = RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    let handlers = windlass_jobs::builtin(Handlers::new());
    let rt = Runtime::start(opts, MemoryStore::new(), handlers)
        .await
        .unwrap();
    rt.deploy(xml).await.unwrap();
    let vars = input.as_object().cloned().unwrap();
    let mut req = StartRequest::new("p");
    req.vars = vars;
    let id = rt.start_instance(req).await.unwrap();
    (rt, id, clock)
}

/// Waits for the instance to settle, moving the mock clock past each
/// retry's backoff as the runtime arms it.
async fn settle(
    rt: &RuntimeHandle<MemoryStore>,
    id: &InstanceRef,
    clock: &MockClock,
) -> windlass_runtime::InstanceOutcome {
    let wait = rt.wait_settled(id);
    tokio::pin!(wait);
    for _ in 0..2000 {
        tokio::select! {
            out = &mut wait => return out.unwrap(),
            () = tokio::time::sleep(Duration::from_millis(10)) => {
                if clock.sleepers() > 0 {
                    clock.advance(3_600_000);
                }
            }
        }
    }
    panic!("the instance did not settle");
}

async fn failures(rt: &RuntimeHandle<MemoryStore>, id: &InstanceRef) -> Vec<u32> {
    rt.store()
        .history(id)
        .await
        .unwrap()
        .iter()
        .filter_map(|h| match decode_event(&h.payload).unwrap() {
            Event::JobFailed { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_shell_then_an_http_task_complete_with_their_outputs() {
    let base = server().await;
    let xml = doc(r#"
  <serviceTask id="a" name="Greet">
    <extensionElements><windlass:task kind="shell">
      <windlass:setting name="command" value="printf %s {name}"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <serviceTask id="b" name="Call">
    <extensionElements><windlass:task kind="http">
      <windlass:setting name="url" value="{base}/hello/{stdout}"/>
    </windlass:task></extensionElements>
  </serviceTask>"#);
    let (rt, id, clock) = start(&xml, json!({"name": "ann", "base": base})).await;
    let out = settle(&rt, &id, &clock).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert_eq!(out.variables["stdout"], "ann");
    assert_eq!(out.variables["exitCode"], 0);
    assert_eq!(out.variables["response"]["status"], 200);
    assert_eq!(out.variables["response"]["body"], json!({"hello": "ann"}));
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_shell_task_is_retried_then_becomes_an_incident() {
    let xml = doc(r#"
  <serviceTask id="a" name="Fail">
    <extensionElements><windlass:task kind="shell" retries="3" backoff="PT1S">
      <windlass:setting name="command" value="echo broken >&amp;2; exit 3"/>
      <windlass:setting name="shell" value="sh"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <task id="b"/>"#);
    let (rt, id, clock) = start(&xml, json!({})).await;
    let out = settle(&rt, &id, &clock).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert_eq!(
        out.incidents,
        vec![
            "job for 'Fail' failed after 3 attempt(s): task 'Fail': exited with code 3: broken"
                .to_string()
        ]
    );
    assert_eq!(failures(&rt, &id).await, vec![1, 2, 3]);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_http_task_is_retried_then_becomes_an_incident() {
    let base = server().await;
    let xml = doc(&format!(
        r#"
  <serviceTask id="a" name="Call">
    <extensionElements><windlass:task kind="http" retries="2" backoff="PT1S">
      <windlass:setting name="url" value="{base}/down"/>
      <windlass:setting name="maxRetries" value="0"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <task id="b"/>"#
    ));
    let (rt, id, clock) = start(&xml, json!({})).await;
    let out = settle(&rt, &id, &clock).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert_eq!(out.incidents.len(), 1);
    assert!(
        out.incidents[0].contains("status 503: down (after 1 tries)"),
        "{:?}",
        out.incidents
    );
    assert_eq!(failures(&rt, &id).await, vec![1, 2]);
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_settings_become_an_incident_at_once() {
    let xml = doc(r#"
  <serviceTask id="a" name="Odd">
    <extensionElements><windlass:task kind="shell" retries="5">
      <windlass:setting name="command" value="true"/>
      <windlass:setting name="cwd" value="/tmp"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <task id="b"/>"#);
    let (rt, id, clock) = start(&xml, json!({})).await;
    let out = settle(&rt, &id, &clock).await;
    assert_eq!(
        out.incidents,
        vec![
            "job for 'Odd' failed after 1 attempt(s): task 'Odd' (kind 'shell'): unknown setting 'cwd'"
                .to_string()
        ]
    );
    assert_eq!(failures(&rt, &id).await, vec![1]);
    rt.shutdown().await.unwrap();
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped by whoever adopted it) is gone too.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// A process whose shell task starts a grandchild `sleep` (its pid in
/// `file`) and waits for it.
fn hanging(file: &std::path::Path) -> String {
    doc(&format!(
        r#"
  <serviceTask id="a" name="Hang">
    <extensionElements><windlass:task kind="shell">
      <windlass:setting name="command" value="sleep 300 &amp; echo $! > {}; wait"/>
      <windlass:setting name="shell" value="sh"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <task id="b"/>"#,
        file.display()
    ))
}

async fn grandchild(file: &std::path::Path) -> i32 {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Ok(p) = text.trim().parse::<i32>()
        {
            assert!(alive(p));
            return p;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the job never started its grandchild");
}

async fn gone(pid: i32) -> bool {
    for _ in 0..200 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn cancelling_the_instance_kills_the_shell_jobs_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pid");
    let (rt, id, _clock) = start(&hanging(&file), json!({})).await;
    let pid = grandchild(&file).await;
    rt.cancel(&id, "no longer needed").await.unwrap();
    let out = rt.wait_settled(&id).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Cancelled);
    assert!(
        gone(pid).await,
        "the grandchild {pid} survived the cancelled instance"
    );
    rt.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutting_the_runtime_down_kills_running_shell_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pid");
    let (rt, _id, _clock) = start(&hanging(&file), json!({})).await;
    let pid = grandchild(&file).await;
    rt.shutdown().await.unwrap();
    assert!(
        gone(pid).await,
        "the grandchild {pid} survived the shutdown"
    );
}

#[tokio::test]
async fn settings_are_rendered_with_the_input_mappings_applied() {
    // `who` exists only as the task's input mapping: the setting sees it as
    // the script does, and a placeholder nothing fills is an incident
    // naming the setting, not literal text passed on.
    let xml = doc(r#"
  <serviceTask id="a" name="Greet">
    <extensionElements>
      <windlass:input source="name" target="who"/>
      <windlass:task kind="shell">
        <windlass:setting name="command" value="printf %s-%s &quot;$WINDLASS_VAR_who&quot; &quot;$WHO&quot;"/>
        <windlass:setting name="shell" value="sh"/>
        <windlass:setting name="env.WHO" value="{who}"/>
      </windlass:task>
    </extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <serviceTask id="b" name="Again">
    <extensionElements><windlass:task kind="shell">
      <windlass:setting name="command" value="true"/>
      <windlass:setting name="env.WHO" value="{who}"/>
    </windlass:task></extensionElements>
  </serviceTask>"#);
    let (rt, id, clock) = start(&xml, json!({"name": "ann"})).await;
    let out = settle(&rt, &id, &clock).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert_eq!(out.variables["stdout"], "ann-ann");
    assert_eq!(
        out.incidents,
        vec![
            "job for 'Again' failed after 1 attempt(s): task 'Again' (kind 'shell'): setting \
             'env.WHO': template '{who}': no value for {who} (missing or null)"
                .to_string()
        ]
    );
    rt.shutdown().await.unwrap();
}
