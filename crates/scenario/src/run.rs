//! Running one instance in memory with the engine's pure driver, jobs
//! answered by a [`MockTable`]: the engine of `windlass test`. An unmocked
//! task of a built-in kind (`shell`, `http`, `script`) runs for real through the same
//! executor as in `windlass run` (`windlass_jobs`), as a task is executed by
//! what it is bound to.

use crate::load::Loaded;
use crate::mocks::{MockAnswer, MockBehaviour, MockTable, TaskRef};
use crate::verdict::{Actual, RunStatus};
use std::collections::BTreeMap;
use windlass_engine::JobRequest;
use windlass_engine::driver::{self, DriverError, JobOutcome, RunReport};
use windlass_engine::event::{CompletedBy, JobFailure};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

use windlass_jobs::JobOutcome as Executed;

/// What the mock table makes of one job.
pub fn job_outcome(mocks: &MockTable, req: &JobRequest, node: &Node) -> JobOutcome {
    match mocks.answer(TaskRef::of(node), req) {
        MockAnswer::Mocked(MockBehaviour::Output(outputs)) => JobOutcome::Complete {
            outputs,
            by: CompletedBy::Mock,
        },
        MockAnswer::Mocked(MockBehaviour::Error(code)) => JobOutcome::Fail(JobFailure::Bpmn {
            code,
            message: None,
        }),
        MockAnswer::Mocked(MockBehaviour::Wait) => JobOutcome::Leave,
        MockAnswer::NoOp => JobOutcome::Complete {
            outputs: Vars::new(),
            by: CompletedBy::NoOp,
        },
        MockAnswer::NoHandler(message) => match builtin(req, node) {
            Some(outcome) => outcome,
            None => JobOutcome::Fail(JobFailure::Technical {
                message,
                retryable: false,
            }),
        },
    }
}

/// Runs an unmocked job of a built-in kind to its end (blocking).
fn builtin(req: &JobRequest, node: &Node) -> Option<JobOutcome> {
    let kind = req
        .kind
        .as_deref()
        .filter(|k| windlass_jobs::is_builtin(k))?;
    let input = windlass_jobs::TaskInput {
        label: req.name.clone().unwrap_or_else(|| req.node_id.clone()),
        kind: kind.to_string(),
        settings: req.settings.clone(),
        settings_source: node
            .task()
            .settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.source().to_string()))
            .collect(),
        inputs: req.inputs.clone(),
        cancel: Default::default(),
        secrets: windlass_jobs::SecretSource::from_env(),
        job_key: None,
    };
    Some(
        match windlass_jobs::run_blocking(input, req.timeout_millis)? {
            Executed::Completed { outputs, by } => JobOutcome::Complete { outputs, by },
            Executed::Failed(f) => JobOutcome::Fail(f),
        },
    )
}

/// Runs one instance of `loaded` to quiescence, its clock starting at
/// `start`; call activities resolve to processes of the same file.
pub fn drive(
    loaded: &Loaded,
    input: Vars,
    mocks: &MockTable,
    start: Timestamp,
) -> Result<RunReport, DriverError> {
    let documents = loaded.documents();
    let mut resolve = driver::resolver_over(&documents);
    let mut respond = |req: &JobRequest, node: &Node| job_outcome(mocks, req, node);
    driver::run(&loaded.plan, input, start, &mut resolve, &mut respond)
}

/// Runs one instance (clock at the default start) and returns what
/// scenarios compare.
pub fn run(loaded: &Loaded, input: Vars, mocks: &MockTable) -> Result<Actual, DriverError> {
    let report = drive(loaded, input, mocks, crate::steps::DEFAULT_CLOCK)?;
    Ok(actual_of(&report))
}

/// The scenario view of a driver report.
pub fn actual_of(report: &RunReport) -> Actual {
    actual(
        &report.status,
        &report.executed,
        report.variables.clone(),
        report.state.is_suspended(),
    )
}

/// The scenario view of a driver's status, executed counts and variables.
pub fn actual(
    status: &driver::RunStatus,
    executed: &BTreeMap<String, u32>,
    variables: Vars,
    suspended: bool,
) -> Actual {
    let status = match status {
        driver::RunStatus::Completed => RunStatus::Completed,
        driver::RunStatus::Failed { .. } => RunStatus::Failed,
        driver::RunStatus::Terminated { .. } => RunStatus::Terminated,
        driver::RunStatus::Cancelled { .. } => RunStatus::Cancelled,
        driver::RunStatus::Superseded { .. } => RunStatus::Superseded,
        driver::RunStatus::Waiting { incidents } if !incidents.is_empty() => RunStatus::Incident,
        driver::RunStatus::Waiting { .. } => RunStatus::Waiting,
    };
    let executed = executed
        .iter()
        .map(|(k, v)| (k.clone(), u64::from(*v)))
        .collect();
    Actual {
        status,
        executed,
        variables,
        suspended,
    }
}
