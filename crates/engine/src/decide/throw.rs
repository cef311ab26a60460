//! BPMN errors: thrown by error end events, failed jobs and failed child
//! instances; caught by interrupting error boundary events and error event
//! sub-processes, innermost first; uncaught errors fail the instance. A
//! cancel is thrown the same way with the reserved code [`CANCEL_CODE`],
//! caught only by handlers naming it.
//! Calls only downward: `cancel`, `vars` and [`Exec`].

use super::cancel::cancel_token;
use super::{DecideError, Exec, InternalError};
use crate::event::{CANCEL_CODE, Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use windlass_model::{EventTrigger, NodeIdx, NodeKind, ProcessGraph, ScopeIdx};

/// Whether an error trigger catches `code`. A catch-all (`code: None`)
/// catches any error, but not a cancel (`exact`).
fn catches(trigger: &EventTrigger, code: &Option<String>, exact: bool) -> bool {
    match trigger {
        EventTrigger::Error { code: None } => !exact,
        EventTrigger::Error { code: Some(c) } => code.as_deref() == Some(c.as_str()),
        _ => false,
    }
}

fn matching_boundary(
    g: &ProcessGraph,
    node: &windlass_model::Node,
    code: &Option<String>,
    exact: bool,
) -> Option<NodeIdx> {
    node.boundary_events
        .iter()
        .copied()
        .find(|b| match &g.node(*b).kind {
            NodeKind::Boundary { trigger, .. } => catches(trigger, code, exact),
            _ => false,
        })
}

/// The matching error event sub-process of graph scope `scope`: (event
/// sub-process node, its error start event).
fn matching_event_sub(
    g: &ProcessGraph,
    scope: ScopeIdx,
    code: &Option<String>,
    exact: bool,
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
                    } if catches(t, code, exact) && (c_code.is_none() == want_any) => {
                        Some((*esp, c))
                    }
                    _ => None,
                })
        })
    };
    // A start event naming the code wins over a catch-all.
    specific(false).or_else(|| if exact { None } else { specific(true) })
}

/// Where an error thrown at a token is caught.
enum Handler {
    /// At this boundary event of the activity of token `token`.
    Boundary { token: TokenId, boundary: NodeIdx },
    /// By this event sub-process (with its error start event) of scope
    /// instance `scope`.
    EventSub {
        scope: ScopeId,
        esp: NodeIdx,
        start: NodeIdx,
    },
}

/// The innermost handler of `code` thrown at token `id`: boundary events of
/// its activity, event sub-processes of its scope, then the same for the
/// owner of the scope, up to the process. `exact`: only handlers naming the
/// code (a cancel).
fn find_handler(
    ex: &Exec<'_>,
    id: TokenId,
    code: &Option<String>,
    exact: bool,
) -> Result<Option<Handler>, DecideError> {
    let g = ex.g;
    let mut cur = id;
    loop {
        let t = ex.token(cur)?;
        let node = g.node(t.node);
        if !t.inner
            && let Some(boundary) = matching_boundary(g, node, code, exact)
        {
            return Ok(Some(Handler::Boundary {
                token: cur,
                boundary,
            }));
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
            && let Some((esp, start)) = matching_event_sub(g, gs, code, exact)
        {
            return Ok(Some(Handler::EventSub {
                scope: t.scope,
                esp,
                start,
            }));
        }
        match owner {
            Some(o) => cur = o,
            None => return Ok(None),
        }
    }
}

/// Throws a BPMN error at token `id` and finds its handler; uncaught, the
/// instance fails.
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
    match find_handler(ex, id, &code, false)? {
        Some(h) => catch(ex, h, id),
        None => {
            let thrower = g.node(t.node);
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
            ex.fail(code, reason)
        }
    }
}

/// Throws a cancel ([`CANCEL_CODE`]) at token `id`: when a handler naming
/// that code catches it, the error is recorded and caught (the handler runs
/// as cleanup) and true comes back; otherwise nothing happens and false
/// comes back (the caller cancels the token).
pub fn throw_cancel(ex: &mut Exec<'_>, id: TokenId, reason: &str) -> Result<bool, DecideError> {
    let code = Some(CANCEL_CODE.to_string());
    let Some(h) = find_handler(ex, id, &code, true)? else {
        return Ok(false);
    };
    let t = ex.token(id)?;
    ex.emit(Event::ErrorThrown {
        token: id,
        node: t.node,
        code,
        message: Some(reason.to_string()),
    })?;
    catch(ex, h, id)?;
    Ok(true)
}

fn catch(ex: &mut Exec<'_>, h: Handler, thrower: TokenId) -> Result<(), DecideError> {
    match h {
        Handler::Boundary { token, boundary } => catch_at_boundary(ex, token, boundary),
        Handler::EventSub { scope, esp, start } => {
            catch_in_event_sub(ex, scope, esp, start, thrower)
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
    super::event_sub::enter(ex, scope, esp, start)?;
    Ok(())
}
