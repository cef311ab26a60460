//! The value limit ([`windlass_types::limits`]) where values enter an
//! instance while deciding: job outputs and what the output mappings make of
//! them (a failed attempt), script results (an incident on the task). Every
//! other event is covered by the backstop in [`Exec::emit`]; the events of a
//! job's completion, whose values are checked here, are recorded with
//! [`Exec::emit_checked`] so the same values are not measured twice.

use super::vars::eval;
use super::{DecideError, Exec};
use crate::effect::Effect;
use crate::event::{Event, JobFailure};
use crate::ids::TokenId;
use crate::state::{Layered, ScopeChain};
use std::borrow::Cow;
use windlass_model::NodeKind;
use windlass_types::Vars;
use windlass_types::limits::check_vars;

/// What a completed job's outputs become, already checked against the value
/// limit: its events are recorded without measuring the values again.
pub enum JobResults<'v> {
    /// The variables to propagate: the outputs themselves (no output
    /// mappings, or a gateway's job) or what the mappings made of them.
    Checked(Cow<'v, Vars>),
    /// An output mapping could not be evaluated: the completion is recorded,
    /// then an incident with this message holds the token (retry maps the
    /// outputs again).
    MappingFailed(String),
}

/// Checks a job's `outputs` and evaluates its output mappings once, before
/// the completion is recorded. `Err` is the failure to record instead of
/// completing a job whose outputs, or the values its output mappings make of
/// them, exceed the value limit. Outputs over the limit are retryable
/// (another attempt may return less); a mapping over the limit is not.
pub fn job_results<'v>(
    ex: &Exec<'_>,
    id: TokenId,
    outputs: &'v Vars,
) -> Result<JobResults<'v>, JobFailure> {
    if let Err(e) = check_vars(outputs) {
        return Err(JobFailure::Technical {
            message: format!("its outputs exceed the value limit: {e}"),
            retryable: true,
        });
    }
    let unmapped = Ok(JobResults::Checked(Cow::Borrowed(outputs)));
    // A vanished token is reported by the completion itself.
    let Some(t) = ex.st.token(id) else {
        return unmapped;
    };
    let node = ex.g.node(t.node);
    if node.io().outputs.is_empty() || matches!(node.kind, NodeKind::Gateway { .. }) {
        return unmapped;
    }
    let chain = ScopeChain::new(ex.st, t.scope);
    let layered = Layered {
        top: outputs,
        rest: &chain,
    };
    let mut mapped = Vars::new();
    for m in &node.io().outputs {
        match eval(node, "output mapping", &m.source, &layered) {
            Ok(v) => mapped.insert(m.target.clone(), v),
            Err(msg) => return Ok(JobResults::MappingFailed(msg)),
        };
    }
    match check_vars(&mapped) {
        Ok(()) => Ok(JobResults::Checked(Cow::Owned(mapped))),
        Err(e) => Err(JobFailure::Technical {
            message: format!(
                "the output mappings of '{}' exceed the value limit: {e}",
                node.id
            ),
            retryable: false,
        }),
    }
}

/// Checks a script task's result variables; over the limit, raises an
/// incident on the task (a retry runs the script again) and returns `false`.
pub fn script_result_fits(
    ex: &mut Exec<'_>,
    id: TokenId,
    vars: &Vars,
) -> Result<bool, DecideError> {
    let Err(e) = check_vars(vars) else {
        return Ok(true);
    };
    let node = ex.node_of(id)?;
    let message = format!("the result of script task '{}' was refused: {e}", node.id);
    let incident = ex.st.next_incident;
    ex.emit(Event::IncidentRaised {
        incident,
        token: id,
        message: message.clone(),
    })?;
    ex.effect(Effect::IncidentRaised { incident, message });
    Ok(false)
}
