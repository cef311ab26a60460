//! End-to-end tests of `windlass bench`: the JSON contract read by
//! `bench/windlass_bench/drivers/windlass.py`, both stores, and resuming.

use std::process::Command;

mod common;
use common::{json, renewal, s, text, windlass};

fn check_contract(v: &serde_json::Value, store: &str, n: u64) {
    assert_eq!(v["engine"], "windlass");
    assert_eq!(v["store"], store);
    assert_eq!(v["workload"], "certificate-renewal");
    assert_eq!(v["instances"], n);
    assert_eq!(v["completed"], n, "{v}");
    assert!(v["seconds"].as_f64().is_some_and(|x| x > 0.0), "{v}");
    assert!(v["throughput"].as_f64().is_some_and(|x| x > 0.0), "{v}");
    let (p50, p99) = (
        v["latency_us"]["p50"].as_f64(),
        v["latency_us"]["p99"].as_f64(),
    );
    assert!(p50.is_some_and(|a| a > 0.0) && p99 >= p50, "{v}");
    assert!(v["peak_rss_kib"].as_u64().is_some_and(|k| k > 0), "{v}");
}

#[test]
fn memory_bench_prints_one_json_object_with_the_contract_fields() {
    let out = windlass(&[
        "bench",
        s(&renewal()),
        "--instances",
        "200",
        "--store",
        "memory",
        "--format",
        "json",
        "--input",
        r#"{"ingress":"x"}"#,
        "--mock",
        r#"check={"days_left":5}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line: {stdout}");
    let v = json(&out);
    check_contract(&v, "memory", 200);
    // Every task completed by a mock; the renewal path runs all four.
    for name in [
        "Check certificate of x",
        "Issue certificate for x",
        "Store certificate in Secret x-tls",
        "Notify owners of x",
    ] {
        assert_eq!(v["executed"][name], 200, "{name}: {v}");
    }
    // The check throws a BPMN error nothing catches: each instance fails,
    // so the bench reports 0 completed and exits 1. (A failing expression
    // — the CEL condition `days_left < 30` without `days_left` — is an
    // incident on the gateway instead: the instance waits, it does not
    // finish.)
    let out = windlass(&[
        "bench",
        s(&renewal()),
        "--instances",
        "10",
        "--store",
        "memory",
        "--format",
        "json",
        "--mock",
        r#"check={"error":"no-certificate"}"#,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert!(
        v["executed"]["Check certificate of {ingress}"].is_null(),
        "{v}"
    );
    assert_eq!(v["completed"], 0, "{v}");
}

#[test]
fn sqlite_bench_needs_a_db_and_resumes_with_an_id_prefix() {
    let out = windlass(&[
        "bench",
        s(&renewal()),
        "--instances",
        "5",
        "--store",
        "sqlite",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--db"), "{}", text(&out));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let file = renewal();
    let args = [
        "bench",
        s(&file),
        "--instances",
        "100",
        "--store",
        "sqlite",
        "--db",
        s(&db),
        "--id-prefix",
        "b-",
        "--format",
        "json",
        "--input",
        r#"{"ingress":"y"}"#,
        "--mock",
        r#"check={"days_left":5}"#,
    ];
    let first = windlass(&args);
    assert!(first.status.success(), "{}", text(&first));
    check_contract(&json(&first), "sqlite", 100);
    // A second run finds all 100 done: nothing new starts, all still count.
    let second = windlass(&args);
    assert!(second.status.success(), "{}", text(&second));
    let v = json(&second);
    assert_eq!(v["completed"], 100, "{v}");
    assert_eq!(v["throughput"], 0.0, "no new work in the second run: {v}");
    let rows = windlass(&["instances", "list", "--db", s(&db), "--format", "json"]);
    assert_eq!(json(&rows).as_array().map(Vec::len), Some(100));
}

#[test]
fn bad_arguments_are_refused() {
    let out = windlass(&[
        "bench",
        s(&renewal()),
        "--instances",
        "0",
        "--store",
        "memory",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("at least 1"), "{}", text(&out));
    let out = windlass(&[
        "bench",
        s(&renewal()),
        "--instances",
        "3",
        "--store",
        "postgres",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigterm_shuts_down_gracefully_and_a_rerun_finishes_the_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("t.db");
    let file = renewal();
    let args = [
        "bench",
        s(&file),
        "--instances",
        "20000",
        "--store",
        "sqlite",
        "--db",
        s(&db),
        "--id-prefix",
        "t-",
        "--format",
        "json",
        "--input",
        r#"{"ingress":"z"}"#,
        "--mock",
        r#"check={"days_left":5}"#,
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // The verb installs its signal listeners before it opens the database,
    // so once the file exists a SIGTERM must be answered with a drain (130),
    // never the default disposition. Wait for it, then let some work commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !db.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(db.exists(), "the bench never opened {}", db.display());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let out = child.wait_with_output().expect("wait");
    if out.status.code() == Some(0) {
        // The machine was fast enough to finish before the signal.
        check_contract(&json(&out), "sqlite", 20000);
        return;
    }
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(text(&out).contains("interrupted"), "{}", text(&out));
    let rerun = windlass(&args);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(json(&rerun)["completed"], 20000);
}
