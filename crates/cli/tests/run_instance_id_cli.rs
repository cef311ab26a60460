//! End-to-end: `windlass run` with instance ids on one SQLite file — the
//! `windlass:instanceId` template of `examples/nightly-cleanup.bpmn`,
//! `--instance-id`, and `--on-conflict reject|use-existing|terminate-existing`
//! against a run left waiting by an earlier `run`.
#![allow(clippy::unwrap_used)]

mod common;
use common::{json, s, text, windlass};
use std::path::{Path, PathBuf};

fn cleanup() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/nightly-cleanup.bpmn")
}

fn run(db: &Path, extra: &[&str]) -> std::process::Output {
    let file = cleanup();
    let mut args = vec![
        "run",
        s(&file),
        "--db",
        s(db),
        "--format",
        "json",
        "--input",
        r#"{"cluster":"east"}"#,
    ];
    args.extend_from_slice(extra);
    windlass(&args)
}

#[test]
fn the_template_names_the_instance_and_clashes_follow_on_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    // Unmocked: the task becomes an incident, the run stays live.
    let first = run(&db, &[]);
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    let first = json(&first);
    assert_eq!(first["instance"], "cleanup-east");
    let first_run = first["run"].as_str().unwrap().to_string();
    assert_eq!(first_run.len(), 36, "a UUIDv7 run id: {first_run}");

    // Reject (the default): exit 2, naming the live run.
    let again = run(&db, &[]);
    let t = text(&again);
    assert_eq!(again.status.code(), Some(2), "{t}");
    assert!(t.contains("'cleanup-east'"), "{t}");
    assert!(t.contains("already exists"), "{t}");
    assert!(t.contains(&first_run), "{t}");
    assert!(t.contains("--on-conflict"), "{t}");

    // Use-existing: reports the live run.
    let same = run(&db, &["--on-conflict", "use-existing"]);
    assert_eq!(same.status.code(), Some(3), "{}", text(&same));
    assert_eq!(json(&same)["run"], first_run.as_str());

    // Terminate-existing: a new run completes; the old one is terminated.
    let next = run(
        &db,
        &[
            "--on-conflict",
            "terminate-existing",
            "--mock",
            r#"prune={"pruned":3}"#,
        ],
    );
    assert_eq!(next.status.code(), Some(0), "{}", text(&next));
    let next = json(&next);
    assert_eq!(next["instance"], "cleanup-east");
    assert_ne!(next["run"], first_run.as_str());
    let old = windlass(&[
        "instances",
        "show",
        "cleanup-east",
        "--run",
        &first_run,
        "--db",
        s(&db),
        "--format",
        "json",
    ]);
    assert_eq!(json(&old)["status"], "terminated", "{}", text(&old));
    // The latest run is the new one.
    let latest = windlass(&[
        "instances",
        "show",
        "cleanup-east",
        "--db",
        s(&db),
        "--format",
        "json",
    ]);
    assert_eq!(json(&latest)["status"], "completed", "{}", text(&latest));

    // A finished run does not clash: a further start makes a third run.
    let third = run(&db, &["--mock", r#"prune={"pruned":0}"#]);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third));
}

#[test]
fn an_explicit_id_wins_and_a_missing_template_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let out = run(&db, &["--instance-id", "by-hand", "--mock", "prune={}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["instance"], "by-hand");

    let file = cleanup();
    let out = windlass(&["run", s(&file), "--db", s(&db), "--input", "{}"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("windlass:instanceId"), "{t}");
    assert!(t.contains("{cluster}"), "{t}");
}
