//! Tasks as jobs: creation, completion, failure with retries and backoff,
//! incidents; script tasks with compiled expressions run inline.

use super::vars::{eval, resolve_name};
use super::{DecideError, Exec, activity, error, gateway, limits};
use crate::command::IncidentAction;
use crate::effect::{Effect, JobRequest};
use crate::event::{CompletedBy, Event, JobFailure, JobPurpose};
use crate::ids::{IncidentId, JobKey, TokenId};
use crate::state::{Layered, ScopeChain, Wait};
use serde_json::Value;
use windlass_model::NodeKind;
use windlass_types::{Timestamp, Vars};

/// Attempts per job when the task sets no `retries`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// First retry delay when the task sets no `backoff`; doubles per attempt.
pub const DEFAULT_BACKOFF_MILLIS: u64 = 1_000;
/// Upper bound of the retry delay.
pub const MAX_BACKOFF_MILLIS: u64 = 300_000;

/// Starts a task's work: inline for compiled scripts, else as a job.
pub fn start_task(ex: &mut Exec<'_>, id: TokenId, name: Option<String>) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    let node = &ex.g.nodes[t.node as usize];
    if let NodeKind::Task {
        script: Some(script),
        ..
    } = &node.kind
        && let Some(compiled) = &script.compiled
    {
        let chain = ScopeChain::new(ex.st, t.scope);
        let value = match compiled.evaluate(&chain) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!(
                    "script `{}` of '{}' could not be evaluated: {}",
                    script.body.trim(),
                    node.id,
                    e.message
                );
                return ex.fail(None, msg);
            }
        };
        let vars = match (&script.result_variable, value) {
            (Some(var), v) => Vars::from_iter([(var.clone(), v)]),
            (None, Value::Object(map)) => map,
            (None, _) => Vars::new(),
        };
        if !limits::script_result_fits(ex, id, &vars)? {
            return Ok(());
        }
        ex.propagate(t.scope, &vars)?;
        return activity::finish(ex, id);
    }
    create_job(ex, id, 1, None, JobPurpose::Task, name)
}

/// Records a job for token `id` and asks the runtime to run it.
pub fn create_job(
    ex: &mut Exec<'_>,
    id: TokenId,
    attempt: u32,
    not_before: Option<Timestamp>,
    purpose: JobPurpose,
    name: Option<String>,
) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    let node = &ex.g.nodes[t.node as usize];
    let chain = ScopeChain::new(ex.st, t.scope);
    let mut inputs = chain.flatten();
    for m in &node.io().inputs {
        match eval(
            node,
            "input mapping",
            &m.source,
            &Layered {
                top: &inputs,
                rest: &chain,
            },
        ) {
            Ok(v) => {
                if let Err(e) = windlass_types::limits::check_value(&m.target, &v) {
                    let msg = format!("input mapping of '{}' was refused: {e}", node.id);
                    return ex.fail(None, msg);
                }
                inputs.insert(m.target.clone(), v);
            }
            Err(msg) => return ex.fail(None, msg),
        }
    }
    let settings = node
        .task()
        .settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.render(&chain)))
        .collect();
    let task_type = match &node.kind {
        NodeKind::Task { task_type, .. } => Some(*task_type),
        _ => None,
    };
    let request = JobRequest {
        key: JobKey {
            node: t.node,
            token: id,
            attempt,
        },
        node_id: node.id.clone(),
        name,
        task_type,
        purpose,
        kind: node.task().kind.as_deref().map(str::to_string),
        settings,
        inputs,
        not_before,
        max_attempts: max_attempts(node),
        timeout_millis: node.task().timeout_millis,
    };
    ex.emit(Event::JobCreated {
        token: id,
        node: t.node,
        attempt,
        not_before,
        purpose,
    })?;
    ex.effect(Effect::RunJob(Box::new(request)));
    Ok(())
}

fn max_attempts(node: &windlass_model::Node) -> u32 {
    node.task().retries.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1)
}

fn pending(ex: &Exec<'_>, job: JobKey) -> Result<(), DecideError> {
    match ex.st.token(job.token) {
        Some(t)
            if t.node == job.node
                && t.wait
                    == (Wait::Job {
                        attempt: job.attempt,
                    }) =>
        {
            Ok(())
        }
        _ => Err(DecideError::UnknownJob(job)),
    }
}

/// `CompleteJob`.
pub fn complete_job(
    ex: &mut Exec<'_>,
    job: JobKey,
    outputs: &Vars,
    by: CompletedBy,
) -> Result<(), DecideError> {
    pending(ex, job)?;
    if let Some(failure) = limits::refused_outputs(ex, job.token, outputs) {
        return fail_job(ex, job, &failure);
    }
    ex.emit(Event::JobCompleted {
        token: job.token,
        attempt: job.attempt,
        by,
        outputs: outputs.clone(),
    })?;
    job_done(ex, job.token, outputs)
}

fn job_done(ex: &mut Exec<'_>, id: TokenId, outputs: &Vars) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    if matches!(ex.g.nodes[t.node as usize].kind, NodeKind::Gateway { .. }) {
        ex.propagate(t.scope, outputs)?;
        return gateway::split_after_decision(ex, id);
    }
    apply_outputs(ex, id, outputs)?;
    if ex.st.is_finished() {
        return Ok(());
    }
    activity::finish(ex, id)
}

/// Applies an activity's results: its output mappings (evaluated over the
/// results and the token's scope) or, without mappings, every result
/// variable, propagated outward from the token's scope.
pub fn apply_outputs(ex: &mut Exec<'_>, id: TokenId, results: &Vars) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    let node = &ex.g.nodes[t.node as usize];
    if node.io().outputs.is_empty() {
        return ex.propagate(t.scope, results);
    }
    let chain = ScopeChain::new(ex.st, t.scope);
    let layered = Layered {
        top: results,
        rest: &chain,
    };
    let mut mapped = Vars::new();
    for m in &node.io().outputs {
        match eval(node, "output mapping", &m.source, &layered) {
            Ok(v) => {
                mapped.insert(m.target.clone(), v);
            }
            Err(msg) => return ex.fail(None, msg),
        }
    }
    ex.propagate(t.scope, &mapped)
}

/// `FailJob`: BPMN errors propagate; technical failures retry with backoff
/// until the attempts are used up, then raise an incident.
pub fn fail_job(ex: &mut Exec<'_>, job: JobKey, failure: &JobFailure) -> Result<(), DecideError> {
    pending(ex, job)?;
    ex.emit(Event::JobFailed {
        token: job.token,
        attempt: job.attempt,
        failure: failure.clone(),
    })?;
    match failure {
        JobFailure::Bpmn { code, message } => {
            error::throw(ex, job.token, Some(code.clone()), message.clone())
        }
        JobFailure::Technical { message, retryable } => {
            let node = &ex.g.nodes[job.node as usize];
            let max = max_attempts(node);
            if *retryable && job.attempt < max {
                let base = node.task().backoff_millis.unwrap_or(DEFAULT_BACKOFF_MILLIS);
                let factor = 1u64 << (job.attempt - 1).min(20);
                let delay = base.saturating_mul(factor).min(MAX_BACKOFF_MILLIS);
                let at = ex.now.plus_millis(i64::try_from(delay).unwrap_or(i64::MAX));
                let t = ex.token(job.token)?;
                let name = resolve_name(ex, node, t.scope);
                create_job(
                    ex,
                    job.token,
                    job.attempt + 1,
                    Some(at),
                    purpose_of(node),
                    name,
                )
            } else {
                let incident = ex.st.next_incident;
                let label = node.name.as_deref().unwrap_or(&node.id);
                let message = format!(
                    "job for '{}' failed after {} attempt(s): {message}",
                    windlass_types::normalize_whitespace(label),
                    job.attempt
                );
                ex.emit(Event::IncidentRaised {
                    incident,
                    token: job.token,
                    message: message.clone(),
                })?;
                ex.effect(Effect::IncidentRaised { incident, message });
                Ok(())
            }
        }
    }
}

fn purpose_of(node: &windlass_model::Node) -> JobPurpose {
    match node.kind {
        NodeKind::Gateway { .. } => JobPurpose::GatewayDecision,
        _ => JobPurpose::Task,
    }
}

/// `ResolveIncident`: retry (a new attempt) or skip (complete with variables).
pub fn resolve_incident(
    ex: &mut Exec<'_>,
    incident: IncidentId,
    action: &IncidentAction,
) -> Result<(), DecideError> {
    let (id, attempt) = ex
        .st
        .tokens
        .iter()
        .find_map(|t| match t.wait {
            Wait::Incident {
                incident: i,
                attempt,
            } if i == incident => Some((t.id, attempt)),
            _ => None,
        })
        .ok_or(DecideError::UnknownIncident(incident))?;
    ex.emit(Event::IncidentResolved {
        incident,
        resolution: action.resolution(),
    })?;
    match action {
        IncidentAction::Retry => {
            let t = ex.token(id)?;
            let node = &ex.g.nodes[t.node as usize];
            let name = resolve_name(ex, node, t.scope);
            if attempt == 0 {
                // No job ran (a script task's result was refused): start over.
                return start_task(ex, id, name);
            }
            create_job(ex, id, attempt + 1, None, purpose_of(node), name)
        }
        IncidentAction::Skip(vars) => {
            ex.emit(Event::JobCompleted {
                token: id,
                attempt,
                by: CompletedBy::Skipped,
                outputs: vars.clone(),
            })?;
            job_done(ex, id, vars)
        }
    }
}
