//! The embedding API on real stores: task functions bound by name template,
//! id and kind get their context; failures become BPMN errors, retries and
//! incidents; a cancelled job's token fires; and on SQLite a job under
//! way when the engine stopped runs again after the restart with the same
//! job key.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass::{Engine, EngineBuilder, InstanceStatus, TaskContext, TaskError, Vars};

fn doc(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">{body}</definitions>"#
    )
}

fn vars(v: serde_json::Value) -> Vars {
    serde_json::from_value(v).unwrap()
}

/// A multi-instance task named by a template, then a task of a kind.
fn builds() -> String {
    doc(r#"<process id="builds" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="build"/>
  <serviceTask id="build" name="Build {loop.value}">
    <multiInstanceLoopCharacteristics isSequential="true"><loopDataInputRef>images</loopDataInputRef></multiInstanceLoopCharacteristics>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="build" targetRef="push"/>
  <serviceTask id="push" name="Push"><extensionElements><windlass:task kind="registry" retries="2" backoff="PT0.01S"/></extensionElements></serviceTask>
  <sequenceFlow id="f3" sourceRef="push" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

#[tokio::test]
async fn functions_get_their_context_and_failures_become_retries_and_incidents() {
    let seen: Arc<Mutex<Vec<TaskContext>>> = Arc::default();
    let log = seen.clone();
    let engine = EngineBuilder::new()
        .on_name("Build {loop.value}", move |ctx: TaskContext| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(ctx.clone());
                Ok(Vars::new())
            }
        })
        .on_kind("registry", |ctx: TaskContext| async move {
            match ctx.var("mode").and_then(|m| m.as_str()) {
                Some("flaky") if ctx.attempt == 1 => Err(TaskError::retryable("registry busy")),
                Some("broken") => Err(TaskError::permanent("registry refused the image")),
                _ => Ok(Vars::from_iter([(
                    "attempts".to_string(),
                    json!(ctx.attempt),
                )])),
            }
        })
        .memory()
        .await
        .unwrap();
    engine.deploy(&builds()).await.unwrap();

    let id = engine
        .start(
            "builds",
            vars(json!({"images": ["api", "web"], "mode": "flaky"})),
        )
        .await
        .unwrap();
    let out = engine.wait_finished(&id).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables["attempts"], json!(2), "retried once");
    let seen = seen.lock().unwrap().clone();
    let names: Vec<&str> = seen.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Build api", "Build web"]);
    let first = &seen[0];
    assert_eq!(first.instance_id, id.id.0);
    assert_eq!(first.run_id, id.run.0);
    assert_eq!(first.node_id, "build");
    assert_eq!(first.attempt, 1);
    assert!(first.job_key.ends_with("/1"), "{}", first.job_key);
    assert!(
        first
            .job_key
            .starts_with(&format!("{}/", first.activity_key)),
        "{} / {}",
        first.job_key,
        first.activity_key
    );
    assert_ne!(seen[0].activity_key, seen[1].activity_key);

    let id = engine
        .start("builds", vars(json!({"images": [], "mode": "broken"})))
        .await
        .unwrap();
    let out = engine.wait_settled(&id).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains("registry refused the image"),
        "{:?}",
        out.incidents
    );
    engine.shutdown().await.unwrap();
}

/// `work`, interruptible by the message `stop`.
fn stoppable() -> String {
    doc(r#"<message id="m" name="stop"/>
<process id="stoppable" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <boundaryEvent id="stopped" attachedToRef="work"><messageEventDefinition messageRef="m"/></boundaryEvent>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <sequenceFlow id="f3" sourceRef="stopped" targetRef="e2"/>
  <endEvent id="e"/>
  <endEvent id="e2"/>
</process>"#)
}

#[tokio::test]
async fn an_interrupted_job_fires_the_functions_cancellation_token() {
    let (tell, told) = tokio::sync::oneshot::channel::<String>();
    let tell = Arc::new(Mutex::new(Some(tell)));
    let engine = Engine::builder()
        .on_node("work", move |ctx: TaskContext| {
            let tell = tell.clone();
            async move {
                // Work started elsewhere (a process, a remote call) watches
                // the token; the function's own future is dropped.
                let (token, key) = (ctx.cancel.clone(), ctx.job_key.clone());
                tokio::spawn(async move {
                    token.cancelled().await;
                    if let Some(t) = tell.lock().unwrap().take() {
                        let _ = t.send(key);
                    }
                });
                std::future::pending::<()>().await;
                Err(TaskError::bpmn("never-seen"))
            }
        })
        .memory()
        .await
        .unwrap();
    engine.deploy(&stoppable()).await.unwrap();
    let id = engine.start("stoppable", Vars::new()).await.unwrap();
    engine
        .runtime()
        .publish(windlass_engine::driver::Message {
            name: "stop".into(),
            correlation_key: None,
            message_id: None,
            vars: Vars::new(),
            ttl_millis: None,
        })
        .await
        .unwrap();
    let key = tokio::time::timeout(Duration::from_secs(20), told)
        .await
        .unwrap()
        .unwrap();
    assert!(key.starts_with(&id.id.0), "{key}");
    let out = engine.wait_finished(&id).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Completed, "by the boundary");
    engine.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_job_under_way_at_shutdown_runs_again_after_the_restart_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    let first = keys.clone();
    let engine = Engine::builder()
        .on_node("work", move |ctx: TaskContext| {
            let keys = first.clone();
            async move {
                keys.lock().unwrap().push(ctx.job_key.clone());
                std::future::pending::<()>().await;
                Ok(Vars::new())
            }
        })
        .sqlite(&db)
        .await
        .unwrap();
    engine.deploy(&stoppable()).await.unwrap();
    let id = engine.start("stoppable", Vars::new()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while keys.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    engine.shutdown().await.unwrap();
    drop(engine);

    let again = keys.clone();
    let engine = Engine::builder()
        .on_node("work", move |ctx: TaskContext| {
            let keys = again.clone();
            async move {
                keys.lock().unwrap().push(ctx.job_key.clone());
                Ok(Vars::from_iter([("done".to_string(), json!(true))]))
            }
        })
        .sqlite(&db)
        .await
        .unwrap();
    let out = engine.wait_finished(&id).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Completed);
    assert_eq!(out.variables["done"], json!(true));
    let keys = keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], keys[1], "the same job key after the restart");
    engine.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_engine_on_sqlite_is_cloned_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .on_node("work", |_: TaskContext| async { Ok(Vars::new()) })
        .sqlite(dir.path().join("w.db"))
        .await
        .unwrap();
    engine.deploy(&stoppable()).await.unwrap();
    let other = engine.clone();
    let id = tokio::spawn(async move { other.start("stoppable", Vars::new()).await })
        .await
        .unwrap()
        .unwrap();
    let out = engine.wait_finished(&id).await.unwrap();
    assert_eq!(out.status, InstanceStatus::Completed);
    engine.shutdown().await.unwrap();
}
