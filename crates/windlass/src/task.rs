//! Tasks as an embedding program's async functions see them: a
//! [`TaskContext`] in, a [`TaskResult`] out. [`task_handler`] turns such a
//! function into a runtime handler whose future the runtime spawns and
//! owns, so a handler never runs on an engine shard's thread (a slow one
//! never holds up other instances), is cancelled with its job, and runs
//! inside a tracing span carrying the instance's fields.

use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;
use windlass_runtime::{CancellationToken, HandlerResult, Job, JobHandler, JobOutcome};
use windlass_types::Vars;

/// What a task function gets.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The variables visible to the task (input mappings applied).
    pub vars: Vars,
    /// The task's name with its template resolved (`Build api` for
    /// `Build {loop.value}`), else its element id.
    pub name: String,
    /// The task's element id.
    pub node_id: String,
    /// The task `kind`, if it has one.
    pub kind: Option<String>,
    /// The instance id.
    pub instance_id: String,
    /// The run id of the instance.
    pub run_id: String,
    /// The job key, `{instance}/{run}/{node}/{token}/{attempt}`: the same on
    /// every delivery of this attempt (after a crash too), so an effect
    /// keyed by it happens once per attempt.
    pub job_key: String,
    /// The activity key, `{instance}/{run}/{node}/{token}`: the same for
    /// every attempt of this activity, so an effect keyed by it happens
    /// once however often the task is retried.
    pub activity_key: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Fired when the job no longer matters (an interrupting boundary
    /// event, a cancelled or terminated instance, shutdown). The function's
    /// future is dropped then; work it started elsewhere (a process, a
    /// spawned task, a remote call) watches this token to stop.
    pub cancel: CancellationToken,
    /// The span the function runs in (fields `instance`, `run`, `node`,
    /// `job`): log lines inside it carry them.
    pub span: tracing::Span,
}

impl TaskContext {
    /// The context of runtime job `job`.
    pub fn of_job(job: &Job) -> TaskContext {
        let key = &job.request.key;
        let span = tracing::info_span!(
            "task",
            instance = %job.instance.id.0,
            run = %job.instance.run.0,
            node = %job.request.node_id,
            job = %job.key,
        );
        let activity_key = match job.key.rsplit_once('/') {
            Some((activity, _attempt)) => activity.to_string(),
            None => job.key.clone(),
        };
        TaskContext {
            vars: job.request.inputs.clone(),
            name: job.label().to_string(),
            node_id: job.request.node_id.clone(),
            kind: job.request.kind.clone(),
            instance_id: job.instance.id.0.clone(),
            run_id: job.instance.run.0.clone(),
            job_key: job.key.clone(),
            activity_key,
            attempt: key.attempt,
            cancel: job.cancel.clone(),
            span,
        }
    }

    /// The variable `name`, if set.
    pub fn var(&self, name: &str) -> Option<&serde_json::Value> {
        self.vars.get(name)
    }
}

/// How a task function failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// A BPMN error: caught by an error boundary event or error event
    /// sub-process naming `code` (else the instance fails).
    #[error("BPMN error {code}")]
    Bpmn {
        /// The error code.
        code: String,
        /// A message for people.
        message: Option<String>,
    },
    /// A failure another attempt may not have: retried while the task's
    /// `retries` allow, then an incident.
    #[error("{0}")]
    Retryable(String),
    /// A failure no retry mends: an incident at once.
    #[error("{0}")]
    Permanent(String),
}

impl TaskError {
    /// A BPMN error with `code`.
    pub fn bpmn(code: impl Into<String>) -> Self {
        TaskError::Bpmn {
            code: code.into(),
            message: None,
        }
    }

    /// A retryable failure.
    pub fn retryable(message: impl std::fmt::Display) -> Self {
        TaskError::Retryable(message.to_string())
    }

    /// A permanent failure.
    pub fn permanent(message: impl std::fmt::Display) -> Self {
        TaskError::Permanent(message.to_string())
    }

    fn outcome(self) -> JobOutcome {
        match self {
            TaskError::Bpmn { code, message } => JobOutcome::bpmn_error(code, message),
            TaskError::Retryable(m) => JobOutcome::technical(m, true),
            TaskError::Permanent(m) => JobOutcome::technical(m, false),
        }
    }
}

/// What a task function returns: its output variables, or a failure.
pub type TaskResult = Result<Vars, TaskError>;

/// A runtime handler running `f` for each job.
pub fn task_handler<F, Fut>(f: F) -> impl JobHandler
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TaskResult> + Send + 'static,
{
    TaskFn(Arc::new(f))
}

struct TaskFn<F>(Arc<F>);

impl<F, Fut> JobHandler for TaskFn<F>
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TaskResult> + Send + 'static,
{
    fn handle(&self, job: &Job) -> HandlerResult {
        let ctx = TaskContext::of_job(job);
        let span = ctx.span.clone();
        let f = Arc::clone(&self.0);
        // Only builds the future: its body runs in the task the runtime
        // spawns for it.
        HandlerResult::Pending(Box::pin(
            async move {
                match f(ctx).await {
                    Ok(vars) => JobOutcome::done(vars),
                    Err(e) => e.outcome(),
                }
            }
            .instrument(span),
        ))
    }
}
