//! End-to-end tests of the `windlass` binary's log output: the runtime's
//! `tracing` events go to stderr, filtered by `WINDLASS_LOG` or `RUST_LOG`
//! (default `warn`), as text or JSON (`--log-format`, `WINDLASS_LOG_FORMAT`);
//! lines about an instance carry its `instance` span.

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

/// The stderr lines the runtime logged at `level` (`DEBUG`, `INFO`, ...),
/// inside an instance span (`LEVEL instance{...}: windlass_runtime::...`)
/// or not.
fn runtime_lines(o: &Output, level: &str) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(&format!(" {level} ")) && l.contains(" windlass_runtime"))
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

/// One service task with no mock and no handler: the run ends in an
/// incident, which the runtime logs at info about the instance.
const STUCK_TASK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs" targetNamespace="urn:windlass:tests">
  <bpmn:process id="stuck-task" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:serviceTask id="work" name="Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"#;

/// Runs the stuck-task process as instance `job-1` in memory with the
/// given extra arguments and environment (`RUST_LOG` and the `WINDLASS_LOG*`
/// variables are cleared first).
fn run_stuck(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let file = dir.join("stuck-task.bpmn");
    std::fs::write(&file, STUCK_TASK).expect("write bpmn");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_windlass"));
    cmd.args(["run", s(&file), "--memory", "--id", "job-1"])
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("WINDLASS_LOG")
        .env_remove("WINDLASS_LOG_FORMAT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run windlass")
}

/// The stdout of a run (the verb's result; the instance id is fixed, so it
/// is the same from run to run).
fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn json_log_lines_about_an_instance_carry_instance_run_process_and_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_stuck(
        dir.path(),
        &["--log-format", "json"],
        &[("WINDLASS_LOG", "info")],
    );
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the run ends in an incident: {t}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let incident = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("incident:"))
        })
        .unwrap_or_else(|| panic!("no incident line on stderr: {t}"));
    assert_eq!(incident["level"], "INFO", "{incident}");
    let span = &incident["span"];
    assert_eq!(span["name"], "instance", "{incident}");
    assert_eq!(span["instance"], "job-1", "{incident}");
    assert_eq!(span["process"], "stuck-task", "{incident}");
    assert_eq!(span["node"], "work", "{incident}");
    let run = span["run"].as_str().unwrap_or_default();
    assert!(!run.is_empty(), "no run: {incident}");
    // The run is the instance's run: the one the event's own text names.
    let own = incident["fields"]["instance"].as_str().unwrap_or_default();
    assert!(own.contains(run), "{incident}");
    // Stdout is the normal result, with no log line in it.
    let stdout = stdout_of(&out);
    assert!(
        stdout.starts_with("instance: job-1\nstatus:   incident\n"),
        "{t}"
    );
    assert!(!stdout.contains("\"level\""), "{t}");
}

#[test]
fn the_log_format_and_level_leave_stdout_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = run_stuck(dir.path(), &[], &[]);
    assert!(plain.stderr.is_empty(), "{}", text(&plain));
    let json = run_stuck(
        dir.path(),
        &["--log-format", "json"],
        &[("WINDLASS_LOG", "debug")],
    );
    assert!(!json.stderr.is_empty(), "{}", text(&json));
    assert_eq!(stdout_of(&plain), stdout_of(&json));
    assert_eq!(plain.status.code(), json.status.code());
}

#[test]
fn text_lines_name_the_instance_span_and_windlass_log_beats_rust_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    // WINDLASS_LOG=info wins over RUST_LOG=error; the format comes from
    // WINDLASS_LOG_FORMAT when no flag is given.
    let out = run_stuck(
        dir.path(),
        &[],
        &[
            ("WINDLASS_LOG", "info"),
            ("RUST_LOG", "error"),
            ("WINDLASS_LOG_FORMAT", "text"),
        ],
    );
    let t = text(&out);
    let line = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.contains(" INFO ") && l.contains("incident:"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no incident line: {t}"));
    assert!(line.contains("instance{instance=job-1 run="), "{line}");
    assert!(line.contains("process=stuck-task node=work}"), "{line}");
}

#[test]
fn a_bad_log_format_is_refused_by_flag_and_reported_by_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_stuck(dir.path(), &["--log-format", "yaml"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("yaml"));
    let out = run_stuck(dir.path(), &[], &[("WINDLASS_LOG_FORMAT", "yaml")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "the run still happens: {t}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("warning: WINDLASS_LOG_FORMAT=\"yaml\" ignored"),
        "{t}"
    );
}
