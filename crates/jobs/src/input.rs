//! [`TaskInput`]: what an executor needs of a job, whether it comes from the
//! runtime (a [`Job`]) or from the scenario driver (a request and its node).

use crate::secret_source::SecretSource;
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;
use windlass_runtime::Job;
use windlass_types::Vars;

/// One job as the built-in executors see it.
#[derive(Debug, Clone)]
pub struct TaskInput {
    /// The task's resolved name, else its element id (for messages).
    pub label: String,
    /// The job kind (`shell`, `http`, `script`).
    pub kind: String,
    /// Settings rendered from the variables.
    pub settings: BTreeMap<String, String>,
    /// Settings as written in the model (unrendered templates).
    pub settings_source: BTreeMap<String, String>,
    /// The variables visible to the task, input mappings applied.
    pub inputs: Vars,
    /// Fired when the job no longer matters: the work is stopped.
    pub cancel: CancellationToken,
    /// Where `secret:NAME` settings are read from.
    pub secrets: SecretSource,
    /// The job key (`{instance}/{run}/{node}/{token}/{attempt}`), the same
    /// on every delivery of the attempt, after a crash too; `None` outside
    /// a runtime (`windlass test`).
    pub job_key: Option<String>,
}

impl TaskInput {
    /// The input of a runtime job, its secrets read from `secrets`.
    pub fn of_job(job: &Job, secrets: &SecretSource) -> Self {
        TaskInput {
            label: job.label().to_string(),
            kind: job.request.kind.clone().unwrap_or_default(),
            settings: job.request.settings.clone(),
            settings_source: job.settings_source.clone(),
            inputs: job.request.inputs.clone(),
            cancel: job.cancel.clone(),
            secrets: secrets.clone(),
            job_key: Some(job.key.clone()),
        }
    }
}
