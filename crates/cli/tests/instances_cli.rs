//! End-to-end tests of `windlass instances list|show|history` on a SQLite
//! file written by `windlass run`.

use std::path::{Path, PathBuf};

mod common;
use common::{json, renewal, s, text, windlass};

/// A database with one completed instance ("done") and one in an incident
/// ("stuck", its `store` task has no handler; the parallel join waits).
fn database(dir: &Path) -> PathBuf {
    let db = dir.join("i.db");
    let file = renewal();
    let done = windlass(&[
        "run",
        s(&file),
        "--db",
        s(&db),
        "--id",
        "done",
        "--business-key",
        "bk-1",
        "--input",
        r#"{"ingress":"a"}"#,
        "--mock",
        r#"check={"days_left":99}"#,
    ]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    let stuck = windlass(&[
        "run",
        s(&file),
        "--db",
        s(&db),
        "--id",
        "stuck",
        "--input",
        r#"{"ingress":"b"}"#,
        "--mock",
        r#"check={"days_left":1}"#,
        "--mock",
        "issue={}",
    ]);
    assert_eq!(stuck.status.code(), Some(3), "{}", text(&stuck));
    db
}

#[test]
fn list_filters_by_status_and_business_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let all = json(&windlass(&[
        "instances",
        "list",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let inc = json(&windlass(&[
        "instances",
        "list",
        "--status",
        "incident",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(inc.as_array().map(Vec::len), Some(1), "{inc}");
    assert_eq!(inc[0]["id"], "stuck");
    let bk = json(&windlass(&[
        "instances",
        "list",
        "--business-key",
        "bk-1",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(bk[0]["id"], "done");
    let table = windlass(&["instances", "list", "--db", s(&db)]);
    let t = text(&table);
    assert!(
        t.contains("STATUS") && t.contains("stuck") && t.contains("2 instance(s)"),
        "{t}"
    );
    let bad = windlass(&["instances", "list", "--status", "sleeping", "--db", s(&db)]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad).contains("unknown status 'sleeping'"),
        "{}",
        text(&bad)
    );
}

#[test]
fn show_tells_where_the_tokens_are_and_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let v = json(&windlass(&[
        "instances",
        "show",
        "stuck",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(v["status"], "incident");
    let incidents = v["incidents"].as_array().cloned().unwrap_or_default();
    assert_eq!(incidents.len(), 1, "{v}");
    assert_eq!(incidents[0]["node"], "store");
    assert!(
        incidents[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no handler"),
        "{v}"
    );
    let tokens = v["tokens"].as_array().cloned().unwrap_or_default();
    assert!(
        tokens.iter().any(
            |t| t["node"] == "join" && t["waitingFor"].as_str().unwrap_or("").contains("join")
        ),
        "{v}"
    );
    assert_eq!(v["variables"]["ingress"], "b");
    let done = json(&windlass(&[
        "instances",
        "show",
        "done",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(done["status"], "completed");
    assert_eq!(done["tokens"].as_array().map(Vec::len), Some(0));
    assert_eq!(done["variables"]["days_left"], 99, "{done}");
    let t = text(&windlass(&["instances", "show", "stuck", "--db", s(&db)]));
    assert!(
        t.contains("incidents: 1") && t.contains("waiting for other tokens at the join"),
        "{t}"
    );
}

#[test]
fn history_is_the_story_with_conditions_and_joins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let v = json(&windlass(&[
        "instances",
        "history",
        "stuck",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    let events = v["events"].as_array().cloned().unwrap_or_default();
    assert!(!events.is_empty());
    assert_eq!(events[0]["seq"], 1);
    // Every event has the time its commit was recorded: RFC 3339 UTC with
    // milliseconds, no earlier than the instance's creation and no later
    // than its last change (same format, so text order is time order).
    let created = v["createdAt"].as_str().unwrap_or("").to_string();
    let updated = v["updatedAt"].as_str().unwrap_or("").to_string();
    for e in &events {
        let at = e["recordedAt"].as_str().unwrap_or_else(|| panic!("{e}"));
        assert!(is_rfc3339_millis_utc(at), "{at}");
        assert!(created.as_str() <= at && at <= updated.as_str(), "{at} {v}");
    }
    assert_eq!(events[0]["recordedAt"].as_str(), Some(created.as_str()));
    assert_eq!(
        events.last().and_then(|e| e["recordedAt"].as_str()),
        Some(updated.as_str())
    );
    let texts: Vec<String> = events
        .iter()
        .map(|e| e["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("days_left < 30") && t.contains("true")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("waits at join")),
        "{texts:#?}"
    );
    assert!(texts.iter().any(|t| t.contains("incident")), "{texts:#?}");
    let t = text(&windlass(&["instances", "history", "done", "--db", s(&db)]));
    assert!(
        t.contains("SEQ") && t.contains("default") || t.contains("'no'"),
        "{t}"
    );
    let mut rows = t.lines().skip(1);
    let header = rows.next().unwrap_or("");
    assert!(header.starts_with("TIME") && header.contains("NODE"), "{t}");
    let mut count = 0;
    for row in rows {
        let time = row.split_whitespace().next().unwrap_or("");
        assert!(is_rfc3339_millis_utc(time), "row without a time: {row}");
        count += 1;
    }
    assert!(count > 5, "{t}");
}

/// `2024-01-31T12:34:56.789Z`.
fn is_rfc3339_millis_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[test]
fn unknown_instances_and_missing_databases_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let out = windlass(&["instances", "show", "nobody", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no instance 'nobody'"),
        "{}",
        text(&out)
    );
    let missing = dir.path().join("missing.db");
    let out = windlass(&["instances", "list", "--db", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no database"), "{}", text(&out));
    assert!(!missing.exists(), "a read must not create the database");
    let foreign = dir.path().join("foreign.db");
    std::fs::write(&foreign, b"this is not a database at all, just text").expect("write");
    let out = windlass(&["instances", "list", "--db", s(&foreign)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
}

/// `list --limit N` prints the cursor to go on with; `--after CURSOR`
/// continues behind it; every JSON row carries its own cursor.
#[test]
fn listings_page_on_with_a_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let first = text(&windlass(&[
        "instances",
        "list",
        "--limit",
        "1",
        "--db",
        s(&db),
    ]));
    assert!(
        first.contains("done") && !first.contains("stuck"),
        "{first}"
    );
    let cursor = first
        .lines()
        .find_map(|l| l.strip_prefix("more: continue with --after "))
        .unwrap_or_else(|| panic!("no cursor: {first}"))
        .trim()
        .to_string();
    let rest = json(&windlass(&[
        "instances",
        "list",
        "--after",
        &cursor,
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(rest.as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(rest[0]["id"], "stuck");
    let all = json(&windlass(&[
        "instances",
        "list",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(all[0]["cursor"].as_str(), Some(cursor.as_str()));
    let last = text(&windlass(&[
        "instances",
        "list",
        "--after",
        &cursor,
        "--db",
        s(&db),
    ]));
    assert!(
        !last.contains("more:"),
        "the last page has no cursor: {last}"
    );
    let bad = windlass(&["instances", "list", "--after", "nonsense", "--db", s(&db)]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad).contains("malformed cursor 'nonsense'"),
        "{}",
        text(&bad)
    );
}
