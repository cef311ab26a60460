//! Running one instance in memory with the engine's pure driver, jobs
//! answered by a [`MockTable`]: the engine of `windlass test`.

use crate::load::Loaded;
use crate::mocks::{MockAnswer, MockBehaviour, MockTable, TaskRef};
use crate::verdict::{Actual, RunStatus};
use std::collections::BTreeMap;
use windlass_engine::JobRequest;
use windlass_engine::driver::{self, DriverError, JobOutcome, RunReport};
use windlass_engine::event::{CompletedBy, JobFailure};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

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
        MockAnswer::NoHandler(message) => JobOutcome::Fail(JobFailure::Technical {
            message,
            retryable: false,
        }),
    }
}

/// Runs one instance of `loaded` to quiescence, its clock starting at
/// `start`; call activities resolve to processes of the same file.
pub fn drive(
    loaded: &Loaded,
    input: Vars,
    mocks: &MockTable,
    start: Timestamp,
) -> Result<RunReport, DriverError> {
    let mut resolve = driver::resolver(&loaded.definitions);
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
