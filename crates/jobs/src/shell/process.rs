//! Running a [`ShellSpec`]: the child gets a process group of its own, its
//! output is read while it runs, and the whole group is killed (SIGKILL)
//! when the job is cancelled, times out, or its future is dropped (the
//! runtime aborts it), and also once the main process has exited, so a
//! stray background process neither outlives the job nor holds its pipes.
//!
//! Everything the job does lives in its one future: the output is read
//! there (no task of its own), so dropping the future stops the reading
//! too. A process that left the group (`setsid`) cannot be killed with it;
//! if it still holds the pipes once the main process has exited, reading
//! stops after [`DRAIN_GRACE`] and the job ends with what was read.

use super::capture::{Captured, Keep, Limits, read_into};
use super::{Output, Program, ShellSpec};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use windlass_runtime::JobOutcome;
use windlass_types::Vars;

/// How much of standard error a failure message quotes, chars.
const STDERR_IN_MESSAGE: usize = 500;

/// How long output is still read once the main process has exited and its
/// group is killed: the pipes are then held only by a process that left
/// the group, whose output is not the job's.
pub const DRAIN_GRACE: Duration = Duration::from_millis(500);

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

/// Runs `spec` to its outcome, the secrets its settings reference masked
/// in it; `cancel` kills it.
pub async fn run(spec: ShellSpec, cancel: CancellationToken, limits: Limits) -> JobOutcome {
    let secrets = spec.secrets.clone();
    secrets.mask_outcome(run_unmasked(spec, cancel, limits).await)
}

async fn run_unmasked(spec: ShellSpec, cancel: CancellationToken, limits: Limits) -> JobOutcome {
    let mut child = match command(&spec).spawn() {
        Ok(c) => c,
        Err(e) => return not_started(&spec, &e),
    };
    let mut group = GroupGuard(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let mut stdout = Captured::new(Keep::Head);
    let mut stderr = Captured::new(Keep::Tail);
    let status = {
        let out_pipe = child.stdout.take();
        let err_pipe = child.stderr.take();
        let reading = async {
            tokio::join!(
                read_pipe(out_pipe, limits.stdout, &mut stdout),
                read_pipe(err_pipe, limits.stderr, &mut stderr),
            )
        };
        tokio::pin!(reading);
        let deadline = async {
            match spec.timeout {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut read_all = false;
        let status = loop {
            tokio::select! {
                ((), ()) = &mut reading, if !read_all => read_all = true,
                status = child.wait() => break status,
                () = &mut deadline => {
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
            }
        };
        // Whatever the main process left running in its group goes with it.
        group.kill();
        if !read_all {
            // Only a process outside the group can hold the pipes now.
            tokio::select! {
                ((), ()) = &mut reading => {}
                () = tokio::time::sleep(DRAIN_GRACE) => {}
                () = cancel.cancelled() => {}
            }
        }
        status
    };
    stdout.fit(limits.stdout);
    stderr.fit(limits.stderr);
    match status {
        Ok(status) => settle(&spec, status, &stdout, &stderr),
        Err(e) => JobOutcome::technical(format!("task '{}': wait failed: {e}", spec.label), true),
    }
}

/// The command of `spec`: in a process group of its own, killed when
/// dropped, standard input closed, output piped.
fn command(spec: &ShellSpec) -> Command {
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
    cmd
}

/// The failure of a program that could not be started: without retry when
/// it (or the working directory) is missing or not allowed, or its
/// arguments and environment are over the system's limit.
fn not_started(spec: &ShellSpec, e: &std::io::Error) -> JobOutcome {
    use std::io::ErrorKind;
    let permanent = matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::ArgumentListTooLong
    );
    let hint = if e.kind() == ErrorKind::ArgumentListTooLong {
        match spec.program {
            Program::Sh(_) => {
                " (the arguments and environment, every WINDLASS_VAR_* variable included, \
                 are over the system's limit; one variable at most 128 KiB)"
            }
            Program::Argv(_) => {
                " (the arguments and environment are over the system's limit; \
                 one argument at most 128 KiB)"
            }
        }
    } else {
        ""
    };
    let what = match &spec.program {
        Program::Argv(w) => w.first().cloned().unwrap_or_default(),
        Program::Sh(_) => "sh".into(),
    };
    let dir = spec
        .working_directory
        .as_ref()
        .map(|d| format!(" in '{}'", d.display()))
        .unwrap_or_default();
    JobOutcome::technical(
        format!(
            "task '{}': cannot start '{what}'{dir}: {e}{hint}",
            spec.label
        ),
        !permanent,
    )
}

async fn read_pipe<R: tokio::io::AsyncRead + Unpin>(
    pipe: Option<R>,
    cap: usize,
    out: &mut Captured,
) {
    if let Some(pipe) = pipe {
        read_into(pipe, cap, out).await;
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
