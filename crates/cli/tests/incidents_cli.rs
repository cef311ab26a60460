//! End-to-end tests of `windlass incidents list|retry|skip`: a run ends in
//! an incident (a task without a handler), then a person resolves it.

use std::path::{Path, PathBuf};

mod common;
use common::{json, renewal, s, text, windlass};

/// A database with instance `id` in an incident at `store` (no handler).
fn stuck(dir: &Path, id: &str) -> PathBuf {
    let db = dir.join("inc.db");
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--db",
        s(&db),
        "--id",
        id,
        "--input",
        r#"{"ingress":"b"}"#,
        "--mock",
        r#"check={"days_left":1}"#,
        "--mock",
        "issue={}",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    db
}

/// The open incidents as JSON.
fn incidents(db: &Path) -> Vec<serde_json::Value> {
    let out = windlass(&["incidents", "list", "--db", s(db), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    json(&out).as_array().cloned().unwrap_or_default()
}

#[test]
fn list_names_instance_incident_node_attempt_and_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = stuck(dir.path(), "stuck");
    let list = incidents(&db);
    assert_eq!(list.len(), 1, "{list:?}");
    let i = &list[0];
    assert_eq!(i["instance"], "stuck");
    assert_eq!(i["node"], "store");
    assert!(i["attempt"].as_u64().is_some_and(|a| a >= 1), "{i}");
    assert!(i["incident"].as_u64().is_some(), "{i}");
    assert!(
        i["message"].as_str().unwrap_or("").contains("no handler"),
        "{i}"
    );
    let table = text(&windlass(&["incidents", "list", "--db", s(&db)]));
    assert!(
        table.contains("INSTANCE")
            && table.contains("stuck")
            && table.contains("1 open incident(s)"),
        "{table}"
    );
}

#[test]
fn retry_with_a_mock_completes_the_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = stuck(dir.path(), "stuck");
    let incident = incidents(&db)[0]["incident"].to_string();
    let out = windlass(&[
        "incidents",
        "retry",
        "stuck",
        &incident,
        "--db",
        s(&db),
        "--mock",
        r#"store={"stored":true}"#,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed", "{v}");
    assert_eq!(v["variables"]["stored"], true, "{v}");
    assert!(incidents(&db).is_empty());
    let history = text(&windlass(&[
        "instances",
        "history",
        "stuck",
        "--db",
        s(&db),
    ]));
    assert!(
        history.contains("retry") || history.contains("Retry"),
        "{history}"
    );
}

#[test]
fn skip_completes_the_job_with_the_given_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = stuck(dir.path(), "stuck");
    let incident = incidents(&db)[0]["incident"].to_string();
    let out = windlass(&[
        "incidents",
        "skip",
        "stuck",
        &incident,
        "--output",
        r#"{"certificate":"b-tls"}"#,
        "--db",
        s(&db),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("status:       completed"), "{t}");
    assert!(t.contains("\"certificate\": \"b-tls\""), "{t}");
    assert!(incidents(&db).is_empty());
}

#[test]
fn unknown_instances_incidents_and_bad_outputs_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = stuck(dir.path(), "stuck");
    let out = windlass(&["incidents", "retry", "nobody", "0", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no instance 'nobody'"),
        "{}",
        text(&out)
    );
    let out = windlass(&["incidents", "retry", "stuck", "77", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("has no open incident 77"),
        "{}",
        text(&out)
    );
    let out = windlass(&[
        "incidents",
        "skip",
        "stuck",
        "0",
        "--output",
        "[1]",
        "--db",
        s(&db),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--output must be a JSON object"),
        "{}",
        text(&out)
    );
    let missing = dir.path().join("none.db");
    let out = windlass(&["incidents", "retry", "x", "0", "--db", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists(), "a retry never creates a database");
    // The failed attempts changed nothing.
    assert_eq!(incidents(&db).len(), 1);
}
