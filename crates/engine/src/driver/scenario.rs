//! Scenario files (see `shared/corpus/README.md`): a BPMN file, input
//! variables, mocked task results and the expected status and executed-task
//! counts. [`run_scenario`] runs one through the [`super::run`] driver.
//!
//! Mocks are looked up by element id, else by the task's whitespace-normalised
//! name as written (before template substitution). `{"output": {...}}`
//! completes the job with those variables; `{"error": "X"}` fails it with
//! BPMN error code `X`. Without a mock an abstract `task` with no kind
//! completes as a no-op (recorded so in the history), a user task stays
//! pending (the instance waits) and any other job fails without retry
//! ("no handler for task 'X'"), which raises an incident.

use super::{JobOutcome, RunReport, RunStatus, run};
use crate::event::{CompletedBy, JobFailure};
use crate::plan::{Plan, PlanError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;
use windlass_model::{Definitions, Node, NodeKind, TaskType};
use windlass_types::{Timestamp, Vars, normalize_whitespace};

/// One mock.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mock {
    /// Complete with these variables.
    Output(Vars),
    /// Fail with this BPMN error code.
    Error(String),
}

/// Expected results.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Expect {
    /// `completed`, `failed` or `waiting`.
    pub status: String,
    /// Exact map of completed tasks by resolved name.
    #[serde(default)]
    pub executed: BTreeMap<String, u32>,
}

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Scenario {
    /// Short description.
    #[serde(default)]
    pub name: String,
    /// BPMN file name, relative to the scenario file.
    pub process: String,
    /// Initial variables.
    #[serde(default)]
    pub input: Vars,
    /// Mocks by element id or task name.
    #[serde(default)]
    pub mocks: BTreeMap<String, Mock>,
    /// What should happen.
    pub expect: Expect,
}

/// A scenario file that cannot be read.
#[derive(Debug, Error)]
#[error("scenario is not valid: {0}")]
pub struct ScenarioError(#[from] serde_json::Error);

/// Parses a JSON scenario.
pub fn parse(json: &str) -> Result<Scenario, ScenarioError> {
    Ok(serde_json::from_str(json)?)
}

/// The verdict on one scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Status and executed map match.
    Passed,
    /// They differ; the text says how.
    Failed(String),
    /// The engine does not implement an element of the process.
    Unsupported(String),
}

/// What running a scenario gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Pass / fail / unsupported.
    pub verdict: Verdict,
    /// Actual status (`completed`, `failed`, `waiting`).
    pub status: String,
    /// Why it failed or waits, when it did.
    pub detail: Option<String>,
    /// Actual executed map.
    pub executed: BTreeMap<String, u32>,
    /// The run, when the instance started.
    pub report: Option<RunReport>,
}

fn mock_responder<'a>(
    mocks: &'a BTreeMap<String, Mock>,
) -> impl FnMut(&crate::effect::JobRequest, &Node) -> JobOutcome + 'a {
    move |req, node| {
        let raw_name = node
            .name_template
            .as_ref()
            .map(|t| normalize_whitespace(t.source()))
            .or_else(|| node.name.as_deref().map(normalize_whitespace));
        let mock = mocks
            .get(&node.id)
            .or_else(|| raw_name.as_ref().and_then(|n| mocks.get(n)));
        match mock {
            Some(Mock::Output(vars)) => JobOutcome::Complete {
                outputs: vars.clone(),
                by: CompletedBy::Mock,
            },
            Some(Mock::Error(code)) => JobOutcome::Fail(JobFailure::Bpmn {
                code: code.clone(),
                message: None,
            }),
            None => match (&node.kind, &req.kind) {
                (
                    NodeKind::Task {
                        task_type: TaskType::Task,
                        ..
                    },
                    None,
                ) => JobOutcome::Complete {
                    outputs: Vars::new(),
                    by: CompletedBy::NoOp,
                },
                (
                    NodeKind::Task {
                        task_type: TaskType::User,
                        ..
                    },
                    _,
                ) => JobOutcome::Leave,
                _ => JobOutcome::Fail(JobFailure::Technical {
                    message: format!(
                        "no handler for task '{}'",
                        req.name.clone().unwrap_or_else(|| node.id.clone())
                    ),
                    retryable: false,
                }),
            },
        }
    }
}

fn refused(expect: &Expect, status: &str, detail: String, unsupported: bool) -> Outcome {
    let verdict = if unsupported {
        Verdict::Unsupported(detail.clone())
    } else if expect.status == "failed" && expect.executed.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(format!(
            "expected status {}, got {status}: {detail}",
            expect.status
        ))
    };
    Outcome {
        verdict,
        status: status.into(),
        detail: Some(detail),
        executed: BTreeMap::new(),
        report: None,
    }
}

/// Loads `bpmn_xml`, runs its first executable process with the scenario's
/// input and mocks, and compares with the expectation. A definition that
/// does not load (or a plan the engine refuses as invalid) counts as status
/// `failed`; an element the engine does not implement gives `Unsupported`.
pub fn run_scenario(scenario: &Scenario, bpmn_xml: &str) -> Outcome {
    let outcome = windlass_model::load(bpmn_xml);
    let Some(defs) = outcome.definitions else {
        let errors: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == windlass_model::Severity::Error)
            .map(|d| d.to_string())
            .collect();
        let unsupported = outcome
            .diagnostics
            .iter()
            .any(|d| d.code == windlass_model::codes::UNSUPPORTED_ELEMENT);
        return refused(&scenario.expect, "failed", errors.join("; "), unsupported);
    };
    let Some(graph) = defs.first_executable().cloned() else {
        return refused(
            &scenario.expect,
            "failed",
            "the document has no executable process".into(),
            false,
        );
    };
    let plan = match Plan::new(graph) {
        Ok(p) => Arc::new(p),
        Err(e @ PlanError::Unsupported { .. }) => {
            return refused(&scenario.expect, "failed", e.to_string(), true);
        }
        Err(e) => return refused(&scenario.expect, "failed", e.to_string(), false),
    };
    let mut resolve = resolver(&defs);
    let mut respond = mock_responder(&scenario.mocks);
    let report = match run(
        &plan,
        scenario.input.clone(),
        Timestamp(0),
        &mut resolve,
        &mut respond,
    ) {
        Ok(r) => r,
        Err(e) => return refused(&scenario.expect, "failed", e.to_string(), false),
    };
    let status = report.status.as_str().to_string();
    let detail = match &report.status {
        RunStatus::Completed => None,
        RunStatus::Failed { reason } => Some(reason.clone()),
        RunStatus::Waiting { incidents } => Some(incidents.join("; ")),
    };
    let mut problems = Vec::new();
    if status != scenario.expect.status {
        problems.push(format!(
            "status: expected {}, got {status}{}",
            scenario.expect.status,
            detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
    }
    if report.executed != scenario.expect.executed {
        problems.push(executed_diff(&scenario.expect.executed, &report.executed));
    }
    let verdict = if problems.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(problems.join("\n"))
    };
    Outcome {
        verdict,
        status,
        detail,
        executed: report.executed.clone(),
        report: Some(report),
    }
}

/// A resolver for call activities within one document.
pub fn resolver(defs: &Definitions) -> impl FnMut(&str) -> Result<Arc<Plan>, String> + '_ {
    move |id| {
        let graph = defs
            .process(id)
            .cloned()
            .ok_or_else(|| format!("no process '{id}' in this document"))?;
        Plan::new(graph).map(Arc::new).map_err(|e| e.to_string())
    }
}

/// A readable diff of two executed maps.
pub fn executed_diff(expected: &BTreeMap<String, u32>, actual: &BTreeMap<String, u32>) -> String {
    let mut lines = vec!["executed differs:".to_string()];
    let keys: std::collections::BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for k in keys {
        let (e, a) = (
            expected.get(k).copied().unwrap_or(0),
            actual.get(k).copied().unwrap_or(0),
        );
        if e != a {
            lines.push(format!("  '{k}': expected {e}, got {a}"));
        }
    }
    lines.join("\n")
}
