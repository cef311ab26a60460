//! Jobs as handlers see them, what handlers answer, and the [`JobHandler`]
//! trait that in-process functions, mocks, external workers and (later)
//! remote agents all implement.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use tokio_util::sync::CancellationToken;
use windlass_engine::JobRequest;
use windlass_engine::event::{CompletedBy, JobFailure};
use windlass_store_api::InstanceRef;
use windlass_types::Vars;

/// One job handed to a handler.
#[derive(Debug, Clone)]
pub struct Job {
    /// The instance run the job belongs to.
    pub instance: InstanceRef,
    /// The stable idempotency key `{instance}/{run}/{node}/{token}/{attempt}`:
    /// the same on every (re-)dispatch of this attempt, so a handler can make
    /// at-least-once delivery exactly-once in effect.
    pub key: String,
    /// What to run (node, resolved name, kind, settings, inputs, ...).
    pub request: JobRequest,
    /// The task's settings as written in the model (unrendered templates;
    /// `request.settings` holds them rendered). For executors that must see
    /// the text before templates are rendered, e.g. the `shell` kind splits
    /// `command` into words first. Empty when the task has no settings.
    pub settings_source: BTreeMap<String, String>,
    /// Cancelled when the job no longer matters: the engine cancelled it
    /// (an interrupting boundary event, a failed parallel branch, a
    /// terminate end) or the runtime shuts down. A [`HandlerResult::Pending`]
    /// future is also aborted then; a handler that starts work elsewhere (a
    /// process, a remote call) watches this token to stop it.
    pub cancel: CancellationToken,
}

impl Job {
    /// The job's display name: the resolved task name, else the element id.
    pub fn label(&self) -> &str {
        self.request
            .name
            .as_deref()
            .unwrap_or(&self.request.node_id)
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// The job succeeded; its output variables and who completed it.
    Completed {
        /// Output variables (set in the task's scope, or mapped).
        outputs: Vars,
        /// Recorded in the history (`Handler`, `Mock`, `NoOp`).
        by: CompletedBy,
    },
    /// The attempt failed (a BPMN error, or a technical failure that may be
    /// retried).
    Failed(JobFailure),
}

impl JobOutcome {
    /// Completed by a handler with `outputs`.
    pub fn done(outputs: Vars) -> Self {
        JobOutcome::Completed {
            outputs,
            by: CompletedBy::Handler,
        }
    }

    /// Completed by a test mock with `outputs`.
    pub fn mocked(outputs: Vars) -> Self {
        JobOutcome::Completed {
            outputs,
            by: CompletedBy::Mock,
        }
    }

    /// Failed with a BPMN error `code` (caught by error boundary events).
    pub fn bpmn_error(code: impl Into<String>, message: Option<String>) -> Self {
        JobOutcome::Failed(JobFailure::Bpmn {
            code: code.into(),
            message,
        })
    }

    /// Failed technically; `retryable` allows further attempts.
    pub fn technical(message: impl Into<String>, retryable: bool) -> Self {
        JobOutcome::Failed(JobFailure::Technical {
            message: message.into(),
            retryable,
        })
    }
}

/// A boxed future of a job outcome (the slow path: spawned, owned, timed out).
pub type JobFuture = Pin<Box<dyn Future<Output = JobOutcome> + Send + 'static>>;

/// What a handler answers when handed a job.
pub enum HandlerResult {
    /// Done synchronously: fed back to the instance's shard right after the
    /// commit, with no task spawned (the fast path for mocks and benchmarks).
    Ready(JobOutcome),
    /// Runs asynchronously: the runtime spawns and owns the future, applies
    /// the job's `timeout_millis`, and aborts it (cancelling [`Job::cancel`])
    /// when the engine cancels the job or the runtime shuts down.
    Pending(JobFuture),
    /// Handed to someone outside (an external worker, a person): the outcome
    /// arrives later through `RuntimeHandle::complete_job` / `fail_job`.
    External,
}

impl std::fmt::Debug for HandlerResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandlerResult::Ready(o) => f.debug_tuple("Ready").field(o).finish(),
            HandlerResult::Pending(_) => f.write_str("Pending(..)"),
            HandlerResult::External => f.write_str("External"),
        }
    }
}

/// Runs jobs. Implemented for every `Fn(&Job) -> HandlerResult`.
pub trait JobHandler: Send + Sync + 'static {
    /// Starts (or finishes) `job`. Must not block: slow work goes into a
    /// [`HandlerResult::Pending`] future.
    fn handle(&self, job: &Job) -> HandlerResult;
}

impl<F> JobHandler for F
where
    F: Fn(&Job) -> HandlerResult + Send + Sync + 'static,
{
    fn handle(&self, job: &Job) -> HandlerResult {
        self(job)
    }
}
