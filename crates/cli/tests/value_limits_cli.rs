//! End-to-end: the value limit (reliability probe, defect 3) with the real
//! binary on a SQLite file. The probe's `nestloop.bpmn` (a script wrapping
//! `b = [b]` 130 times) used to commit a value too deep to read back, after
//! which `run`, `instances show` and `recover` all failed with "corrupt";
//! now it ends in an incident naming `b` and the limit, and stays readable.

use std::path::{Path, PathBuf};

mod common;
use common::{json, s, text, windlass};

fn nestloop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/nestloop.bpmn")
}

#[test]
fn nestloop_ends_in_an_incident_and_the_instance_stays_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nl.db");
    let run = windlass(&[
        "run",
        s(&nestloop()),
        "--db",
        s(&db),
        "--id",
        "nl",
        "--input",
        r#"{"b":0,"n":0}"#,
    ]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(3), "{out}");
    assert!(
        out.contains("variable 'b' is nested 65 levels deep")
            && out.contains("limit of 64 levels")
            && !out.contains("corrupt"),
        "{out}"
    );

    let show = windlass(&[
        "instances",
        "show",
        "nl",
        "--db",
        s(&db),
        "--format",
        "json",
    ]);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));
    let v = json(&show);
    assert_eq!(v["status"], "incident", "{v}");
    let message = v["incidents"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'wrap'") && message.contains("variable 'b'"),
        "{v}"
    );
    assert_eq!(v["variables"]["n"], 64, "{v}");

    let history = windlass(&["instances", "history", "nl", "--db", s(&db)]);
    assert_eq!(history.status.code(), Some(0), "{}", text(&history));

    let rec = windlass(&[
        "recover",
        "--db",
        s(&db),
        "--mock",
        "svc={}",
        "--format",
        "json",
    ]);
    assert_eq!(rec.status.code(), Some(3), "{}", text(&rec));
    let r = json(&rec);
    assert_eq!(r["recovered"], 1, "{r}");
    assert_eq!(r["after"]["incident"], 1, "{r}");
    assert_eq!(r["skipped"].as_array().map(Vec::len), Some(0), "{r}");
}

#[test]
fn input_over_the_limit_is_a_clear_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("in.db");
    let input = dir.path().join("deep.json");
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
    std::fs::write(&input, deep).expect("write input");
    let arg = format!("@{}", s(&input));
    let run = windlass(&["run", s(&nestloop()), "--db", s(&db), "--input", &arg]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(2), "{out}");
    assert!(
        out.contains("the input exceeds the value limit: variable 'a' is nested 100 levels deep, 36 over the limit of 64 levels"),
        "{out}"
    );
    assert!(!db.exists(), "nothing was written");
}

#[test]
fn a_mock_returning_a_value_over_the_limit_fails_its_attempts_then_raises_an_incident() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let bpmn = dir.path().join("one.bpmn");
    std::fs::write(
        &bpmn,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:x">
  <process id="one" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="svc"/>
    <serviceTask id="svc" name="Fetch"/>
    <sequenceFlow id="f2" sourceRef="svc" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#,
    )
    .expect("write bpmn");
    let mock = format!("svc={{\"got\":{}1{}}}", "[".repeat(70), "]".repeat(70));
    let run = windlass(&[
        "run",
        s(&bpmn),
        "--db",
        s(&db),
        "--id",
        "m",
        "--mock",
        &mock,
    ]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(3), "{out}");
    assert!(
        out.contains("failed after 3 attempt(s)")
            && out.contains("variable 'got' is nested 70 levels deep"),
        "{out}"
    );
    let show = windlass(&["instances", "show", "m", "--db", s(&db), "--format", "json"]);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));
}

/// A history written before the limit existed, holding a value too deep to
/// read: `instances show` and `recover` say so and name the limit; neither
/// calls it corrupt.
#[test]
fn a_too_deep_record_from_before_the_limit_is_unreadable_not_corrupt() {
    use windlass_engine::codec::encode_event;
    use windlass_engine::event::Event;
    use windlass_store_api::{Batch, InstanceRef, InstanceRow, InstanceStatus, StoreWrite};

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("old.db");
    // Deploy the process (and create the file) the normal way.
    let run = windlass(&[
        "run",
        s(&nestloop()),
        "--db",
        s(&db),
        "--id",
        "new",
        "--input",
        r#"{"b":0,"n":200}"#,
        "--mock",
        "svc={}",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let shown = json(&windlass(&[
        "instances",
        "show",
        "new",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    let key = shown["definition"]
        .as_str()
        .expect("definition key")
        .to_string();

    // What an older build committed for the probe's nestloop.bpmn.
    let deep = (0..130).fold(serde_json::json!(0), |v, _| {
        serde_json::Value::Array(vec![v])
    });
    let events = [
        Event::InstanceStarted {
            process_id: "nest".into(),
            definition_key: key.clone(),
            business_key: None,
            vars: serde_json::from_str(r#"{"b":0,"n":0}"#).expect("vars"),
            has_parent: false,
        },
        Event::VariablesSet {
            scope: windlass_engine::ids::ScopeId(0),
            vars: windlass_types::Vars::from_iter([("b".to_string(), deep)]),
        },
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio");
    let store = windlass_store_sqlite::SqliteStore::open(&db).expect("open");
    let mut b = Batch::new();
    b.create(
        InstanceRow {
            instance: InstanceRef::new("old", "1"),
            definition_key: key,
            status: InstanceStatus::Running,
            business_key: None,
            parent: None,
            created_at: windlass_types::Timestamp(1),
            updated_at: windlass_types::Timestamp(1),
            last_seq: 0,
            tally: Vec::new(),
        },
        events
            .iter()
            .map(|e| encode_event(e).expect("encode"))
            .collect(),
    );
    rt.block_on(store.commit(b)).expect("commit");
    drop(store);

    let show = windlass(&["instances", "show", "old", "--db", s(&db)]);
    let out = text(&show);
    assert_ne!(show.status.code(), Some(0), "{out}");
    assert!(
        out.contains("nested 131 levels deep") && out.contains("128") && !out.contains("corrupt"),
        "{out}"
    );
    let rec = windlass(&["recover", "--db", s(&db), "--mock", "svc={}"]);
    let out = text(&rec);
    assert!(
        out.contains("cannot read") && out.contains("131 levels") && !out.contains("corrupt"),
        "{out}"
    );
}
