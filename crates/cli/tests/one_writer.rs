//! One writer per database, driven through the real binary: many `run`s
//! started at once on one file either complete or are refused with the
//! "in use" error naming the writer (or wait with `--wait-for-lock`); no
//! instance is lost or stranded, and no migration or deploy race appears.
//! `run` runs only its own instance; other unfinished instances are left
//! to `recover`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json, renewal, s, text, windlass};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const SIMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:x"><process id="p" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/><task id="t" name="T"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/></process></definitions>"#;

/// Starts every argument list as its own `windlass` process at once, then
/// waits for all of them.
fn in_parallel(runs: Vec<Vec<String>>) -> Vec<Output> {
    let children: Vec<_> = runs
        .iter()
        .map(|args| {
            Command::new(env!("CARGO_BIN_EXE_windlass"))
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start windlass")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for windlass"))
        .collect()
}

/// Every instance in the file as (id, status), read through the store.
fn instances(db: &Path) -> Vec<(String, String)> {
    use windlass_store_api::{InstanceIndex, InstanceQuery};
    let mut opts = windlass_store_sqlite::SqliteOptions::new(db);
    opts.read_only = true;
    let store = windlass_store_sqlite::SqliteStore::open_with(opts).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let rows = rt
        .block_on(store.query_instances(&InstanceQuery::default()))
        .unwrap();
    rows.into_iter()
        .map(|r| {
            (
                r.instance.id.as_str().to_string(),
                r.status.as_str().to_string(),
            )
        })
        .collect()
}

fn assert_db_check_clean(db: &Path) {
    let out = windlass(&["db", "check", "--db", s(db)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

fn simple_run(db: &Path, bpmn: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["run", s(bpmn), "--db", s(db), "--format", "json"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    v.extend(extra.iter().map(|a| a.to_string()));
    v
}

/// Checks each parallel run: completed, or refused with the clear error.
/// Returns the ids of the completed instances.
fn completed_or_in_use(outs: &[Output], db: &Path) -> Vec<String> {
    let mut done = Vec::new();
    for o in outs {
        let t = text(o);
        for race in ["migration", "already exists", "does not exist", "locked"] {
            assert!(!t.contains(race), "a race error leaked: {t}");
        }
        match o.status.code() {
            Some(0) => {
                let v = json(o);
                assert_eq!(v["status"], "completed", "{t}");
                done.push(v["instance"].as_str().unwrap().to_string());
            }
            Some(2) => {
                let want = format!("database {} is in use by pid ", db.display());
                assert!(t.contains(&want), "not the in-use error: {t}");
                assert!(t.contains(" on host ") && t.contains(" since "), "{t}");
                assert!(t.contains("--wait-for-lock"), "{t}");
            }
            other => panic!("exit {other:?}: {t}"),
        }
    }
    done
}

#[test]
fn parallel_runs_on_a_fresh_db_complete_or_are_refused_as_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let bpmn = dir.path().join("simple.bpmn");
    std::fs::write(&bpmn, SIMPLE).unwrap();
    let mut in_use_seen = false;
    for round in 0..3 {
        let db = dir.path().join(format!("fresh{round}.db"));
        let outs = in_parallel((0..12).map(|_| simple_run(&db, &bpmn, &[])).collect());
        let done = completed_or_in_use(&outs, &db);
        assert!(!done.is_empty(), "one run gets the database");
        in_use_seen |= done.len() < outs.len();
        // Exactly the runs that said "completed" are in the file, completed.
        let rows = instances(&db);
        let mut ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        ids.sort();
        let mut want = done.clone();
        want.sort();
        assert_eq!(ids, want);
        assert!(rows.iter().all(|r| r.1 == "completed"), "{rows:?}");
        assert_db_check_clean(&db);
    }
    assert!(
        in_use_seen,
        "12 processes at once never overlapped in 3 rounds"
    );
}

#[test]
fn parallel_runs_waiting_for_the_lock_all_complete_on_an_existing_db() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("existing.db");
    let renewal = renewal();
    let mocks = [
        "--mock",
        r#"check={"days_left":3}"#,
        "--mock",
        "issue={}",
        "--mock",
        "store={}",
    ];
    let first = windlass(
        &[
            &[
                "run",
                s(&renewal),
                "--db",
                s(&db),
                "--input",
                r#"{"ingress":"first"}"#,
            ][..],
            &mocks[..],
        ]
        .concat(),
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let runs = (0..12)
        .map(|i| {
            let input = format!(r#"{{"ingress":"r{i}"}}"#);
            let mut v = simple_run(&db, &renewal, &["--wait-for-lock", "120", "--input"]);
            v.push(input);
            v.extend(mocks.iter().map(|m| m.to_string()));
            v
        })
        .collect();
    let outs = in_parallel(runs);
    let done = completed_or_in_use(&outs, &db);
    assert_eq!(done.len(), 12, "every waiting run completes");
    let rows = instances(&db);
    assert_eq!(rows.len(), 13, "no instance lost: {rows:?}");
    assert!(rows.iter().all(|r| r.1 == "completed"), "{rows:?}");
    assert_db_check_clean(&db);
}

/// Leaves one instance unfinished in `db`: its abstract task's job is
/// handed "outside" and never completed, so it stays open in the outbox
/// (as after a crash mid-job).
fn leave_an_unfinished_instance(db: &Path) -> String {
    use windlass_runtime::{HandlerResult, Handlers, Job, Runtime, RuntimeOptions, StartRequest};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = windlass_store_sqlite::SqliteStore::open(db).unwrap();
        let handlers = Handlers::new().on_node("t", |_: &Job| HandlerResult::External);
        let handle = Runtime::start(RuntimeOptions::default(), store, handlers)
            .await
            .unwrap();
        handle.deploy(SIMPLE).await.unwrap();
        let mut req = StartRequest::new("p");
        req.instance_id = Some("left-open".into());
        let instance = handle.start_instance(req).await.unwrap();
        let out = handle.wait_settled(&instance).await.unwrap();
        assert_eq!(out.status.as_str(), "running");
        handle.shutdown().await.unwrap();
        instance.id.as_str().to_string()
    })
}

#[test]
fn run_runs_only_its_own_instance_and_recover_resumes_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mixed.db");
    let bpmn = dir.path().join("simple.bpmn");
    std::fs::write(&bpmn, SIMPLE).unwrap();
    let open = leave_an_unfinished_instance(&db);
    let status_of = |id: &str| instances(&db).into_iter().find(|r| r.0 == id).map(|r| r.1);
    assert_eq!(status_of(&open).as_deref(), Some("running"));
    // `run` completes its own instance and leaves the other one alone
    // (before, it resumed every unfinished instance of the file).
    let out = windlass(
        &simple_run(&db, &bpmn, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status_of(&open).as_deref(), Some("running"));
    // `recover` resumes it: the unbound abstract task completes as a no-op.
    let out = windlass(&["recover", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status_of(&open).as_deref(), Some("completed"));
    assert_db_check_clean(&db);
}

#[test]
fn a_run_waiting_for_the_lock_ends_on_sigterm_with_130() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("held.db");
    let bpmn = dir.path().join("simple.bpmn");
    std::fs::write(&bpmn, SIMPLE).unwrap();
    // This test process holds the writer lock.
    let holder = windlass_store_sqlite::SqliteStore::open(&db).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["run", s(&bpmn), "--db", s(&db), "--wait-for-lock", "600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        text(&out).contains("waiting for the database's writer lock"),
        "{}",
        text(&out)
    );
    drop(holder);
    assert!(instances(&db).is_empty(), "nothing was written");
}

#[test]
fn db_check_names_a_running_instance_whose_jobs_have_no_outbox_row() {
    // The state two racing writers left behind (reliability probe, defect
    // 1): running, a job open, nothing in the outbox to run it.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stranded.db");
    let open = leave_an_unfinished_instance(&db);
    assert_db_check_clean(&db);
    let c = rusqlite::Connection::open(&db).unwrap();
    let n = c
        .execute("DELETE FROM outbox WHERE instance_id = ?1", [&open])
        .unwrap();
    assert_eq!(n, 1);
    drop(c);
    let out = windlass(&["db", "check", "--db", s(&db), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["rule"], "stranded-job", "{v}");
    let detail = problems[0]["detail"].as_str().unwrap();
    assert!(detail.contains("instance 'left-open' run '"), "{v}");
    assert!(detail.contains("': running with 1 open job(s)"), "{v}");
}
