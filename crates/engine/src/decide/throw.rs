//! BPMN errors: thrown by error end events, failed jobs and failed child
//! instances; caught by interrupting error boundary events and error event
//! sub-processes, innermost first; uncaught errors fail the instance. A
//! cancel is thrown the same way with the reserved code [`CANCEL_CODE`],
//! caught only by handlers naming it. Escalations (`escalation.rs`) are
//! looked for the same way ([`Thrown::Escalation`]).
//! Calls only downward: `cancel`, `vars` and [`Exec`].

use super::cancel::cancel_token;
use super::{DecideError, Exec, InternalError};
use crate::event::{CANCEL_CODE, Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use windlass_model::{EventTrigger, NodeIdx, NodeKind, ProcessGraph, ScopeIdx};

/// What is thrown: a BPMN error or an escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thrown {
    /// An error (also a cancel).
    Error,
    /// An escalation.
    Escalation,
}

/// The code a trigger of kind `what` names (`Some(None)`: a catch-all), or
/// `None` when it catches something else.
fn trigger_code(trigger: &EventTrigger, what: Thrown) -> Option<&Option<String>> {
    match (trigger, what) {
        (EventTrigger::Error { code }, Thrown::Error) => Some(code),
        (EventTrigger::Escalation { code }, Thrown::Escalation) => Some(code),
        _ => None,
    }
}

/// Whether a trigger catches `code` of kind `what`. A catch-all (`code:
/// None`) catches any, but not a cancel (`exact`).
fn catches(trigger: &EventTrigger, what: Thrown, code: &Option<String>, exact: bool) -> bool {
    match trigger_code(trigger, what) {
        Some(None) => !exact,
        Some(Some(c)) => code.as_deref() == Some(c.as_str()),
        None => false,
    }
}

/// The boundary event of `node` catching `code`: one naming it wins over
/// a catch-all.
fn matching_boundary(
    g: &ProcessGraph,
    node: &windlass_model::Node,
    what: Thrown,
    code: &Option<String>,
    exact: bool,
) -> Option<NodeIdx> {
    let find = |want_any: bool| {
        node.boundary_events
            .iter()
            .copied()
            .find(|b| match &g.node(*b).kind {
                NodeKind::Boundary { trigger, .. } => {
                    catches(trigger, what, code, exact)
                        && trigger_code(trigger, what).is_some_and(|c| c.is_none() == want_any)
                }
                _ => false,
            })
    };
    find(false).or_else(|| if exact { None } else { find(true) })
}

/// The matching error event sub-process of graph scope `scope`: (event
/// sub-process node, its error start event).
fn matching_event_sub(
    g: &ProcessGraph,
    scope: ScopeIdx,
    what: Thrown,
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
                    NodeKind::StartEvent { trigger: t, .. }
                        if catches(t, what, code, exact)
                            && trigger_code(t, what).is_some_and(|c| c.is_none() == want_any) =>
                    {
                        Some((*esp, c))
                    }
                    _ => None,
                })
        })
    };
    // A start event naming the code wins over a catch-all.
    specific(false).or_else(|| if exact { None } else { specific(true) })
}

/// Where an error or escalation thrown at a token is caught.
pub enum Handler {
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
/// code (a cancel). Out of a compensation run the search goes on at its
/// owner's scope: the owner's boundary events belong to an activity that
/// has completed (or to a throw event).
pub fn find_handler(
    ex: &Exec<'_>,
    id: TokenId,
    what: Thrown,
    code: &Option<String>,
    exact: bool,
) -> Result<Option<Handler>, DecideError> {
    let g = ex.g;
    let mut cur = id;
    let mut from_compensation = false;
    loop {
        let t = ex.token(cur)?;
        let node = g.node(t.node);
        if !t.inner
            && !from_compensation
            && let Some(boundary) = matching_boundary(g, node, what, code, exact)
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
            ScopeKind::Element(_) | ScopeKind::Compensation => None,
        };
        from_compensation = kind == ScopeKind::Compensation;
        if !is_event_sub
            && let Some(gs) = graph_scope
            && let Some((esp, start)) = matching_event_sub(g, gs, what, code, exact)
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
    match find_handler(ex, id, Thrown::Error, &code, false)? {
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
    let Some(h) = find_handler(ex, id, Thrown::Error, &code, true)? else {
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
