//! BPMN errors: thrown by error end events, failed jobs and failed child
//! instances; caught by interrupting error boundary events and error event
//! sub-processes, innermost first; uncaught errors fail the instance.
//! Calls only downward: `cancel`, `vars` and [`Exec`].

use super::cancel::cancel_token;
use super::{DecideError, Exec, InternalError};
use crate::event::{Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use windlass_model::{EventTrigger, NodeIdx, NodeKind, ProcessGraph, ScopeIdx};
use windlass_types::Vars;

fn catches(trigger: &EventTrigger, code: &Option<String>) -> bool {
    match trigger {
        EventTrigger::Error { code: None } => true,
        EventTrigger::Error { code: Some(c) } => code.as_deref() == Some(c.as_str()),
        _ => false,
    }
}

fn matching_boundary(
    g: &ProcessGraph,
    node: &windlass_model::Node,
    code: &Option<String>,
) -> Option<NodeIdx> {
    node.boundary_events
        .iter()
        .copied()
        .find(|b| match &g.node(*b).kind {
            NodeKind::Boundary { trigger, .. } => catches(trigger, code),
            _ => false,
        })
}

/// The matching error event sub-process of graph scope `scope`: (event
/// sub-process node, its error start event).
fn matching_event_sub(
    g: &ProcessGraph,
    scope: ScopeIdx,
    code: &Option<String>,
) -> Option<(NodeIdx, NodeIdx)> {
    let specific = |want_any: bool| {
        g.scope(scope).event_subprocesses.iter().find_map(|esp| {
            let NodeKind::SubProcess { scope: inner, .. } = g.node(*esp).kind else {
                return None;
            };
            g.scope(inner)
                .children
                .iter()
                .copied()
                .find_map(|c| match &g.node(c).kind {
                    NodeKind::StartEvent {
                        trigger: t @ EventTrigger::Error { code: c_code },
                        ..
                    } if catches(t, code) && (c_code.is_none() == want_any) => Some((*esp, c)),
                    _ => None,
                })
        })
    };
    // A start event naming the code wins over a catch-all.
    specific(false).or_else(|| specific(true))
}

/// Throws a BPMN error at token `id` and finds its handler.
pub fn throw(
    ex: &mut Exec<'_>,
    id: TokenId,
    code: Option<String>,
    message: Option<String>,
) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    ex.emit(Event::ErrorThrown {
        token: id,
        node: t.node,
        code: code.clone(),
        message: message.clone(),
    })?;
    let mut cur = id;
    loop {
        let t = ex.token(cur)?;
        let node = g.node(t.node);
        if !t.inner
            && let Some(b) = matching_boundary(g, node, &code)
        {
            return catch_at_boundary(ex, cur, b);
        }
        let is_event_sub = matches!(
            node.kind,
            NodeKind::SubProcess {
                triggered_by_event: true,
                ..
            }
        );
        let Some(scope) = ex.st.scope(t.scope) else {
            return Err(InternalError::ScopeVanished(t.scope).into());
        };
        let (kind, owner) = (scope.kind, scope.owner);
        let graph_scope = match kind {
            ScopeKind::Process => Some(ScopeIdx::ROOT),
            ScopeKind::SubProcess(s) | ScopeKind::EventSubProcess(s) => Some(s),
            ScopeKind::Element(_) => None,
        };
        if !is_event_sub
            && let Some(gs) = graph_scope
            && let Some((esp, start)) = matching_event_sub(g, gs, &code)
        {
            return catch_in_event_sub(ex, t.scope, esp, start, id);
        }
        match owner {
            Some(o) => cur = o,
            None => {
                let thrower = g.node(ex.token(id).map_or(NodeIdx(0), |t| t.node));
                let reason = format!(
                    "error {} thrown at '{}' was not caught{}",
                    code.as_deref()
                        .map(|c| format!("'{c}'"))
                        .unwrap_or_else(|| "without code".into()),
                    thrower.id,
                    message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
                return ex.fail(code, reason);
            }
        }
    }
}

fn catch_at_boundary(ex: &mut Exec<'_>, id: TokenId, boundary: NodeIdx) -> Result<(), DecideError> {
    let t = ex.token(id)?;
    ex.emit(Event::ErrorCaught {
        by: boundary,
        interrupted: id,
    })?;
    let token = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token,
        scope: t.scope,
        node: boundary,
        inner: false,
    })?;
    cancel_token(ex, id)?;
    ex.arrive(token);
    Ok(())
}

fn catch_in_event_sub(
    ex: &mut Exec<'_>,
    scope: ScopeId,
    esp: NodeIdx,
    start: NodeIdx,
    thrower: TokenId,
) -> Result<(), DecideError> {
    ex.emit(Event::ErrorCaught {
        by: start,
        interrupted: thrower,
    })?;
    let victims: Vec<TokenId> = ex.st.tokens_in(scope).map(|t| t.id).collect();
    for v in victims {
        cancel_token(ex, v)?;
    }
    let NodeKind::SubProcess { scope: inner, .. } = ex.g.node(esp).kind else {
        return Err(DecideError::unexpected(ex.g.node(esp), "a sub-process"));
    };
    let token = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token,
        scope,
        node: esp,
        inner: false,
    })?;
    let name = super::vars::resolve_name(ex, ex.g.node(esp), scope);
    ex.emit(Event::ActivityStarted {
        token,
        node: esp,
        name,
    })?;
    let new_scope = ex.st.next_scope;
    ex.emit(Event::ScopeEntered {
        scope: new_scope,
        parent: Some(scope),
        kind: ScopeKind::EventSubProcess(inner),
        owner: Some(token),
        vars: Vars::new(),
    })?;
    ex.spawn(new_scope, start, false)?;
    Ok(())
}
