//! The database file through the real binary: a clean exit leaves the
//! `.db` file complete on its own, `windlass db check` passes a clean file
//! and names what is wrong in a damaged one, writers refuse a damaged file,
//! read-only verbs read from a read-only mount, and a v1 file opened by a
//! read-only verb says how to migrate, which `db migrate` does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json, s, text, windlass};
use std::path::{Path, PathBuf};

const SIMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:x"><process id="p" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/><task id="t" name="T"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/></process></definitions>"#;

fn simple(dir: &Path) -> PathBuf {
    let p = dir.join("simple.bpmn");
    std::fs::write(&p, SIMPLE).unwrap();
    p
}

fn run_simple(dir: &Path, db: &Path, times: usize) {
    let bpmn = simple(dir);
    for _ in 0..times {
        let out = windlass(&["run", s(&bpmn), "--db", s(db)]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

fn check_json(db: &Path) -> (Option<i32>, serde_json::Value) {
    let out = windlass(&["db", "check", "--db", s(db), "--format", "json"]);
    (out.status.code(), json(&out))
}

/// The rules of the problems `db check` reported.
fn rules(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn after_a_clean_exit_the_db_file_alone_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    run_simple(dir.path(), &db, 3);
    let wal = std::fs::metadata(sidecar(&db, "-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the WAL was folded into the file on exit");
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let out = windlass(&["instances", "list", "--db", s(&copy)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("3 instance(s)"), "{}", text(&out));
    let (code, report) = check_json(&copy);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["instances"], 3);
}

#[test]
fn db_check_passes_a_clean_file_and_names_edited_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    run_simple(dir.path(), &db, 4);
    let (code, report) = check_json(&db);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["clean"], true);
    assert_eq!(report["instances"], 4);
    let out = windlass(&["db", "check", "--db", s(&db)]);
    assert!(text(&out).contains("clean"), "{}", text(&out));

    let c = rusqlite::Connection::open(&db).unwrap();
    let pks: Vec<i64> = c
        .prepare("SELECT pk FROM instances ORDER BY pk")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // A gap: the first history row of instance 1 is gone.
    c.execute(
        "DELETE FROM history WHERE instance_pk = ?1 AND first_seq = 1",
        [pks[0]],
    )
    .unwrap();
    // The index disagrees with the history of instance 2.
    c.execute("UPDATE instances SET last_seq = 99 WHERE pk = ?1", [pks[1]])
        .unwrap();
    // Instance 3 says running although its history ends with completion.
    c.execute("UPDATE instances SET status = 0 WHERE pk = ?1", [pks[2]])
        .unwrap();
    // History and an outbox row that belong to no instance.
    c.execute("DELETE FROM instances WHERE pk = ?1", [pks[3]])
        .unwrap();
    c.execute(
        "INSERT INTO outbox (key, kind, instance_id, run_id, payload, due_at, attempt)
         VALUES ('ghost/1/1/0/1', 'job', 'ghost', '1', x'00', 0, 1)",
        [],
    )
    .unwrap();
    // A call activity's pending child start names a child that does not
    // exist yet: no orphan.
    c.execute(
        "INSERT INTO outbox (key, kind, instance_id, run_id, payload, due_at, attempt)
         VALUES ('start-child:unborn/1', 'start-child', 'unborn', '1', x'00', 0, 1)",
        [],
    )
    .unwrap();
    drop(c);
    let (code, report) = check_json(&db);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["clean"], false);
    let found = rules(&report);
    for want in [
        "history-gap",
        "started",
        "last-seq",
        "final",
        "orphan-history",
        "orphan-outbox",
    ] {
        assert!(found.iter().any(|r| r == want), "{want} missing: {report}");
    }
    let out = windlass(&["db", "check", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("[orphan-outbox] outbox row 'ghost/1/1/0/1'"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("unborn"), "{}", text(&out));
}

/// A database of a few hundred instances (a couple of hundred pages).
fn big_db(dir: &Path) -> PathBuf {
    let db = dir.join("big.db");
    let out = windlass(&[
        "bench",
        s(&simple(dir)),
        "--instances",
        "400",
        "--store",
        "sqlite",
        "--db",
        s(&db),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    db
}

/// Overwrites pages `first..first + n` (4 KiB each) with zeros.
fn zero_pages(path: &Path, first: u64, n: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(first * 4096)).unwrap();
    f.write_all(&vec![0u8; n * 4096]).unwrap();
}

#[test]
fn zeroed_pages_are_reported_by_db_check_and_refused_by_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_db(dir.path());
    let pages = std::fs::metadata(&db).unwrap().len() / 4096;
    assert!(pages > 40, "{pages} pages");
    zero_pages(&db, pages / 2, 5);
    let before = std::fs::read(&db).unwrap();

    let (code, report) = check_json(&db);
    assert_eq!(code, Some(1), "{report}");
    assert!(rules(&report).iter().any(|r| r == "integrity"), "{report}");

    // A writer refuses the file instead of writing into it (before, `run`
    // added an instance and exited 0).
    let out = windlass(&["run", s(&dir.path().join("simple.bpmn")), "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("integrity check failed"), "{t}");
    assert!(t.contains("windlass db check --db"), "{t}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing was written");
}

#[test]
fn db_check_reports_a_file_that_is_no_database_and_refuses_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("text.db");
    std::fs::write(&db, "hello, this is not SQLite\n".repeat(200)).unwrap();
    let (code, report) = check_json(&db);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(rules(&report), ["unreadable"], "{report}");
    let out = windlass(&["db", "check", "--db", s(&dir.path().join("none.db"))]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no database at"), "{}", text(&out));
    assert!(
        !dir.path().join("none.db").exists(),
        "check creates nothing"
    );
}

#[test]
fn a_v1_database_read_by_a_read_only_verb_says_how_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v1.db");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../store-sqlite/tests/fixtures/schema-v1.db");
    std::fs::copy(fixture, &db).unwrap();
    let out = windlass(&["instances", "list", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    let want = format!(
        "needs migrating to {}",
        windlass_store_sqlite::schema::SCHEMA_VERSION
    );
    assert!(t.contains(&want), "{t}");
    assert!(t.contains("windlass db migrate --db"), "{t}");
    assert!(!t.contains("batch"), "{t}");
    // The way it names works, and then the list does.
    let out = windlass(&["db", "migrate", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "migrated from version 1 to {}",
            windlass_store_sqlite::schema::SCHEMA_VERSION
        )),
        "{}",
        text(&out)
    );
    let out = windlass(&["instances", "list", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = windlass(&["db", "migrate", "--db", s(&db), "--format", "json"]);
    let v = json(&again);
    assert_eq!(v["from_version"], v["to_version"], "{v}");
    assert_eq!(v["backend"], "sqlite");
}

#[test]
fn migrate_creates_a_missing_database_and_refuses_a_foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let out = windlass(&["db", "migrate", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("migrated from version 0 to"),
        "{}",
        text(&out)
    );
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "not a database at all, just some text").unwrap();
    let out = windlass(&["db", "migrate", "--db", s(&foreign)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "not a database at all, just some text"
    );
}

#[test]
fn read_only_verbs_read_a_database_on_a_read_only_mount() {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        eprintln!("skipped: a read-only bind mount needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data");
    std::fs::create_dir_all(&src).unwrap();
    let db = src.join("y.db");
    run_simple(dir.path(), &db, 2);
    // A leftover empty WAL without its -shm: SQLite's normal read-only open
    // cannot create the -shm on a read-only mount (the probe's failure).
    std::fs::write(sidecar(&db, "-wal"), b"").unwrap();
    let target = dir.path().join("ro");
    std::fs::create_dir_all(&target).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["--bind", "-o", "ro", s(&src), s(&target)])
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        eprintln!("skipped: cannot bind-mount here");
        return;
    }
    let ro_db = target.join("y.db");
    let list = windlass(&["instances", "list", "--db", s(&ro_db)]);
    let check = windlass(&["db", "check", "--db", s(&ro_db)]);
    let run = windlass(&["run", s(&dir.path().join("simple.bpmn")), "--db", s(&ro_db)]);
    let _ = std::process::Command::new("umount").arg(&target).status();
    assert_eq!(list.status.code(), Some(0), "{}", text(&list));
    assert!(text(&list).contains("2 instance(s)"), "{}", text(&list));
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("read-only"), "{}", text(&run));
}

#[test]
fn an_unprivileged_user_reads_a_database_in_a_folder_it_cannot_write() {
    // Root ignores folder permissions, so the verbs run as uid 65534 via
    // setpriv, from a copy of the binary that user can reach.
    use std::os::unix::fs::PermissionsExt as _;
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let setpriv = std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !root || !setpriv {
        eprintln!("skipped: needs root and setpriv to run as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ro");
    std::fs::create_dir_all(&folder).unwrap();
    let db = folder.join("y.db");
    run_simple(dir.path(), &db, 2);
    let bin = folder.join("windlass");
    std::fs::copy(env!("CARGO_BIN_EXE_windlass"), &bin).unwrap();
    for (p, mode) in [
        (dir.path(), 0o755),
        (&folder, 0o755),
        (&bin, 0o755),
        (&db, 0o644),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let bpmn = dir.path().join("simple.bpmn");
    std::fs::set_permissions(&bpmn, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args)
            .output()
            .unwrap()
    };
    // Before: "database is read-only, the batch was not written" for a list.
    let list = as_nobody(&["instances", "list", "--db", s(&db)]);
    assert_eq!(list.status.code(), Some(0), "{}", text(&list));
    assert!(text(&list).contains("2 instance(s)"), "{}", text(&list));
    let check = as_nobody(&["db", "check", "--db", s(&db)]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let run = as_nobody(&["run", s(&bpmn), "--db", s(&db)]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("read-only"), "{}", text(&run));
}

#[test]
fn db_check_beside_a_running_writer_sees_one_consistent_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.db");
    let bpmn = simple(dir.path());
    let mut bench = std::process::Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args([
            "bench",
            s(&bpmn),
            "--instances",
            "20000",
            "--store",
            "sqlite",
        ])
        .args(["--db", s(&db)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut checked = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while checked < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(150));
        if !db.exists() {
            continue;
        }
        let out = windlass(&["db", "check", "--db", s(&db), "--format", "json"]);
        if out.status.code() == Some(2) {
            continue; // the file is still being created
        }
        let report = json(&out);
        if report["instances"] == 0 {
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{report}");
        checked += 1;
    }
    let _ = bench.kill();
    let _ = bench.wait();
    assert!(checked >= 3, "only {checked} checks ran during the bench");
}
