//! Built-in job kinds: `shell` runs a program (or, opted in, an `sh -c`
//! script) as a child process; `http` sends a request; `script` evaluates
//! an expression whose value sets variables. All are
//! [`JobHandler`]s answering [`HandlerResult::Pending`] futures, so the work
//! never runs on a shard's thread; [`builtin`] binds them by kind.
//!
//! Settings come from `<windlass:setting>` on the task (see `docs/tasks.md`);
//! unknown settings and missing required ones are refused by name, as a
//! failure without retry (an incident naming the task and the setting). A
//! setting written `secret:NAME` is read from a [`SecretSource`] when the
//! job runs and masked in everything the job gives out.

mod blocking;
pub mod error;
pub mod http;
pub mod input;
pub mod script;
pub mod secret_source;
pub mod settings;
pub mod shell;

pub use blocking::run_blocking;
pub use error::ConfigError;
pub use input::TaskInput;
pub use secret_source::{SecretSource, WatchedSecrets};

/// What an executor answers (the runtime's job outcome).
pub use windlass_runtime::JobOutcome;

use windlass_runtime::{HandlerResult, Handlers, Job, JobFuture, JobHandler};

/// The kinds this crate executes.
pub const KINDS: [&str; 3] = [shell::KIND, http::KIND, script::KIND];

/// True when `kind` is one of the built-in kinds.
pub fn is_builtin(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// Starts the job `input` describes, or `None` when its kind is not a
/// built-in one. A configuration error becomes a future that fails at once
/// without retry.
pub fn start(input: TaskInput) -> Option<JobFuture> {
    let fut: JobFuture = match input.kind.as_str() {
        shell::KIND => match shell::ShellSpec::parse(&input) {
            Ok(spec) => Box::pin(shell::run(
                spec,
                input.cancel.clone(),
                shell::Limits::default(),
            )),
            Err(e) => refused(e),
        },
        http::KIND => match http::HttpSpec::parse(&input) {
            Ok(spec) => Box::pin(http::run(spec, input.cancel.clone())),
            Err(e) => refused(e),
        },
        script::KIND => match script::ScriptSpec::parse(&input) {
            Ok(spec) => Box::pin(async move { script::run(&spec) }),
            Err(e) => refused(e),
        },
        _ => return None,
    };
    Some(fut)
}

fn refused(e: ConfigError) -> JobFuture {
    let outcome = JobOutcome::technical(e.to_string(), false);
    Box::pin(async move { outcome })
}

/// The handler of the built-in kinds, reading secrets from its source.
#[derive(Debug, Clone, Default)]
pub struct Builtin {
    secrets: SecretSource,
}

impl JobHandler for Builtin {
    fn handle(&self, job: &Job) -> HandlerResult {
        match start(TaskInput::of_job(job, &self.secrets)) {
            Some(fut) => HandlerResult::Pending(fut),
            // Bound only to the built-in kinds, so never reached; answered
            // like any job nothing is bound to.
            None => HandlerResult::Ready(JobOutcome::technical(
                format!(
                    "no handler for task '{}' (kind '{}')",
                    job.label(),
                    job.request.kind.as_deref().unwrap_or("")
                ),
                false,
            )),
        }
    }
}

/// `handlers` with the built-in kinds bound (`shell`, `http`, `script`), secrets
/// read from the environment ([`SecretSource::from_env`]). Handlers bound
/// by element id or task name still come first: the runtime looks up the
/// id, the name, then the kind.
pub fn builtin(handlers: Handlers) -> Handlers {
    builtin_with(handlers, SecretSource::from_env())
}

/// [`builtin`] with secrets read from `secrets`.
pub fn builtin_with(handlers: Handlers, secrets: SecretSource) -> Handlers {
    let handler = Builtin { secrets };
    KINDS
        .iter()
        .fold(handlers, |h, kind| h.on_kind(*kind, handler.clone()))
}
