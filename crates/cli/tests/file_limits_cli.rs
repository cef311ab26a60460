//! End-to-end tests of the size limit on every file the binary reads
//! (`windlass_scenario::bounded`): an endless stream (`/dev/zero`) given as
//! a BPMN document, an `--input @FILE` or a scenario's process fails fast
//! with an error naming the file and the limit, instead of reading until
//! memory runs out.

mod common;

use common::{renewal, s};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Long enough for a debug build to read 64 MiB; far shorter than reading
/// `/dev/zero` until memory runs out (the defect these tests guard).
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs the binary with `args`, killing it (and failing the test) when it
/// has not finished by [`DEADLINE`].
fn windlass_bounded(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start windlass");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for windlass").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("windlass {args:?} still reading after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const BPMN_LIMIT: &str = "/dev/zero is larger than 64 MiB, the limit for BPMN documents";

#[test]
fn validate_refuses_an_endless_stream_and_still_reports_the_readable_files() {
    let out = windlass_bounded(&["validate", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("error: {BPMN_LIMIT}")),
        "{}",
        stderr(&out)
    );

    // The readable file after it is validated, the oversized one named last.
    let renewal = renewal();
    let out = windlass_bounded(&["validate", "--format", "json", "/dev/zero", s(&renewal)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v[0]["errors"], 0, "{v}");
    assert!(
        v[0]["file"]
            .as_str()
            .unwrap_or("")
            .ends_with("certificate-renewal.bpmn"),
        "{v}"
    );
    assert_eq!(v[1]["file"], "/dev/zero");
    assert_eq!(v[1]["error"], BPMN_LIMIT, "{v}");
}

#[test]
fn inspect_refuses_an_endless_stream() {
    let renewal = renewal();
    let out = windlass_bounded(&["inspect", "/dev/zero", s(&renewal)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("certificate-renewal.bpmn"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(&format!("error: {BPMN_LIMIT}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_refuses_an_endless_stream_as_its_bpmn_document() {
    let out = windlass_bounded(&["run", "/dev/zero", "--memory"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(BPMN_LIMIT), "{}", stderr(&out));
}

#[test]
fn run_refuses_an_endless_stream_as_its_input_file() {
    let renewal = renewal();
    let out = windlass_bounded(&["run", s(&renewal), "--memory", "--input", "@/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--input: /dev/zero is larger than 64 MiB, the limit for input files"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "nothing ran: {}", stdout(&out));
}

#[test]
fn run_still_reads_an_input_file_and_names_a_missing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"ingress": "shop"}"#).expect("write");
    let renewal = renewal();
    let arg = format!("@{}", s(&input));
    let out = windlass_bounded(&["run", s(&renewal), "--memory", "--input", &arg]);
    assert!(
        stdout(&out).contains("\"ingress\": \"shop\""),
        "{}",
        stdout(&out)
    );
    let missing = format!("@{}", s(&dir.path().join("missing.json")));
    let out = windlass_bounded(&["run", s(&renewal), "--memory", "--input", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--input: cannot read") && stderr(&out).contains("missing.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_scenario_whose_process_is_an_endless_stream_fails_with_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("zero.scenario.json");
    std::fs::write(
        &scenario,
        r#"{"process": "/dev/zero", "expect": {"status": "completed"}}"#,
    )
    .expect("write");
    let out = windlass_bounded(&["test", s(&scenario)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains(BPMN_LIMIT), "{all}");
}

#[test]
fn a_scenario_file_that_is_an_endless_stream_fails_with_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("zero.scenario.json");
    std::os::unix::fs::symlink("/dev/zero", &scenario).expect("symlink");
    let out = windlass_bounded(&["test", s(&scenario)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("zero.scenario.json: the file is larger than the limit of 16777216 bytes"),
        "{all}"
    );
}
