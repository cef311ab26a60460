//! The Kubernetes job kinds (settings in `docs/tasks.md`): each a
//! [`JobHandler`] future that talks to the API server off the shard's
//! thread. [`KubernetesJobs`] binds them all; settings are read like the
//! built-in kinds' (`windlass_jobs::settings`), and a failure names the
//! task, the verb, the resource, the namespace and the name.
//!
//! - `apply`: server-side apply of templated YAML / JSON manifests;
//! - `patch`: a merge, JSON or strategic patch; `status`: a status
//!   subresource patch;
//! - `get`, `list`: read objects into variables;
//! - `delete`: with a propagation policy, optionally waiting until gone;
//! - `wait`: until a CEL condition over the object holds, with a timeout;
//! - `job`: run a batch/v1 Job and wait until it succeeds or fails;
//! - `values`: a ConfigMap's or a Secret's values into variables (a
//!   Secret's under a secret name, masked in every view); `certificate`: the
//!   X.509 certificate of a TLS Secret, parsed (never its key);
//! - `finalizer`: add or remove a finalizer; `owner`: set an owner
//!   reference; `event`: record a Kubernetes Event on an object.

mod apply;
mod certificate;
mod common;
mod delete;
mod event;
mod job;
mod metadata;
mod patch;
mod read;
mod values;
mod wait;

use crate::client::LazyClient;
use crate::resolve::Resolver;
use common::Failure;
pub(crate) use common::object_value;
use std::sync::Arc;
use windlass_jobs::{SecretSource, TaskInput};
use windlass_runtime::{HandlerResult, Handlers, Job, JobHandler, JobOutcome};

/// `kubernetes.apply`.
pub const APPLY: &str = "kubernetes.apply";
/// `kubernetes.patch`.
pub const PATCH: &str = "kubernetes.patch";
/// `kubernetes.status`.
pub const STATUS: &str = "kubernetes.status";
/// `kubernetes.get`.
pub const GET: &str = "kubernetes.get";
/// `kubernetes.list`.
pub const LIST: &str = "kubernetes.list";
/// `kubernetes.delete`.
pub const DELETE: &str = "kubernetes.delete";
/// `kubernetes.wait`.
pub const WAIT: &str = "kubernetes.wait";
/// `kubernetes.job`.
pub const JOB: &str = "kubernetes.job";
/// `kubernetes.values`.
pub const VALUES: &str = "kubernetes.values";
/// `kubernetes.certificate`.
pub const CERTIFICATE: &str = "kubernetes.certificate";
/// `kubernetes.finalizer`.
pub const FINALIZER: &str = "kubernetes.finalizer";
/// `kubernetes.owner`.
pub const OWNER: &str = "kubernetes.owner";
/// `kubernetes.event`.
pub const EVENT: &str = "kubernetes.event";

/// Every Kubernetes kind.
pub const KINDS: [&str; 13] = [
    APPLY,
    PATCH,
    STATUS,
    GET,
    LIST,
    DELETE,
    WAIT,
    JOB,
    VALUES,
    CERTIFICATE,
    FINALIZER,
    OWNER,
    EVENT,
];

/// What the kinds share: the client, the resource cache, the name they
/// write with.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) client: LazyClient,
    pub(crate) resolver: Resolver,
    /// The field manager of applies and the reporting controller of events.
    pub(crate) manager: String,
}

/// The handler of every Kubernetes kind.
#[derive(Debug, Clone)]
pub struct KubernetesJobs {
    ctx: Arc<Context>,
    secrets: SecretSource,
}

impl KubernetesJobs {
    /// Jobs talking to the cluster `client` reaches (made at first use),
    /// applying as field manager `windlass`.
    pub fn new(client: LazyClient) -> KubernetesJobs {
        KubernetesJobs {
            ctx: Arc::new(Context {
                client,
                resolver: Resolver::default(),
                manager: "windlass".into(),
            }),
            secrets: SecretSource::from_env(),
        }
    }

    /// These jobs with `secret:NAME` settings read from `secrets`.
    pub fn with_secrets(mut self, secrets: SecretSource) -> KubernetesJobs {
        self.secrets = secrets;
        self
    }

    /// `handlers` with every Kubernetes kind bound to these jobs.
    pub fn bind(self, handlers: Handlers) -> Handlers {
        KINDS
            .iter()
            .fold(handlers, |h, kind| h.on_kind(*kind, self.clone()))
    }
}

impl JobHandler for KubernetesJobs {
    fn handle(&self, job: &Job) -> HandlerResult {
        let input = TaskInput::of_job(job, &self.secrets);
        let ctx = self.ctx.clone();
        HandlerResult::Pending(Box::pin(async move {
            let cancel = input.cancel.clone();
            tokio::select! {
                outcome = run(&ctx, &input) => outcome,
                () = cancel.cancelled() => JobOutcome::technical(
                    format!("task '{}': cancelled", input.label),
                    false,
                ),
            }
        }))
    }
}

/// Runs the job `input` describes.
async fn run(ctx: &Context, input: &TaskInput) -> JobOutcome {
    let result = match input.kind.as_str() {
        APPLY => apply::run(ctx, input).await,
        PATCH => patch::run_patch(ctx, input).await,
        STATUS => patch::run_status(ctx, input).await,
        GET => read::run_get(ctx, input).await,
        LIST => read::run_list(ctx, input).await,
        DELETE => delete::run(ctx, input).await,
        WAIT => wait::run(ctx, input).await,
        JOB => job::run(ctx, input).await,
        VALUES => values::run(ctx, input).await,
        CERTIFICATE => certificate::run(ctx, input).await,
        FINALIZER => metadata::run_finalizer(ctx, input).await,
        OWNER => metadata::run_owner(ctx, input).await,
        EVENT => event::run(ctx, input).await,
        other => Err(Failure::Failed(format!("no Kubernetes kind '{other}'"))),
    };
    match result {
        Ok(outputs) => JobOutcome::done(outputs),
        Err(Failure::Config(e)) => JobOutcome::technical(e.to_string(), false),
        Err(Failure::Kube(e)) => {
            let retryable = e.is_retryable();
            JobOutcome::technical(format!("task '{}': {e}", input.label), retryable)
        }
        Err(Failure::Failed(why)) => {
            JobOutcome::technical(format!("task '{}': {why}", input.label), false)
        }
        Err(Failure::Retry(why)) => {
            JobOutcome::technical(format!("task '{}': {why}", input.label), true)
        }
        Err(Failure::Bpmn(outcome)) => outcome,
    }
}
