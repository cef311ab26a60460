//! Call activities: the engine asks for a child instance (an effect) and the
//! token waits; the child's completion brings its variables back (through
//! output mappings, or all of them without mappings); its failure is thrown
//! as a BPMN error at the call activity.

use super::{DecideError, Exec, flow, throw};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::TokenId;
use crate::state::{ScopeChain, Wait};
use windlass_types::Vars;

/// Token `id` entered a call activity of `process_id`.
pub fn start(ex: &mut Exec<'_>, id: TokenId, process_id: &str) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let vars = if node.io().inputs.is_empty() {
        ScopeChain::new(ex.st, t.scope).flatten()
    } else {
        match ex.inputs(node, t.scope)? {
            Some(v) => v,
            None => return Ok(()),
        }
    };
    ex.emit(Event::ChildStarted {
        token: id,
        process_id: process_id.to_string(),
    })?;
    ex.effect(Effect::StartChild {
        token: id,
        process_id: process_id.to_string(),
        vars,
    });
    Ok(())
}

fn waiting(ex: &Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    match ex.st.token(id) {
        Some(t) if t.wait == Wait::Child => Ok(()),
        _ => Err(DecideError::NotWaitingForChild(id)),
    }
}

/// `ChildCompleted`.
pub fn child_completed(ex: &mut Exec<'_>, id: TokenId, outputs: &Vars) -> Result<(), DecideError> {
    waiting(ex, id)?;
    ex.emit(Event::ChildCompleted {
        token: id,
        outputs: outputs.clone(),
    })?;
    ex.apply_outputs(id, outputs)?;
    if ex.st.is_finished() {
        return Ok(());
    }
    flow::finish(ex, id)
}

/// `ChildFailed`: thrown as an error at the call activity.
pub fn child_failed(
    ex: &mut Exec<'_>,
    id: TokenId,
    code: Option<String>,
    message: &str,
) -> Result<(), DecideError> {
    waiting(ex, id)?;
    throw::throw(ex, id, code, Some(message.to_string()))
}
