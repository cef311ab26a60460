//! Starting an instance: the none start events of the process, or (implicit
//! start) every flow node without incoming flow; a process with only
//! message/timer/signal start events starts at the first of them (the
//! runtime's source has already received the trigger), or at the one named
//! in the command.

use super::{DecideError, Exec};
use crate::event::Event;
use crate::ids::ScopeId;
use crate::state::Status;
use windlass_model::{NodeIdx, NodeKind, ProcessGraph, ScopeIdx};
use windlass_types::Vars;

/// The nodes a start of `g` begins at: the top-level start event
/// `start_event`; without one, the none start events (or, with none, every
/// flow node without incoming flow); a process with only message, timer or
/// signal start events begins at the first of them.
pub fn start_nodes(
    g: &ProcessGraph,
    start_event: Option<&str>,
) -> Result<Vec<NodeIdx>, DecideError> {
    let root = g.scope(ScopeIdx::ROOT);
    let is_root_start = |n: &NodeIdx| {
        g.node(*n).scope == ScopeIdx::ROOT && matches!(g.node(*n).kind, NodeKind::StartEvent { .. })
    };
    let starts: Vec<NodeIdx> = match start_event {
        Some(id) => match g.node_by_id(id).filter(is_root_start) {
            Some(n) => vec![n],
            None => {
                return Err(DecideError::StartEventNotFound {
                    process: g.id.clone(),
                    id: id.to_string(),
                });
            }
        },
        None if !root.start_nodes.is_empty() => root.start_nodes.clone(),
        None => root
            .children
            .iter()
            .copied()
            .filter(is_root_start)
            .take(1)
            .collect(),
    };
    if starts.is_empty() {
        return Err(DecideError::NoStartNode(g.id.clone()));
    }
    Ok(starts)
}

/// `Start`, with `vars` already checked against the value limit (by `step`).
pub fn start(
    ex: &mut Exec<'_>,
    definition_key: &str,
    vars: &Vars,
    business_key: &Option<String>,
    start_event: Option<&str>,
    has_parent: bool,
) -> Result<(), DecideError> {
    if ex.st.status != Status::New {
        return Err(DecideError::AlreadyStarted);
    }
    let g = ex.g;
    let starts = start_nodes(g, start_event)?;
    // `step` checked `vars` against the value limit.
    ex.emit_checked(Event::InstanceStarted {
        process_id: g.id.clone(),
        definition_key: definition_key.to_string(),
        business_key: business_key.clone(),
        vars: vars.clone(),
        has_parent,
    })?;
    for n in starts {
        ex.spawn(ScopeId::ROOT, n, false)?;
    }
    ex.then(super::Step::OpenListeners(ScopeId::ROOT, ScopeIdx::ROOT));
    Ok(())
}
