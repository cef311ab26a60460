//! Call activities: the engine asks for a child instance (an effect) and the
//! token waits; the child's completion brings its variables back (through
//! output mappings, or all of them without mappings); its failure is thrown
//! as a BPMN error at the call activity.

use super::{DecideError, Exec, flow, throw};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::TokenId;
use crate::state::{ScopeChain, Wait};
use windlass_model::CallBinding;
use windlass_types::Vars;

/// Token `id` entered a call activity of `process_id`.
/// (The `StartChild` effect is held while the instance is suspended; see
/// [`held_child`].)
pub fn start(
    ex: &mut Exec<'_>,
    id: TokenId,
    process_id: &str,
    binding: CallBinding,
) -> Result<(), DecideError> {
    let Some(vars) = child_vars(ex, id)? else {
        return Ok(());
    };
    ex.emit(Event::ChildStarted {
        token: id,
        process_id: process_id.to_string(),
    })?;
    ex.effect(Effect::StartChild {
        token: id,
        process_id: process_id.to_string(),
        binding,
        vars,
    });
    Ok(())
}

/// The variables of the child of the call activity at token `id`: its
/// input mappings' results, or every visible variable without mappings.
/// `None` when a mapping failed (an incident on the token).
fn child_vars(ex: &mut Exec<'_>, id: TokenId) -> Result<Option<Vars>, DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if node.io().inputs.is_empty() {
        Ok(Some(ScopeChain::new(ex.st, t.scope).flatten()))
    } else {
        ex.inputs(id, node, t.scope)
    }
}

/// The `StartChild` effect of a child held while the instance was
/// suspended (asked for on resume), with its variables computed now.
/// `None` when the token no longer waits for a child or a mapping failed.
pub fn held_child(ex: &mut Exec<'_>, id: TokenId) -> Result<Option<Effect>, DecideError> {
    if !ex.st.token(id).is_some_and(|t| t.wait == Wait::Child) {
        return Ok(None);
    }
    let node = ex.node_of(id)?;
    let windlass_model::NodeKind::CallActivity {
        called_element,
        binding,
    } = &node.kind
    else {
        return Err(DecideError::unexpected(node, "a call activity"));
    };
    let (process_id, binding) = (called_element.clone(), *binding);
    Ok(child_vars(ex, id)?.map(|vars| Effect::StartChild {
        token: id,
        process_id,
        binding,
        vars,
    }))
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
    if !ex.apply_outputs(id, outputs)? || ex.st.is_finished() {
        return Ok(());
    }
    flow::finish(ex, id)
}

/// `ChildNotStarted`: an incident on the call activity (retry starts the
/// child again).
pub fn child_not_started(ex: &mut Exec<'_>, id: TokenId, message: &str) -> Result<(), DecideError> {
    waiting(ex, id)?;
    let node = ex.node_of(id)?;
    let message = format!("call activity '{}': {message}", node.id);
    ex.incident(id, message)
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
