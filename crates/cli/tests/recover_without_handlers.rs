//! Issue 16 defect 2, on the real binary: a `recover` without the mocks a
//! crash-interrupted job needs leaves that job pending ("waiting", exit 3)
//! instead of turning it into an incident; a later `recover` with the mocks
//! completes it, exactly once.
//!
//! The crash is made in-process: a runtime whose handler never answers is
//! dropped with its tokio runtime, no shutdown (what SIGKILL leaves: the
//! instance running, its job's outbox row pending).

use std::path::Path;
use std::process::Command;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceIndex, InstanceRef, InstanceStatus, OutboxRead};
use windlass_store_sqlite::SqliteStore;

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

fn crash_mid_job(db: &Path) -> anyhow::Result<InstanceRef> {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio_rt.block_on(async {
        let slow = Handlers::new().on_name("Work", |_: &Job| {
            HandlerResult::Pending(Box::pin(async {
                std::future::pending::<()>().await;
                JobOutcome::done(Default::default())
            }))
        });
        let rt = Runtime::start(RuntimeOptions::default(), SqliteStore::open(db)?, slow).await?;
        rt.deploy(XML).await?;
        let mut req = StartRequest::new("p");
        req.instance_id = Some("interrupted".into());
        Ok(rt.start_instance(req).await?)
    })
    // The tokio runtime is dropped here with the job running: a crash.
}

fn status_and_outbox(db: &Path, id: &InstanceRef) -> anyhow::Result<(InstanceStatus, usize)> {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio_rt.block_on(async {
        let store = SqliteStore::open(db)?;
        let row = store.instance(id).await?.expect("the instance exists");
        Ok((row.status, store.pending_outbox().await?.len()))
    })
}

fn recover(db: &Path, mocks: &[&str]) -> anyhow::Result<(i32, String)> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_windlass"));
    c.arg("recover")
        .arg("--db")
        .arg(db)
        .args(["--format", "json"]);
    for m in mocks {
        c.args(["--mock", m]);
    }
    let out = c.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok((out.status.code().unwrap_or(-1), stdout))
}

#[test]
fn recover_without_the_mocks_leaves_the_interrupted_job_pending() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("crashed.db");
    let id = crash_mid_job(&db)?;
    assert_eq!(status_and_outbox(&db, &id)?, (InstanceStatus::Running, 1));

    let (rc, out) = recover(&db, &[])?;
    assert_eq!(rc, 3, "waiting, not an error: {out}");
    assert!(out.contains("waiting"), "{out}");
    assert!(!out.contains("incident"), "{out}");
    assert_eq!(
        status_and_outbox(&db, &id)?,
        (InstanceStatus::Running, 1),
        "still pending, not an incident"
    );

    let (rc, out) = recover(&db, &["Work={}"])?;
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("completed"), "{out}");
    assert_eq!(status_and_outbox(&db, &id)?, (InstanceStatus::Completed, 0));
    Ok(())
}
