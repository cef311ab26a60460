//! What completing activities leave for compensation: an activity with a
//! compensation handler is recorded in the scope instance it ran in; a
//! sub-process run (without a handler of its own) or loop element whose
//! own activities can be compensated is recorded with its variables and
//! records kept, just before it closes (`CompensationRecorded`). A leaf:
//! it calls only [`Exec`].

use super::{DecideError, Exec, InternalError};
use crate::event::{Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use windlass_model::{EventTrigger, Node, NodeIdx, NodeKind, ProcessGraph, ScopeIdx};

/// The compensation handler of activity `node` (the activity its
/// compensation boundary event is associated with), if it has one.
pub fn handler_of(g: &ProcessGraph, node: &Node) -> Option<NodeIdx> {
    node.boundary_events
        .iter()
        .find_map(|b| match g.node(*b).kind {
            NodeKind::Boundary {
                trigger: EventTrigger::Compensation { handler },
                ..
            } => handler,
            _ => None,
        })
}

/// The compensation event sub-process of graph scope `gs` and its start
/// event, if it has one.
pub fn compensation_event_sub(g: &ProcessGraph, gs: ScopeIdx) -> Option<(NodeIdx, NodeIdx)> {
    g.scope(gs).event_subprocesses.iter().find_map(|esp| {
        let NodeKind::SubProcess { scope: inner, .. } = g.node(*esp).kind else {
            return None;
        };
        g.scope(inner).children.iter().find_map(|c| {
            matches!(
                g.node(*c).kind,
                NodeKind::StartEvent {
                    trigger: EventTrigger::Compensation { .. },
                    ..
                }
            )
            .then_some((*esp, *c))
        })
    })
}

/// The activity of token `id` completed (it is about to leave): recorded
/// when it has a compensation handler. A looping activity is recorded per
/// element (its inner tokens), not as a whole.
pub fn record_activity(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if (!t.inner && node.looping.is_some()) || handler_of(g, node).is_none() {
        return Ok(());
    }
    ex.emit(Event::CompensationRecorded {
        scope: t.scope,
        node: t.node,
        kept: None,
    })
}

/// Sub-process run or loop element `scope`, owned by token `owner`, has
/// completed and is about to close: kept when something in it can be
/// compensated (a sub-process with a handler of its own is compensated by
/// that handler instead).
pub fn record_scope(ex: &mut Exec<'_>, scope: ScopeId, owner: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let Some(s) = ex.st.scope(scope) else {
        return Err(InternalError::ScopeVanished(scope).into());
    };
    let t = ex.token(owner)?;
    let node = g.node(t.node);
    let keep = match s.kind {
        ScopeKind::SubProcess(gs) => {
            handler_of(g, node).is_none()
                && (!s.compensable().is_empty() || compensation_event_sub(g, gs).is_some())
        }
        ScopeKind::Element(_) => !s.compensable().is_empty(),
        ScopeKind::Process | ScopeKind::EventSubProcess(_) | ScopeKind::Compensation => false,
    };
    if !keep {
        return Ok(());
    }
    ex.emit(Event::CompensationRecorded {
        scope: t.scope,
        node: t.node,
        kept: Some(scope),
    })
}
