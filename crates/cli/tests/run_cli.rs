//! End-to-end tests of `windlass run` (memory and SQLite, mocks, exit codes,
//! bad input) and `windlass recover`.

mod common;
use common::{json, renewal, s, text, windlass};

#[test]
fn a_mocked_run_in_memory_completes_with_counts_and_variables() {
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"ingress":"shop"}"#,
        "--mock",
        r#"check={"days_left":5}"#,
        "--mock",
        r#"Issue certificate for {ingress}={"output":{"certificate":"PEM"}}"#,
        "--mock",
        "store={}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed");
    assert_eq!(v["executed"]["Check certificate of shop"], 1);
    assert_eq!(v["executed"]["Issue certificate for shop"], 1);
    assert_eq!(v["executed"]["Store certificate in Secret shop-tls"], 1);
    // An abstract task with nothing bound completes as a no-op.
    assert_eq!(v["executed"]["Notify owners of shop"], 1);
    assert_eq!(v["variables"]["certificate"], "PEM");
    assert_eq!(v["variables"]["days_left"], 5);
    assert!(v["db"].is_null());
    assert!(!v["instance"].as_str().unwrap_or("").is_empty());
}

#[test]
fn an_unmocked_service_task_is_an_incident_with_exit_code_3() {
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--memory",
        "--input",
        r#"{"ingress":"blog"}"#,
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("status:   incident"), "{t}");
    assert!(
        t.contains("no handler for serviceTask 'Check certificate of blog'"),
        "{t}"
    );
}

#[test]
fn an_uncaught_error_fails_with_exit_code_1() {
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--memory",
        "--format",
        "json",
        "--input",
        r#"{"ingress":"x"}"#,
        "--mock",
        r#"check={"error":"BOOM"}"#,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "failed");
    assert!(v["failure"].as_str().unwrap_or("").contains("BOOM"), "{v}");
}

#[test]
fn a_run_on_sqlite_is_stored_and_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--db",
        s(&db),
        "--id",
        "renew-1",
        "--business-key",
        "shop",
        "--input",
        r#"{"ingress":"shop"}"#,
        "--mock",
        r#"check={"days_left":90}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("instance: renew-1"), "{}", text(&out));
    let list = windlass(&["instances", "list", "--db", s(&db), "--format", "json"]);
    let rows = json(&list);
    assert_eq!(rows[0]["id"], "renew-1");
    assert_eq!(rows[0]["status"], "completed");
    assert_eq!(rows[0]["businessKey"], "shop");
    // The id's run finished, so the same id starts a new run (left in an
    // incident: nothing is mocked) ...
    let file = renewal();
    let args = [
        "run",
        s(&file),
        "--db",
        s(&db),
        "--id",
        "renew-1",
        "--input",
        r#"{"ingress":"shop"}"#,
    ];
    let again = windlass(&args);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    // ... and while that run is unfinished, the same id is refused.
    let refused = windlass(&args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("already exists"),
        "{}",
        text(&refused)
    );
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let cases: [(&[&str], &str); 4] = [
        (&["--input", "[1,2]"], "JSON object"),
        (&["--input", "{"], "not valid JSON"),
        (&["--mock", "check"], "TASK=JSON"),
        (&["--process", "nope"], "no process with id 'nope'"),
    ];
    let file = renewal();
    for (extra, expected) in cases {
        let mut args = vec!["run", s(&file), "--memory"];
        args.extend_from_slice(extra);
        let out = windlass(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{extra:?}: {}", text(&out));
    }
    let out = windlass(&["run", "/nonexistent/x.bpmn", "--memory"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot read"), "{}", text(&out));
}

#[test]
fn recover_reports_what_it_found_and_refuses_a_missing_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("r.db");
    let missing = windlass(&["recover", "--db", s(&db)]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("no database"), "{}", text(&missing));
    // One instance left in an incident: recovery resumes it, and it stays
    // in its incident (a person must act), so the exit code is 3.
    let out = windlass(&[
        "run",
        s(&renewal()),
        "--db",
        s(&db),
        "--input",
        r#"{"ingress":"a"}"#,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let rec = windlass(&["recover", "--db", s(&db), "--format", "json"]);
    assert_eq!(rec.status.code(), Some(3), "{}", text(&rec));
    let v = json(&rec);
    assert_eq!(v["recovered"], 1, "{v}");
    assert_eq!(v["after"]["incident"], 1, "{v}");
    assert_eq!(v["skipped"].as_array().map(Vec::len), Some(0), "{v}");
}
