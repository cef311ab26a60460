//! End-to-end tests of what the verbs print: a closed stdout ends a verb
//! quietly, stored values of any length list without a panic, ids over
//! their limits are refused on the way in, numeric flags are
//! range-checked, and control characters never reach the terminal raw.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{json, renewal, s, text, windlass};

/// Runs the binary with its stdout closed before it writes (as `| head`
/// does once it has read enough).
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn windlass");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for windlass")
}

fn assert_quiet_stop(out: &Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(out.status.code(), Some(0), "{what}: {err}");
    assert!(err.is_empty(), "{what}: nothing on stderr, got {err}");
}

/// An input file with a 200 KB variable (more than a pipe buffer) holding
/// an escape sequence.
fn big_input(dir: &Path) -> PathBuf {
    let p = dir.join("in.json");
    let v = serde_json::json!({"ingress": "x\u{1b}]0;pwned\u{7}", "blob": "b".repeat(200_000)});
    std::fs::write(&p, v.to_string()).expect("write input");
    p
}

fn run_args<'a>(db: &'a str, input: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--db",
        db,
        "--id",
        "big",
        "--input",
        input,
        "--mock",
        r#"check={"days_left":99}"#,
    ]
}

#[test]
fn a_closed_stdout_ends_every_verb_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.db");
    let input = format!("@{}", s(&big_input(dir.path())));
    let file = renewal();
    let mut args = run_args(s(&db), &input);
    args.insert(1, s(&file));
    assert_quiet_stop(&with_closed_stdout(&args), "run");
    for verb in [
        vec!["instances", "list", "--db", s(&db)],
        vec!["instances", "show", "big", "--db", s(&db)],
        vec![
            "instances",
            "show",
            "big",
            "--db",
            s(&db),
            "--format",
            "json",
        ],
        vec!["instances", "history", "big", "--db", s(&db)],
        vec!["incidents", "list", "--db", s(&db)],
        vec!["validate", s(&file)],
        vec!["inspect", s(&file)],
    ] {
        assert_quiet_stop(&with_closed_stdout(&verb), &verb.join(" "));
    }
}

#[test]
fn control_characters_are_escaped_in_every_text_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let input = r#"{"ingress":"x\u001b]0;pwned\u0007\u009b2J\u007f"}"#;
    let file = renewal();
    let args = [
        "run",
        s(&file),
        "--db",
        s(&db),
        "--id",
        "esc",
        "--input",
        input,
        "--mock",
        r#"check={"days_left":1}"#,
        "--mock",
        "issue={}",
    ];
    let outputs = [
        ("run", windlass(&args)),
        (
            "show",
            windlass(&["instances", "show", "esc", "--db", s(&db)]),
        ),
        (
            "history",
            windlass(&["instances", "history", "esc", "--db", s(&db)]),
        ),
        (
            "incidents",
            windlass(&["incidents", "list", "--db", s(&db)]),
        ),
        (
            "show json",
            windlass(&[
                "instances",
                "show",
                "esc",
                "--db",
                s(&db),
                "--format",
                "json",
            ]),
        ),
    ];
    for (what, out) in &outputs {
        let all = text(out);
        assert!(
            !all.chars()
                .any(|c| c != '\n' && (c.is_control() || c == '\u{fffe}')),
            "{what} printed a raw control character: {all:?}"
        );
    }
    // The names resolved from the template show the escapes.
    let run = text(&outputs[0].1);
    assert!(
        run.contains(r"Check certificate of x\x1b]0;pwned\x07\x9b2J\x7f"),
        "{run}"
    );
    let history = text(&outputs[2].1);
    assert!(history.contains(r"\x1b]0;pwned"), "{history}");
    // JSON keeps the value: C0 as serde escapes it, DEL and C1 as \u escapes.
    let v = json(&outputs[4].1);
    assert_eq!(
        v["variables"]["ingress"],
        "x\u{1b}]0;pwned\u{7}\u{9b}2J\u{7f}"
    );
}

#[test]
fn ids_over_their_limits_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("l.db");
    let long = "a".repeat(65_536);
    let file = renewal();
    let out = windlass(&["run", s(&file), "--db", s(&db), "--id", &long]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--id: the instance id is 65536 bytes long; at most 1024 bytes are allowed"),
        "{err}"
    );
    assert!(err.len() < 500, "the error does not echo the id");
    assert!(!db.exists(), "nothing was created");
    let out = windlass(&["run", s(&file), "--memory", "--business-key", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--business-key: the business key is 65536 bytes"));
}

/// Stored rows with values longer than any column (written before the
/// limits, or by another tool) still list: columns are capped and cut.
#[test]
fn stored_values_of_any_length_list_without_a_panic() -> anyhow::Result<()> {
    use windlass_store_api::{Batch, InstanceRef, InstanceRow, InstanceStatus, StoreWrite};
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("w.db");
    let long = "i".repeat(70_000);
    {
        let store = windlass_store_sqlite::SqliteStore::open(&db)?;
        let event = windlass_engine::Event::InstanceCompleted;
        let payload = windlass_engine::codec::encode_event(&event)?;
        let mut batch = Batch::new();
        batch.create(
            InstanceRow {
                instance: InstanceRef::new(long.clone(), "1"),
                definition_key: "d".repeat(70_000),
                status: InstanceStatus::Completed,
                business_key: Some("k".repeat(70_000)),
                parent: None,
                created_at: windlass_store_api::Timestamp(1),
                updated_at: windlass_store_api::Timestamp(1),
                last_seq: 0,
                tally: Vec::new(),
            },
            vec![payload],
        );
        let rt = tokio::runtime::Builder::new_current_thread().build()?;
        rt.block_on(store.commit(batch))?;
    }
    let out = windlass(&["instances", "list", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    let row = t.lines().nth(1).unwrap_or("");
    assert!(row.starts_with(&format!("{}…", "i".repeat(39))), "{row}");
    assert!(row.chars().count() < 200, "{row}");
    let full = json(&windlass(&[
        "instances",
        "list",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    assert_eq!(full[0]["id"].as_str().map(str::len), Some(70_000));
    Ok(())
}

#[test]
fn numeric_flags_out_of_range_are_clear_errors() {
    let file = renewal();
    for (flag, value) in [
        ("--instances", "18446744073709551615"),
        ("--instances", "100000001"),
        ("--instances", "0"),
        ("--concurrency", "18446744073709551615"),
        ("--timeout-seconds", "18446744073709551615"),
    ] {
        let mut args = vec!["bench", s(&file), "--store", "memory"];
        if flag != "--instances" {
            args.extend(["--instances", "1"]);
        }
        args.extend([flag, value]);
        let out = windlass(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(flag) && err.contains("is out of range") && !err.contains("panicked"),
            "{flag} {value}: {err}"
        );
    }
}
