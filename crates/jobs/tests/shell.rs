//! The `shell` kind with real child processes.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use windlass_engine::event::JobFailure;
use windlass_jobs::TaskInput;
use windlass_jobs::shell::{self, Limits, ShellSpec};
use windlass_runtime::JobOutcome;
use windlass_types::Vars;

fn input(settings: &[(&str, &str)], vars: Value) -> TaskInput {
    let map: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TaskInput {
        label: "Build".into(),
        kind: "shell".into(),
        settings: map.clone(),
        settings_source: map,
        inputs: vars.as_object().cloned().unwrap_or_default(),
        cancel: Default::default(),
        secrets: windlass_jobs::SecretSource::new(None, Some(Default::default())),
        job_key: None,
    }
}

async fn run(settings: &[(&str, &str)], vars: Value) -> JobOutcome {
    windlass_jobs::start(input(settings, vars)).unwrap().await
}

fn outputs(o: JobOutcome) -> Vars {
    match o {
        JobOutcome::Completed { outputs, .. } => outputs,
        other => panic!("not completed: {other:?}"),
    }
}

fn failure(o: JobOutcome) -> (String, bool) {
    match o {
        JobOutcome::Failed(JobFailure::Technical { message, retryable }) => (message, retryable),
        other => panic!("not a technical failure: {other:?}"),
    }
}

#[tokio::test]
async fn hostile_values_reach_the_program_as_single_arguments() {
    for hostile in ["\"; rm -rf /", "$(id)", "a b; $(id)", "`id` && echo x", "'"] {
        let out = outputs(run(&[("command", "printf %s {name}")], json!({"name": hostile})).await);
        assert_eq!(out["stdout"], hostile);
        assert_eq!(out["exitCode"], 0);
    }
    // Two placeholders, two arguments, whatever they hold.
    let out = outputs(
        run(
            &[("command", "printf '[%s]' {a} 'lit eral' {b}")],
            json!({"a": "x y", "b": "$HOME"}),
        )
        .await,
    );
    assert_eq!(out["stdout"], "[x y][lit eral][$HOME]");
}

#[tokio::test]
async fn sh_mode_gets_variables_as_environment_variables() {
    let out = outputs(
        run(
            &[
                (
                    "command",
                    "printf '%s|%s|%s' \"$WINDLASS_VAR_name\" \"$WINDLASS_VAR_n\" \"$EXTRA\"",
                ),
                ("shell", "sh"),
                ("env.EXTRA", "set"),
            ],
            json!({"name": "$(id); echo pwned", "n": {"k": 1}}),
        )
        .await,
    );
    assert_eq!(out["stdout"], "$(id); echo pwned|{\"k\":1}|set");
}

#[tokio::test]
async fn working_directory_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = outputs(
        run(
            &[
                ("command", "pwd; echo oops >&2"),
                ("shell", "sh"),
                ("workingDirectory", dir.path().to_str().unwrap()),
            ],
            json!({}),
        )
        .await,
    );
    let pwd = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(out["stdout"], format!("{}\n", pwd.display()));
    assert_eq!(out["stderr"], "oops\n");
}

#[tokio::test]
async fn non_zero_exit_is_a_retryable_failure_with_the_stderr_tail() {
    let (msg, retryable) = failure(
        run(
            &[("command", "echo bad thing >&2; exit 7"), ("shell", "sh")],
            json!({}),
        )
        .await,
    );
    assert!(retryable);
    assert_eq!(msg, "task 'Build': exited with code 7: bad thing");
    let (msg, retryable) = failure(run(&[("command", "/no/such/program")], json!({})).await);
    assert!(!retryable, "{msg}");
    assert!(msg.contains("cannot start '/no/such/program'"), "{msg}");
    let (msg, retryable) = failure(
        run(
            &[("command", "true"), ("workingDirectory", "/no/such/dir")],
            json!({}),
        )
        .await,
    );
    assert!(!retryable, "{msg}");
    assert!(
        msg.contains("cannot start 'true' in '/no/such/dir'"),
        "{msg}"
    );
    // A variable too big for the environment of an `sh` task: no retry.
    let big = "x".repeat(200 * 1024);
    let (msg, retryable) =
        failure(run(&[("command", "true"), ("shell", "sh")], json!({"big": big})).await);
    assert!(!retryable, "{msg}");
    assert!(
        msg.contains("every WINDLASS_VAR_* variable included"),
        "{msg}"
    );
}

#[tokio::test]
async fn json_output_becomes_variables_and_bad_json_names_the_task() {
    let out = outputs(
        run(
            // Literal braces are doubled, as in every template.
            &[
                ("command", "printf '{{\"a\": 1, \"b\": [true]}}'"),
                ("output", "json"),
            ],
            json!({}),
        )
        .await,
    );
    assert_eq!(Value::Object(out), json!({"a": 1, "b": [true]}));
    let (msg, retryable) = failure(
        run(
            &[("command", "echo not json"), ("output", "json")],
            json!({}),
        )
        .await,
    );
    assert!(!retryable);
    assert!(
        msg.starts_with("task 'Build': output = json, but standard output is not valid JSON"),
        "{msg}"
    );
    let (msg, _) = failure(run(&[("command", "echo [1]"), ("output", "json")], json!({})).await);
    assert_eq!(
        msg,
        "task 'Build': output = json, but standard output is a JSON list, not an object"
    );
}

#[tokio::test]
async fn output_is_capped_with_a_marker() {
    let spec = ShellSpec::parse(&input(
        &[
            (
                "command",
                "head -c 100000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' e >&2",
            ),
            ("shell", "sh"),
        ],
        json!({}),
    ))
    .unwrap();
    let limits = Limits {
        stdout: 1000,
        stderr: 100,
    };
    let out = outputs(shell::run(spec, Default::default(), limits).await);
    let stdout = out["stdout"].as_str().unwrap();
    assert_eq!(
        stdout,
        format!(
            "{}\n[windlass: 99000 more bytes truncated]",
            "a".repeat(1000)
        )
    );
    let stderr = out["stderr"].as_str().unwrap();
    assert_eq!(
        stderr,
        format!(
            "[windlass: 4900 earlier bytes truncated]\n{}",
            "e".repeat(100)
        )
    );
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped by whoever adopted it) is gone too.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

async fn wait_for_pid(file: &std::path::Path) -> i32 {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the child never wrote its grandchild's pid");
}

async fn gone(pid: i32) -> bool {
    for _ in 0..200 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// A child that starts a grandchild `sleep` and writes its pid.
fn grandparent(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let file = dir.join("pid");
    (
        format!("sleep 300 & echo $! > {}; wait", file.display()),
        file,
    )
}

#[tokio::test]
async fn cancel_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let (script, file) = grandparent(dir.path());
    let i = input(&[("command", &script), ("shell", "sh")], json!({}));
    let cancel = i.cancel.clone();
    let job = tokio::spawn(windlass_jobs::start(i).unwrap());
    let pid = wait_for_pid(&file).await;
    assert!(alive(pid));
    cancel.cancel();
    let (msg, _) = failure(job.await.unwrap());
    assert!(msg.contains("cancelled"), "{msg}");
    assert!(gone(pid).await, "the grandchild {pid} survived the cancel");
}

#[tokio::test]
async fn dropping_the_future_kills_the_group_too() {
    let dir = tempfile::tempdir().unwrap();
    let (script, file) = grandparent(dir.path());
    let job = tokio::spawn(
        windlass_jobs::start(input(&[("command", &script), ("shell", "sh")], json!({}))).unwrap(),
    );
    let pid = wait_for_pid(&file).await;
    job.abort();
    let _ = job.await;
    assert!(gone(pid).await, "the grandchild {pid} survived the abort");
}

#[tokio::test]
async fn timeout_kills_the_group_and_fails_retryably() {
    let dir = tempfile::tempdir().unwrap();
    let (script, file) = grandparent(dir.path());
    let started = Instant::now();
    let job = tokio::spawn(
        windlass_jobs::start(input(
            &[("command", &script), ("shell", "sh"), ("timeout", "PT0.5S")],
            json!({}),
        ))
        .unwrap(),
    );
    let pid = wait_for_pid(&file).await;
    let (msg, retryable) = failure(job.await.unwrap());
    assert!(retryable);
    assert_eq!(
        msg,
        "task 'Build': timed out after 500 ms (process group killed)"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(gone(pid).await, "the grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn background_leftovers_do_not_hold_the_job() {
    // The main process exits at once; its background child keeps stdout
    // open. The job ends anyway and the leftover is killed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; echo done", file.display());
    let started = Instant::now();
    let out = outputs(run(&[("command", &script), ("shell", "sh")], json!({})).await);
    assert_eq!(out["stdout"], "done\n");
    assert!(started.elapsed() < Duration::from_secs(30));
    let pid: i32 = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone(pid).await);
}

#[tokio::test]
async fn a_process_that_left_the_group_does_not_hold_the_job() {
    // `setsid` puts the leftover in a session (and group) of its own, out of
    // reach of the group kill; it keeps the job's stdout and stderr open.
    // The job still ends soon after the main process, with what was read.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pid");
    let script = format!("setsid sleep 300 & echo $! > {}; echo done", file.display());
    let started = Instant::now();
    let job = tokio::spawn(
        windlass_jobs::start(input(&[("command", &script), ("shell", "sh")], json!({}))).unwrap(),
    );
    let outcome = tokio::time::timeout(Duration::from_secs(20), job).await;
    let pid: i32 = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Not ours to keep: the test cleans up what escaped.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let out = outputs(
        outcome
            .expect("the job waited for a process outside its group")
            .unwrap(),
    );
    assert_eq!(out["stdout"], "done\n");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_secret_reference_is_read_when_the_job_runs_and_masked() {
    let secrets = windlass_jobs::SecretSource::new(
        None,
        Some([("WINDLASS_SECRET_PW".to_string(), "hunter2-pw".to_string())].into()),
    );
    let with = |settings: &[(&str, &str)]| TaskInput {
        secrets: secrets.clone(),
        ..input(settings, json!({}))
    };
    // Set in the environment, printed, masked in the output variables; the
    // spec's `Debug` shows no value either.
    let i = with(&[("command", "printenv PW"), ("env.PW", "secret:PW")]);
    let spec = ShellSpec::parse(&i).unwrap();
    assert!(!format!("{spec:?}").contains("hunter2"), "{spec:?}");
    let out = outputs(windlass_jobs::start(i).unwrap().await);
    assert_eq!(out["stdout"], "***\n");
    // A secret nobody set: refused without retry, naming the setting and
    // the secret.
    let i = with(&[("command", "true"), ("env.X", "secret:NOPE")]);
    let (message, retryable) = failure(windlass_jobs::start(i).unwrap().await);
    assert!(!retryable);
    assert!(
        message.contains("setting 'env.X'") && message.contains("secret 'NOPE' is not set"),
        "{message}"
    );
    // `command` is split into words as written: `secret:` there is text.
    let i = with(&[("command", "echo secret:PW")]);
    let out = outputs(windlass_jobs::start(i).unwrap().await);
    assert_eq!(out["stdout"], "secret:PW\n");
}

#[tokio::test]
async fn a_variable_holding_a_secret_reference_is_only_text() {
    let secrets = windlass_jobs::SecretSource::new(
        None,
        Some([("WINDLASS_SECRET_PW".to_string(), "hunter2-pw".to_string())].into()),
    );
    let mut i = input(
        &[("command", "printenv PW"), ("env.PW", "{ref}")],
        json!({"ref": "secret:PW"}),
    );
    i.secrets = secrets;
    // Rendered from the variable; the text as written is `{ref}`.
    i.settings
        .insert("env.PW".to_string(), "secret:PW".to_string());
    let out = outputs(windlass_jobs::start(i.clone()).unwrap().await);
    assert_eq!(out["stdout"], "secret:PW\n");
    // Without the text as written only the rendered value is known: it is
    // not taken for a reference either.
    i.settings_source.remove("env.PW");
    let out = outputs(windlass_jobs::start(i).unwrap().await);
    assert_eq!(out["stdout"], "secret:PW\n");
}

#[test]
fn settings_debug_shows_no_value() {
    let secrets = windlass_jobs::SecretSource::new(
        None,
        Some([("WINDLASS_SECRET_PW".to_string(), "hunter2-pw".to_string())].into()),
    );
    let i = TaskInput {
        secrets,
        ..input(&[("command", "true"), ("env.PW", "secret:PW")], json!({}))
    };
    let known = windlass_jobs::settings::Known {
        names: &["command"],
        prefixes: &["env."],
        unsupported: &[],
        verbatim: &["command"],
    };
    let s = windlass_jobs::settings::Settings::read(&i, known).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("env.PW"), "{shown}");
}
