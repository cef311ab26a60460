//! Escalations: thrown by escalation throw and end events, caught by
//! escalation boundary events of the enclosing sub-processes and by
//! escalation event sub-processes, innermost first, a handler naming the
//! code before a catch-all — the same search as errors
//! (`throw::find_handler`). A catch is interrupting (the sub-process, or the
//! scope's other tokens, are cancelled) or not (the handler runs beside
//! them). An escalation nothing in the instance catches is non-critical:
//! the throwing token moves on, as BPMN says; in a called process it also
//! goes on to the parent (`Effect::EscalateToParent`), whose call activity
//! looks for a handler from itself outward ([`from_child`]).
//! `EscalationThrown` and `ChildEscalated` record it and where it was
//! caught. Calls only downward: `throw`, `cancel`, `event_sub`, `flow` and
//! [`Exec`].

use super::cancel::cancel_token;
use super::throw::{Handler, Thrown, find_handler};
use super::{DecideError, Exec, event_sub, flow};
use crate::effect::Effect;
use crate::event::Event;
use crate::ids::TokenId;
use crate::state::Wait;
use windlass_model::{EventResult, NodeIdx, NodeKind};

/// The code an escalation throw or end event throws, if it is one.
fn thrown(node: &windlass_model::Node) -> Option<&Option<String>> {
    match &node.kind {
        NodeKind::IntermediateThrow {
            result: EventResult::Escalation { code },
        }
        | NodeKind::EndEvent {
            result: EventResult::Escalation { code },
        } => Some(code),
        _ => None,
    }
}

/// The catching node of a handler.
fn catcher(handler: &Handler) -> NodeIdx {
    match handler {
        Handler::Boundary { boundary, .. } => *boundary,
        Handler::EventSub { start, .. } => *start,
    }
}

/// Token `id` arrived at an escalation throw or end event: throw, catch,
/// then (unless an interrupting catch cancelled it) a throw event leaves
/// and an end event ends the token.
pub fn arrive(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(code) = thrown(node).cloned() else {
        return Err(DecideError::unexpected(
            node,
            "an escalation throw or end event",
        ));
    };
    let handler = find_handler(ex, id, Thrown::Escalation, &code, false)?;
    let number = ex.st.escalations_sent;
    ex.emit(Event::EscalationThrown {
        token: id,
        node: t.node,
        code: code.clone(),
        caught_by: handler.as_ref().map(catcher),
    })?;
    catch(ex, handler, number, code)?;
    if ex.st.is_finished() || ex.st.token(id).is_none() {
        return Ok(());
    }
    if matches!(node.kind, NodeKind::EndEvent { .. }) {
        flow::end_token(ex, id)
    } else {
        flow::leave(ex, id)
    }
}

/// `ChildEscalated`: the child of the call activity at token `id` sent up
/// escalation `number`: looked for from the call activity outward (its
/// escalation boundary events first). An interrupting catch on the call
/// activity cancels it and so terminates the child; otherwise the child
/// goes on.
pub fn from_child(
    ex: &mut Exec<'_>,
    id: TokenId,
    number: u32,
    code: &Option<String>,
) -> Result<(), DecideError> {
    if !ex.st.token(id).is_some_and(|t| t.wait == Wait::Child) {
        return Err(DecideError::NotWaitingForChild(id));
    }
    let expected = ex
        .st
        .child_escalations
        .iter()
        .find(|(t, _)| *t == id)
        .map_or(0, |(_, n)| *n);
    if number < expected {
        return Err(DecideError::EscalationTaken { token: id, number });
    }
    let handler = find_handler(ex, id, Thrown::Escalation, code, false)?;
    let sent = ex.st.escalations_sent;
    ex.emit(Event::ChildEscalated {
        token: id,
        number,
        code: code.clone(),
        caught_by: handler.as_ref().map(catcher),
    })?;
    catch(ex, handler, sent, code.clone())
}

/// Carries out the catch of an escalation; with no handler, an instance
/// with a parent sends it up as its `number`-th.
fn catch(
    ex: &mut Exec<'_>,
    handler: Option<Handler>,
    number: u32,
    code: Option<String>,
) -> Result<(), DecideError> {
    let g = ex.g;
    match handler {
        None => {
            if ex.st.has_parent {
                ex.effect(Effect::EscalateToParent { number, code });
            }
        }
        Some(Handler::Boundary { token, boundary }) => {
            let owner = ex.token(token)?;
            let catcher = ex.st.next_token;
            ex.emit(Event::TokenCreated {
                token: catcher,
                scope: owner.scope,
                node: boundary,
                inner: false,
            })?;
            let interrupting = matches!(
                g.node(boundary).kind,
                NodeKind::Boundary {
                    cancel_activity: true,
                    ..
                }
            );
            if interrupting {
                cancel_token(ex, token)?;
            }
            ex.arrive(catcher);
        }
        Some(Handler::EventSub { scope, esp, start }) => {
            if event_sub::interrupting(ex, start) {
                let victims: Vec<TokenId> = ex.st.tokens_in(scope).map(|t| t.id).collect();
                for v in victims {
                    cancel_token(ex, v)?;
                }
            }
            event_sub::enter(ex, scope, esp, start)?;
        }
    }
    Ok(())
}
