//! A pure, synchronous driver: runs one instance (and the child instances of
//! its call activities) in memory, answering jobs with a responder closure.
//! Used by tests and by the scenario harness (`windlass-scenario`, behind
//! `windlass test`).
//!
//! - [`run`] runs an instance to quiescence in one call.
//! - [`Driver`] (`stepping.rs`) starts and settles an instance, then takes
//!   operations from outside — the clock ([`Driver::advance`]; due timers
//!   fire in due order), [`Driver::terminate`], [`Driver::cancel`],
//!   [`Driver::suspend`] / [`Driver::resume`], any [`Command`] — settling
//!   after each, with status, executed counts and variables readable at any
//!   point. [`Driver::start_root`] starts more instances beside the first
//!   ([`Root`]s sharing the clock, mailbox and dedup keys).
//!   [`run`] is a driver started and read out at once.
//!
//! Retry backoff is simulated: the driver's clock jumps to a job's
//! `not_before`. What a responder does for a job nothing is bound to is
//! [`crate::JobRequest::when_unbound`]'s rule.

mod dedup_book;
mod mailbox;
mod stepping;

pub use mailbox::{Message, Published};
pub use stepping::{CANCELLED_BY_PARENT, Driver, Root};

use crate::command::Command;
use crate::decide::DecideError;
use crate::effect::{Effect, JobRequest};
use crate::event::{CompletedBy, Event, JobFailure};
use crate::plan::Plan;
use crate::state::InstanceState;
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;
use windlass_model::{Definitions, Node};
use windlass_types::{Timestamp, Vars};

/// How the responder answers a job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// Complete it with these output variables.
    Complete {
        /// Output variables.
        outputs: Vars,
        /// Who completed it (recorded in the history).
        by: CompletedBy,
    },
    /// Fail the attempt.
    Fail(JobFailure),
    /// Leave it pending (e.g. a user task nobody answers): the instance waits.
    Leave,
}

/// How a driven instance ended up.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// Finished normally.
    Completed,
    /// Failed (uncaught error, failed evaluation, refused definition).
    Failed {
        /// Why.
        reason: String,
    },
    /// Nothing can run any more, but the instance is not finished.
    Waiting {
        /// Open incidents' messages.
        incidents: Vec<String>,
    },
    /// Ended by `Command::Terminate` (e.g. [`Driver::terminate`]).
    Terminated {
        /// The reason given.
        reason: String,
    },
    /// Ended by `Command::Cancel` (e.g. [`Driver::cancel`]).
    Cancelled {
        /// The reason given.
        reason: String,
    },
    /// Replaced by a newer claim for the dedup key it waited for.
    Superseded {
        /// The key.
        key: String,
        /// The instance that replaced it.
        by: String,
    },
}

impl RunStatus {
    /// `completed`, `failed`, `waiting`, `terminated`, `cancelled` or
    /// `superseded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Waiting { .. } => "waiting",
            RunStatus::Terminated { .. } => "terminated",
            RunStatus::Cancelled { .. } => "cancelled",
            RunStatus::Superseded { .. } => "superseded",
        }
    }
}

/// The result of a driven run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Final status.
    pub status: RunStatus,
    /// Completed task-type activities by resolved, normalised name (child
    /// instances included).
    pub executed: BTreeMap<String, u32>,
    /// Final process variables.
    pub variables: Vars,
    /// The instance's full history.
    pub history: Vec<Event>,
    /// Final state.
    pub state: InstanceState,
    /// Every command applied, in order, with what it decided (for replay
    /// checks and debugging).
    pub steps: Vec<StepRecord>,
}

/// One command the driver applied.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The command.
    pub command: Command,
    /// Its time.
    pub now: Timestamp,
    /// Index in the history of its first event.
    pub first_event: usize,
    /// Number of events it produced.
    pub event_count: usize,
    /// The effects it produced.
    pub effects: Vec<Effect>,
}

/// A run that could not be carried out.
#[derive(Debug, Error)]
pub enum DriverError {
    /// The engine refused a command.
    #[error(transparent)]
    Decide(#[from] DecideError),
    /// The run did not settle.
    #[error("the instance did not settle after {0} commands")]
    TooManySteps(usize),
    /// Call activities nest too deep (probably recursive).
    #[error("call activities nest deeper than {0} levels")]
    TooDeep(usize),
    /// A message or signal would start a process at a start event the
    /// driver cannot start it at.
    #[error("cannot start process '{process}' at its start event '{node}': {reason}")]
    CannotStart {
        /// The process id.
        process: String,
        /// The start event's id.
        node: String,
        /// Why.
        reason: String,
    },
}

/// Maximum commands per instance before the driver gives up.
pub const MAX_STEPS: usize = 100_000;
/// Maximum nesting of call activities.
pub const MAX_DEPTH: usize = 32;

/// Resolves a called process id to a plan.
pub type Resolver<'a> = dyn FnMut(&str) -> Result<Arc<Plan>, String> + 'a;
/// Answers jobs; also sees the task's graph node (for mocks keyed by raw name).
pub type Responder<'a> = dyn FnMut(&JobRequest, &Node) -> JobOutcome + 'a;

/// A resolver for call activities to processes of the same document.
pub fn resolver(defs: &Definitions) -> impl FnMut(&str) -> Result<Arc<Plan>, String> + '_ {
    resolver_over(std::slice::from_ref(defs))
}

/// A resolver over several documents deployed together: a process id is
/// looked for in each, in order (the first document is the caller's own,
/// then the others, as `windlass test` and `run` deploy them).
pub fn resolver_over(defs: &[Definitions]) -> impl FnMut(&str) -> Result<Arc<Plan>, String> + '_ {
    move |id| {
        let graph = defs
            .iter()
            .find_map(|d| d.process(id))
            .cloned()
            .ok_or_else(|| {
                if defs.len() == 1 {
                    format!("no process '{id}' in this document")
                } else {
                    format!("no process '{id}' in the {} documents deployed", defs.len())
                }
            })?;
        Plan::new(graph).map(Arc::new).map_err(|e| e.to_string())
    }
}

/// Runs one instance of `plan` started with `vars` to quiescence: a
/// [`Driver`] started and read out at once.
pub fn run(
    plan: &Arc<Plan>,
    vars: Vars,
    now: Timestamp,
    resolve: &mut Resolver<'_>,
    respond: &mut Responder<'_>,
) -> Result<RunReport, DriverError> {
    Ok(Driver::start(plan, vars, now, resolve, respond)?.into_report())
}
