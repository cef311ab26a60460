//! Escalations: thrown by escalation throw and end events inside an
//! embedded sub-process (or the process), caught by escalation boundary
//! events of the enclosing sub-processes and by escalation event
//! sub-processes, innermost first, a handler naming the code before a
//! catch-all — the same search as errors (`throw::find_handler`). A catch
//! is interrupting (the sub-process, or the scope's other tokens, are
//! cancelled) or not (the handler runs beside them). An escalation nobody
//! catches is non-critical: the throwing token moves on, as BPMN says.
//! `EscalationThrown` records it and where it was caught. Calls only
//! downward: `throw`, `cancel`, `event_sub`, `flow` and [`Exec`].

use super::cancel::cancel_token;
use super::throw::{Handler, Thrown, find_handler};
use super::{DecideError, Exec, event_sub, flow};
use crate::event::Event;
use crate::ids::TokenId;
use windlass_model::{EventResult, NodeKind};

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
    let caught_by = handler.as_ref().map(|h| match h {
        Handler::Boundary { boundary, .. } => *boundary,
        Handler::EventSub { start, .. } => *start,
    });
    ex.emit(Event::EscalationThrown {
        token: id,
        node: t.node,
        code,
        caught_by,
    })?;
    match handler {
        None => {}
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
    if ex.st.is_finished() || ex.st.token(id).is_none() {
        return Ok(());
    }
    if matches!(node.kind, NodeKind::EndEvent { .. }) {
        flow::end_token(ex, id)
    } else {
        flow::leave(ex, id)
    }
}
