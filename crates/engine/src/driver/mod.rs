//! A pure, synchronous driver: runs one instance (and the child instances of
//! its call activities) to quiescence, answering jobs with a responder
//! closure. Used by tests and by the scenario harness (`windlass-scenario`,
//! behind `windlass test`). Retry backoff is simulated: the driver's clock
//! jumps to a job's `not_before`. What a responder does for a job nothing is
//! bound to is [`crate::JobRequest::when_unbound`]'s rule.

use crate::command::Command;
use crate::decide::{Ctx, DecideError, Decision, step};
use crate::effect::{Effect, JobRequest};
use crate::event::{CompletedBy, Event, JobFailure};
use crate::plan::Plan;
use crate::state::{InstanceState, Status};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use thiserror::Error;
use windlass_model::{Definitions, Node, NodeKind};
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
}

impl RunStatus {
    /// `completed`, `failed` or `waiting`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Waiting { .. } => "waiting",
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
    /// A call activity names a process the resolver does not know.
    #[error("call activity calls process '{0}', which cannot be resolved: {1}")]
    UnknownProcess(String, String),
    /// The run did not settle.
    #[error("the instance did not settle after {0} commands")]
    TooManySteps(usize),
    /// Call activities nest too deep (probably recursive).
    #[error("call activities nest deeper than {0} levels")]
    TooDeep(usize),
}

/// Maximum commands per instance before the driver gives up.
pub const MAX_STEPS: usize = 100_000;
const MAX_DEPTH: usize = 32;

/// Resolves a called process id to a plan.
pub type Resolver<'a> = dyn FnMut(&str) -> Result<Arc<Plan>, String> + 'a;
/// Answers jobs; also sees the task's graph node (for mocks keyed by raw name).
pub type Responder<'a> = dyn FnMut(&JobRequest, &Node) -> JobOutcome + 'a;

/// A resolver for call activities to processes of the same document.
pub fn resolver(defs: &Definitions) -> impl FnMut(&str) -> Result<Arc<Plan>, String> + '_ {
    move |id| {
        let graph = defs
            .process(id)
            .cloned()
            .ok_or_else(|| format!("no process '{id}' in this document"))?;
        Plan::new(graph).map(Arc::new).map_err(|e| e.to_string())
    }
}

/// Runs one instance of `plan` started with `vars`.
pub fn run(
    plan: &Arc<Plan>,
    vars: Vars,
    now: Timestamp,
    resolve: &mut Resolver<'_>,
    respond: &mut Responder<'_>,
) -> Result<RunReport, DriverError> {
    run_at_depth(plan, vars, false, now, resolve, respond, 0)
}

fn run_at_depth(
    plan: &Arc<Plan>,
    vars: Vars,
    has_parent: bool,
    mut now: Timestamp,
    resolve: &mut Resolver<'_>,
    respond: &mut Responder<'_>,
    depth: usize,
) -> Result<RunReport, DriverError> {
    if depth > MAX_DEPTH {
        return Err(DriverError::TooDeep(MAX_DEPTH));
    }
    let graph = plan.graph();
    let mut state = InstanceState::default();
    let mut history = Vec::new();
    let mut executed = BTreeMap::new();
    let mut names: BTreeMap<crate::ids::TokenId, Option<String>> = BTreeMap::new();
    let mut commands = VecDeque::from([Command::Start {
        vars,
        business_key: None,
        start_event: None,
        has_parent,
    }]);
    let mut decision = Decision::default();
    let mut steps = Vec::new();
    while let Some(cmd) = commands.pop_front() {
        if steps.len() >= MAX_STEPS {
            return Err(DriverError::TooManySteps(MAX_STEPS));
        }
        decision.clear();
        let ctx = Ctx {
            plan,
            now,
            definition_key: &graph.id,
        };
        step(&mut state, &cmd, &ctx, &mut decision)?;
        steps.push(StepRecord {
            command: cmd,
            now,
            first_event: history.len(),
            event_count: decision.events.len(),
            effects: decision.effects.clone(),
        });
        for e in &decision.events {
            match e {
                Event::ActivityStarted { token, name, .. } => {
                    names.insert(*token, name.clone());
                }
                Event::ActivityCompleted { token, node } => {
                    if matches!(graph.node(*node).kind, NodeKind::Task { .. })
                        && let Some(Some(name)) = names.get(token)
                    {
                        *executed.entry(name.clone()).or_insert(0) += 1;
                    }
                }
                _ => {}
            }
        }
        history.append(&mut decision.events);
        for effect in decision.effects.drain(..) {
            match effect {
                Effect::RunJob(req) => {
                    if let Some(t) = req.not_before {
                        now = now.max(t);
                    }
                    let node = graph.node(req.key.node);
                    match respond(&req, node) {
                        JobOutcome::Complete { outputs, by } => {
                            commands.push_back(Command::CompleteJob {
                                job: req.key,
                                outputs,
                                by,
                            });
                        }
                        JobOutcome::Fail(failure) => {
                            commands.push_back(Command::FailJob {
                                job: req.key,
                                failure,
                            });
                        }
                        JobOutcome::Leave => {}
                    }
                }
                Effect::StartChild {
                    token,
                    process_id,
                    vars,
                } => {
                    let child_plan = resolve(&process_id)
                        .map_err(|e| DriverError::UnknownProcess(process_id.clone(), e))?;
                    let child =
                        run_at_depth(&child_plan, vars, true, now, resolve, respond, depth + 1)?;
                    for (k, v) in &child.executed {
                        *executed.entry(k.clone()).or_insert(0) += v;
                    }
                    match child.status {
                        RunStatus::Completed => {
                            commands.push_back(Command::ChildCompleted {
                                token,
                                outputs: child.variables,
                            });
                        }
                        RunStatus::Failed { reason } => {
                            let code = match child.state.status {
                                Status::Failed { code, .. } => code,
                                _ => None,
                            };
                            commands.push_back(Command::ChildFailed {
                                token,
                                code,
                                message: reason,
                            });
                        }
                        RunStatus::Waiting { .. } => {}
                    }
                }
                Effect::CancelJob(key) => {
                    // An answer already queued for a cancelled job is dropped,
                    // as a runtime drops a late answer.
                    commands.retain(|c| {
                        !matches!(c, Command::CompleteJob { job, .. } | Command::FailJob { job, .. } if *job == key)
                    });
                }
                Effect::CancelChild { token } => {
                    commands.retain(|c| {
                        !matches!(c, Command::ChildCompleted { token: t, .. } | Command::ChildFailed { token: t, .. } if *t == token)
                    });
                }
                Effect::IncidentRaised { .. } | Effect::InstanceFinished(_) => {}
            }
        }
    }
    let status = match &state.status {
        Status::Completed => RunStatus::Completed,
        Status::Failed { reason, .. } => RunStatus::Failed {
            reason: reason.clone(),
        },
        // The driver never sends `Command::Terminate`; a terminated instance
        // did not complete, so it reports as failed.
        Status::Terminated { reason } => RunStatus::Failed {
            reason: format!("terminated: {reason}"),
        },
        Status::New | Status::Running => RunStatus::Waiting {
            incidents: history
                .iter()
                .filter_map(|e| match e {
                    Event::IncidentRaised {
                        incident, message, ..
                    } if state.incidents().any(|(i, _)| i == *incident) => Some(message.clone()),
                    _ => None,
                })
                .collect(),
        },
    };
    let variables = state.root_vars().cloned().unwrap_or_default();
    Ok(RunReport {
        status,
        executed,
        variables,
        history,
        state,
        steps,
    })
}
