//! Running a [`ShellSpec`]: the child gets a process group of its own, its
//! output is read while it runs, and the whole group is killed (SIGKILL)
//! when the job is cancelled, times out, or its future is dropped (the
//! runtime aborts it), and also once the main process has exited, so a
//! stray background process neither outlives the job nor holds its pipes.

use super::capture::{Captured, Keep, Limits, read_capped};
use super::{Output, Program, ShellSpec};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::process::{ExitStatus, Stdio};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use windlass_runtime::JobOutcome;
use windlass_types::Vars;

/// How much of standard error a failure message quotes, chars.
const STDERR_IN_MESSAGE: usize = 500;

/// Kills the process group on drop (or on [`GroupGuard::kill`]).
struct GroupGuard(Option<Pid>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // ESRCH: nothing left in the group.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `spec` to its outcome; `cancel` kills it.
pub async fn run(spec: ShellSpec, cancel: CancellationToken, limits: Limits) -> JobOutcome {
    let mut cmd = match &spec.program {
        Program::Argv(words) => {
            let (program, args) = words.split_first().map_or(("", &[][..]), |(p, a)| (p, a));
            let mut c = Command::new(program);
            c.args(args);
            c
        }
        Program::Sh(script) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(script);
            c
        }
    };
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.working_directory {
        cmd.current_dir(dir);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let permanent = matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            );
            let what = match &spec.program {
                Program::Argv(w) => w.first().cloned().unwrap_or_default(),
                Program::Sh(_) => "sh".into(),
            };
            return JobOutcome::technical(
                format!("task '{}': cannot start '{what}': {e}", spec.label),
                !permanent,
            );
        }
    };
    let mut group = GroupGuard(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let stdout = child
        .stdout
        .take()
        .map(|r| tokio::spawn(read_capped(r, limits.stdout, Keep::Head)));
    let stderr = child
        .stderr
        .take()
        .map(|r| tokio::spawn(read_capped(r, limits.stderr, Keep::Tail)));
    let timeout = async {
        match spec.timeout {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        () = timeout => {
            group.kill();
            let ms = spec.timeout.map_or(0, |d| d.as_millis());
            return JobOutcome::technical(
                format!("task '{}': timed out after {ms} ms (process group killed)", spec.label),
                true,
            );
        }
        () = cancel.cancelled() => {
            group.kill();
            return JobOutcome::technical(
                format!("task '{}': cancelled (process group killed)", spec.label),
                false,
            );
        }
    };
    // Whatever the main process left running in its group goes with it.
    group.kill();
    let stdout = collect(stdout).await;
    let stderr = collect(stderr).await;
    match status {
        Ok(status) => settle(&spec, status, &stdout, &stderr),
        Err(e) => JobOutcome::technical(format!("task '{}': wait failed: {e}", spec.label), true),
    }
}

async fn collect(h: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    match h {
        Some(h) => h.await.unwrap_or_default(),
        None => Captured::default(),
    }
}

fn settle(
    spec: &ShellSpec,
    status: ExitStatus,
    stdout: &Captured,
    stderr: &Captured,
) -> JobOutcome {
    let Some(code) = status.code() else {
        let how = std::os::unix::process::ExitStatusExt::signal(&status)
            .and_then(|s| Signal::try_from(s).ok())
            .map_or_else(|| "a signal".to_string(), |s| s.as_str().to_string());
        return JobOutcome::technical(
            format!("task '{}': killed by {how}{}", spec.label, tail(stderr)),
            true,
        );
    };
    if code != 0 {
        return JobOutcome::technical(
            format!(
                "task '{}': exited with code {code}{}",
                spec.label,
                tail(stderr)
            ),
            true,
        );
    }
    match spec.output {
        Output::Text => {
            let mut v = Vars::new();
            v.insert("stdout".into(), stdout.text().into());
            v.insert("stderr".into(), stderr.text().into());
            v.insert("exitCode".into(), code.into());
            JobOutcome::done(v)
        }
        Output::Json => json_output(spec, stdout),
    }
}

fn json_output(spec: &ShellSpec, stdout: &Captured) -> JobOutcome {
    let bad = |why: String| {
        JobOutcome::technical(
            format!("task '{}': output = json, but {why}", spec.label),
            false,
        )
    };
    if stdout.truncated() {
        return bad(format!(
            "standard output exceeded the cap ({} bytes dropped)",
            stdout.dropped
        ));
    }
    match serde_json::from_slice::<serde_json::Value>(&stdout.bytes) {
        Ok(serde_json::Value::Object(map)) => JobOutcome::done(map),
        Ok(other) => bad(format!(
            "standard output is a JSON {}, not an object",
            windlass_expr::type_name(&other)
        )),
        Err(e) => bad(format!("standard output is not valid JSON: {e}")),
    }
}

/// `: <last chars of stderr>` when there is any.
fn tail(stderr: &Captured) -> String {
    let text = String::from_utf8_lossy(&stderr.bytes);
    let text = text.trim_end();
    if text.is_empty() {
        return String::new();
    }
    let count = text.chars().count();
    let start = text
        .char_indices()
        .nth(count.saturating_sub(STDERR_IN_MESSAGE))
        .map_or(0, |(i, _)| i);
    let cut = if start > 0 || stderr.truncated() {
        "..."
    } else {
        ""
    };
    format!(": {cut}{}", text.get(start..).unwrap_or(text))
}
