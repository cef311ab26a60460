//! The value limit ([`windlass_types::limits`]) where values enter an
//! instance while deciding: job outputs and what the output mappings make of
//! them (a failed attempt), script results (an incident on the task). Every
//! other event is covered by the backstop in [`Exec::emit`].

use super::vars::eval;
use super::{DecideError, Exec};
use crate::effect::Effect;
use crate::event::{Event, JobFailure};
use crate::ids::TokenId;
use crate::state::{Layered, ScopeChain};
use windlass_model::NodeKind;
use windlass_types::Vars;
use windlass_types::limits::check_vars;

/// The failure to record instead of completing a job whose outputs, or the
/// values its output mappings make of them, exceed the value limit; `None`
/// when they fit. Outputs over the limit are retryable (another attempt may
/// return less); a mapping over the limit is not. A mapping that cannot be
/// evaluated is left to the completion, which reports it as before.
pub fn refused_outputs(ex: &Exec<'_>, id: TokenId, outputs: &Vars) -> Option<JobFailure> {
    if let Err(e) = check_vars(outputs) {
        return Some(JobFailure::Technical {
            message: format!("its outputs exceed the value limit: {e}"),
            retryable: true,
        });
    }
    let t = ex.st.token(id)?;
    let node = ex.g.node(t.node);
    if node.io().outputs.is_empty() || matches!(node.kind, NodeKind::Gateway { .. }) {
        return None;
    }
    let chain = ScopeChain::new(ex.st, t.scope);
    let layered = Layered {
        top: outputs,
        rest: &chain,
    };
    let mut mapped = Vars::new();
    for m in &node.io().outputs {
        let v = eval(node, "output mapping", &m.source, &layered).ok()?;
        mapped.insert(m.target.clone(), v);
    }
    let e = check_vars(&mapped).err()?;
    Some(JobFailure::Technical {
        message: format!(
            "the output mappings of '{}' exceed the value limit: {e}",
            node.id
        ),
        retryable: false,
    })
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
