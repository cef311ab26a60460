//! End-to-end tests of the `windlass` binary's log output: the runtime's
//! `tracing` events go to stderr, filtered by `RUST_LOG` (default `warn`).

mod common;
use common::{s, text};
use std::path::Path;
use std::process::{Command, Output};

/// Two service tasks in parallel that both end in a BPMN error with no
/// boundary event: the first failure fails the instance, which cancels the
/// other job, and the other job's answer arrives for a finished instance.
/// The runtime logs both at debug level.
const PARALLEL_FAILURES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs" targetNamespace="urn:windlass:tests">
  <bpmn:process id="parallel-failures" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="b"/>
    <bpmn:serviceTask id="a" name="Task a"/>
    <bpmn:serviceTask id="b" name="Task b"/>
    <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"#;

/// Runs the parallel-failures process in memory with `RUST_LOG` set to
/// `rust_log`, or removed when `None`.
fn run_with_log(dir: &Path, rust_log: Option<&str>) -> Output {
    let file = dir.join("parallel-failures.bpmn");
    std::fs::write(&file, PARALLEL_FAILURES).expect("write bpmn");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_windlass"));
    cmd.args([
        "run",
        s(&file),
        "--memory",
        "--mock",
        r#"a={"error":"BOOM_A"}"#,
        "--mock",
        r#"b={"error":"BOOM_B"}"#,
    ]);
    match rust_log {
        Some(v) => cmd.env("RUST_LOG", v),
        None => cmd.env_remove("RUST_LOG"),
    };
    cmd.output().expect("run windlass")
}

/// The stderr lines the runtime logged at `level` (`DEBUG`, `INFO`, ...).
fn runtime_lines(o: &Output, level: &str) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(&format!(" {level} windlass_runtime")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn rust_log_debug_prints_the_runtimes_debug_lines_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with_log(dir.path(), Some("debug"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "the instance fails: {t}");
    let debug = runtime_lines(&out, "DEBUG");
    assert!(!debug.is_empty(), "no runtime debug line on stderr: {t}");
    // Logs never mix into stdout, which stays the command's result.
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("windlass_runtime"),
        "{t}"
    );
}

#[test]
fn rust_log_names_a_crate_and_level_like_env_filter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with_log(dir.path(), Some("warn,windlass_runtime=debug"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(!runtime_lines(&out, "DEBUG").is_empty(), "{t}");
}

#[test]
fn by_default_no_debug_or_info_line_is_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with_log(dir.path(), None);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "the instance fails: {t}");
    for level in ["TRACE", "DEBUG", "INFO"] {
        assert!(runtime_lines(&out, level).is_empty(), "{level} lines: {t}");
    }
    // An empty RUST_LOG is the default too.
    let out = run_with_log(dir.path(), Some(""));
    assert!(runtime_lines(&out, "DEBUG").is_empty(), "{}", text(&out));
}

#[test]
fn an_invalid_rust_log_is_reported_and_the_default_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with_log(dir.path(), Some("windlass_runtime=loud"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "the run still happens: {t}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: RUST_LOG="), "{t}");
    assert!(stderr.contains("ignored"), "{t}");
    assert!(runtime_lines(&out, "DEBUG").is_empty(), "{t}");
}
