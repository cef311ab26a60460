//! The job lifecycle shared by tasks and complex gateways: creation (with
//! input mappings and rendered settings), completion, failure with retries
//! and backoff, incidents and their resolution. Calls only downward:
//! `throw`, `flow`, `vars` and [`Exec`]; a gateway's decision goes back to
//! the dispatcher as [`Step::GatewayDecided`].

use super::limits::JobResults;
use super::vars::{eval, resolve_name};
use super::{DecideError, Exec, Step, flow, limits, throw};
use crate::command::IncidentAction;
use crate::effect::{Effect, JobRequest};
use crate::event::{CompletedBy, Event, IncidentSite, JobFailure, JobPurpose};
use crate::ids::{IncidentId, JobKey, TokenId};
use crate::state::{Layered, ScopeChain, Wait};
use windlass_model::{Node, NodeKind};
use windlass_types::{Timestamp, Vars};

/// Attempts per job when the task sets no `retries`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// First retry delay when the task sets no `backoff`; doubles per attempt.
pub const DEFAULT_BACKOFF_MILLIS: u64 = 1_000;
/// Upper bound of the retry delay.
pub const MAX_BACKOFF_MILLIS: u64 = 300_000;

/// Records a job for token `id` and asks the runtime to run it (held
/// while the instance is suspended, see [`request`]).
pub fn create(
    ex: &mut Exec<'_>,
    id: TokenId,
    attempt: u32,
    not_before: Option<Timestamp>,
    purpose: JobPurpose,
    name: Option<String>,
) -> Result<(), DecideError> {
    let Some(request) = request(ex, id, attempt, not_before, purpose, name)? else {
        return Ok(());
    };
    ex.emit(Event::JobCreated {
        token: id,
        node: request.key.node,
        attempt,
        not_before,
        purpose,
    })?;
    ex.effect(Effect::RunJob(Box::new(request)));
    Ok(())
}

/// The request of a job held while the instance was suspended, built now
/// (on resume) from today's variables. `None` when an input mapping failed
/// (an incident, or the instance has failed).
pub fn held_request(
    ex: &mut Exec<'_>,
    key: JobKey,
    not_before: Option<Timestamp>,
) -> Result<Option<JobRequest>, DecideError> {
    let g = ex.g;
    let t = ex.token(key.token)?;
    let node = g.node(t.node);
    let name = resolve_name(ex, node, t.scope);
    request(
        ex,
        key.token,
        key.attempt,
        not_before,
        purpose_of(node),
        name,
    )
}

/// Everything a runtime needs to run the job of token `id`: input mappings
/// evaluated, settings rendered. `None` when a mapping could not be
/// evaluated (an incident on the token: retry creates the job again, skip
/// completes it with the given variables) or its value was refused (the
/// instance has failed).
fn request(
    ex: &mut Exec<'_>,
    id: TokenId,
    attempt: u32,
    not_before: Option<Timestamp>,
    purpose: JobPurpose,
    name: Option<String>,
) -> Result<Option<JobRequest>, DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let chain = ScopeChain::new(ex.st, t.scope);
    let mut inputs = chain.flatten();
    for m in &node.io().inputs {
        let r = eval(
            node,
            "input mapping",
            &m.source,
            &Layered {
                top: &inputs,
                rest: &ScopeChain::new(ex.st, t.scope),
            },
        );
        let Some(v) = ex.eval_or_incident(id, r)? else {
            return Ok(None);
        };
        if let Err(e) = windlass_types::limits::check_value_fits(&m.target, &v) {
            let msg = format!("input mapping of '{}' was refused: {e}", node.id);
            ex.fail(None, msg)?;
            return Ok(None);
        }
        inputs.insert(m.target.clone(), v);
    }
    let chain = ScopeChain::new(ex.st, t.scope);
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
    Ok(Some(JobRequest {
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
    }))
}

fn max_attempts(node: &Node) -> u32 {
    node.task().retries.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1)
}

fn pending(ex: &Exec<'_>, job: JobKey) -> Result<(), DecideError> {
    if ex.st.job_is_open(&job) {
        Ok(())
    } else {
        Err(DecideError::UnknownJob(job))
    }
}

/// `CompleteJob`.
pub fn complete(
    ex: &mut Exec<'_>,
    job: JobKey,
    outputs: &Vars,
    by: CompletedBy,
) -> Result<(), DecideError> {
    pending(ex, job)?;
    let results = match limits::job_results(ex, job.token, outputs) {
        Ok(results) => results,
        Err(failure) => return fail(ex, job, &failure),
    };
    // `job_results` checked the outputs.
    ex.emit_checked(Event::JobCompleted {
        token: job.token,
        attempt: job.attempt,
        by,
        outputs: outputs.clone(),
    })?;
    done(ex, job.token, outputs, results)
}

/// The job of token `id` completed with `results` (its outputs, or what its
/// output mappings made of them, checked): a gateway decides (as a
/// continuation), an activity applies them and completes. An output mapping
/// that failed raises an incident at [`IncidentSite::Outputs`] with the
/// job's `outputs`.
fn done(
    ex: &mut Exec<'_>,
    id: TokenId,
    outputs: &Vars,
    results: JobResults<'_>,
) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    let vars = match results {
        JobResults::Checked(vars) => vars,
        JobResults::MappingFailed(msg) => {
            let site = IncidentSite::Outputs {
                results: outputs.clone(),
            };
            return ex.incident_at(id, msg, site);
        }
    };
    ex.propagate_checked(t.scope, &vars)?;
    if matches!(ex.g.node(t.node).kind, NodeKind::Gateway { .. }) {
        ex.then(Step::GatewayDecided(id));
        return Ok(());
    }
    if ex.st.is_finished() {
        return Ok(());
    }
    flow::finish(ex, id)
}

/// A job skipped with `vars` (checked by `step`): like [`done`], but what
/// the output mappings make of them is checked when recorded (the backstop
/// of [`Exec::emit`]), so a value over the limit fails the instance.
fn skipped(ex: &mut Exec<'_>, id: TokenId, vars: &Vars) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    if matches!(ex.g.node(t.node).kind, NodeKind::Gateway { .. }) {
        ex.propagate(t.scope, vars)?;
        ex.then(Step::GatewayDecided(id));
        return Ok(());
    }
    if !ex.apply_outputs(id, vars)? || ex.st.is_finished() {
        return Ok(());
    }
    flow::finish(ex, id)
}

/// `FailJob`: BPMN errors propagate; technical failures retry with backoff
/// until the attempts are used up, then raise an incident.
pub fn fail(ex: &mut Exec<'_>, job: JobKey, failure: &JobFailure) -> Result<(), DecideError> {
    pending(ex, job)?;
    ex.emit(Event::JobFailed {
        token: job.token,
        attempt: job.attempt,
        failure: failure.clone(),
    })?;
    match failure {
        JobFailure::Bpmn { code, message } => {
            throw::throw(ex, job.token, Some(code.clone()), message.clone())
        }
        JobFailure::Technical { message, retryable } => {
            let node = ex.g.node(job.node);
            if *retryable && job.attempt < max_attempts(node) {
                retry(ex, job, node)
            } else {
                raise_incident(ex, job, node, message)
            }
        }
    }
}

/// The next attempt of a failed job, after the backoff delay.
fn retry(ex: &mut Exec<'_>, job: JobKey, node: &Node) -> Result<(), DecideError> {
    let base = node.task().backoff_millis.unwrap_or(DEFAULT_BACKOFF_MILLIS);
    let delay = retry_delay(base, job.attempt, ex.now, job.token);
    let at = ex.now.plus_millis(i64::try_from(delay).unwrap_or(i64::MAX));
    let t = ex.token(job.token)?;
    let name = resolve_name(ex, node, t.scope);
    create(
        ex,
        job.token,
        job.attempt + 1,
        Some(at),
        purpose_of(node),
        name,
    )
}

/// The wait before the attempt after `attempt` (from 1): `base * 2^(attempt
/// - 1)`, capped at [`MAX_BACKOFF_MILLIS`], then shortened by up to a fifth
/// ([`JITTER_DIVISOR`]) so that jobs failing together do not all retry at
/// the same instant. The jitter comes from the decision's clock and the
/// token (the engine draws no random numbers: the same inputs decide the
/// same delay, and the due time is recorded in `JobCreated` anyway).
pub fn retry_delay(base: u64, attempt: u32, now: Timestamp, token: TokenId) -> u64 {
    let factor = 1u64 << attempt.saturating_sub(1).min(20);
    let delay = base.saturating_mul(factor).min(MAX_BACKOFF_MILLIS);
    let span = delay / JITTER_DIVISOR;
    let seed =
        (now.millis() as u64) ^ (u64::from(token.0) << 32) ^ u64::from(attempt).rotate_left(17);
    delay - mix(seed) % (span + 1)
}

/// The retry delay is shortened by at most `delay / JITTER_DIVISOR`.
pub const JITTER_DIVISOR: u64 = 5;

/// splitmix64's finaliser: spreads a seed's bits (written here: a few
/// operations, where a random-number crate would be a dependency for one
/// deterministic mix).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The job's attempts are used up: an incident waits for a person.
fn raise_incident(
    ex: &mut Exec<'_>,
    job: JobKey,
    node: &Node,
    message: &str,
) -> Result<(), DecideError> {
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

fn purpose_of(node: &Node) -> JobPurpose {
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
    let (id, attempt, site) = ex
        .st
        .tokens
        .iter()
        .find_map(|t| match &t.wait {
            Wait::Incident {
                incident: i,
                attempt,
                site,
            } if *i == incident => Some((t.id, *attempt, site.clone())),
            _ => None,
        })
        .ok_or(DecideError::UnknownIncident(incident))?;
    ex.emit(Event::IncidentResolved {
        incident,
        resolution: action.resolution(),
    })?;
    let skip = match action {
        IncidentAction::Retry => None,
        IncidentAction::Skip(vars) => Some(vars),
    };
    match *site {
        IncidentSite::Work => {}
        IncidentSite::Outputs { results } => {
            match skip {
                None => {
                    if !ex.apply_outputs(id, &results)? {
                        return Ok(());
                    }
                }
                Some(vars) => {
                    let scope = ex.token(id)?.scope;
                    ex.propagate(scope, vars)?;
                }
            }
            if ex.st.is_finished() {
                return Ok(());
            }
            // An activity completes; an event that took a message or
            // signal (a catch, boundary or start event) is left.
            let activity = matches!(
                ex.node_of(id)?.kind,
                NodeKind::Task { .. } | NodeKind::SubProcess { .. } | NodeKind::CallActivity { .. }
            );
            return if activity {
                flow::finish(ex, id)
            } else {
                flow::leave(ex, id)
            };
        }
        IncidentSite::Leave => {
            if let Some(vars) = skip {
                let scope = ex.token(id)?.scope;
                ex.propagate(scope, vars)?;
            }
            return flow::leave(ex, id);
        }
        IncidentSite::Rearm {
            token,
            due_at,
            occurrence,
            skipped,
        } => {
            return super::timer::resolve_rearm(ex, id, token, (due_at, occurrence), skipped, skip);
        }
        IncidentSite::Element => {
            if let Some(vars) = skip {
                let scope = ex.token(id)?.scope;
                ex.propagate(scope, vars)?;
            }
            return flow::end_token(ex, id);
        }
        IncidentSite::Subscriptions | IncidentSite::Activation => {
            if let Some(vars) = skip {
                let scope = ex.token(id)?.scope;
                ex.propagate(scope, vars)?;
            }
            ex.then(if *site == IncidentSite::Subscriptions {
                Step::Resubscribe(id)
            } else {
                Step::Rejoin(id)
            });
            return Ok(());
        }
    }
    if attempt == 0 && super::dedup::key_blocked(ex, id)? {
        // The node's dedup key could not be rendered: render it again
        // (after setting the skip's variables) and claim it.
        if let Some(vars) = skip {
            let scope = ex.token(id)?.scope;
            ex.propagate(scope, vars)?;
        }
        ex.then(Step::Readmit(id));
        return Ok(());
    }
    if super::timer::is_catch(ex, id) {
        return super::timer::resolve_catch(ex, id, skip);
    }
    if super::message::is_catch(ex, id) {
        return super::message::resolve_catch(ex, id, skip);
    }
    if super::message_throw::is_throw(ex, id) {
        return super::message_throw::resolve(ex, id, skip);
    }
    if super::signal_throw::is_throw(ex, id) {
        return super::signal_throw::resolve(ex, id, skip);
    }
    if attempt == 0 && matches!(ex.node_of(id)?.kind, NodeKind::Gateway { .. }) {
        // A gateway's condition failed: evaluate again (after setting the
        // skip's variables).
        if let IncidentAction::Skip(vars) = action {
            let scope = ex.token(id)?.scope;
            ex.propagate(scope, vars)?;
        }
        ex.then(Step::Resplit(id));
        return Ok(());
    }
    match action {
        IncidentAction::Retry => {
            let g = ex.g;
            let t = ex.token(id)?;
            let node = g.node(t.node);
            if attempt == 0 {
                // No job ran (a script task's result was refused): start the
                // task's work over, through the dispatcher.
                ex.then(Step::RestartTask(id));
                return Ok(());
            }
            let name = resolve_name(ex, node, t.scope);
            create(ex, id, attempt + 1, None, purpose_of(node), name)
        }
        IncidentAction::Skip(vars) => {
            ex.emit(Event::JobCompleted {
                token: id,
                attempt,
                by: CompletedBy::Skipped,
                outputs: vars.clone(),
            })?;
            skipped(ex, id, vars)
        }
    }
}

#[cfg(test)]
mod retry_delay_tests {
    use super::*;

    #[test]
    fn doubles_caps_and_shortens_by_at_most_a_fifth_deterministically() {
        let at = |attempt, now, token| retry_delay(1_000, attempt, Timestamp(now), TokenId(token));
        for (attempt, full) in [(1, 1_000), (2, 2_000), (3, 4_000), (30, MAX_BACKOFF_MILLIS)] {
            let d = at(attempt, 5, 1);
            assert!(d <= full && d >= full - full / 5, "{attempt}: {d}");
            assert_eq!(d, at(attempt, 5, 1), "the same inputs, the same delay");
        }
        // Jobs failing together spread out.
        let spread: std::collections::BTreeSet<u64> = (0..50).map(|t| at(1, 5, t)).collect();
        assert!(spread.len() > 10, "{spread:?}");
        assert_eq!(retry_delay(0, 1, Timestamp(5), TokenId(1)), 0);
    }
}
