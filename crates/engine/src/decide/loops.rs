//! Standard loops and multi-instance bodies.
//!
//! The token at a looping activity becomes the *body* token; each pass or
//! element runs in its own element scope instance (local variables
//! `loopCounter` (1-based), `loop` = `{index, value}` for Adhesive-style
//! templates, the input element variable, and the `outputDataItem`
//! variable declared null so that writes to it stay in the element and
//! are collected) with an *inner* token that
//! runs the activity once and then ends. When an element scope empties, the
//! body decides: another pass (standard loop: `loopCondition` after each pass
//! unless `testBefore`, capped by `loopMaximum`), the next sequential element,
//! completion (all elements done, or the `completionCondition`, which sees
//! `nrOfInstances`, `nrOfCompletedInstances` and `nrOfActiveInstances`, is
//! true: remaining elements are cancelled). The output collection (indexed
//! by element) is then set from the body's scope outward and the body token
//! leaves by the outgoing flows.
//!
//! Every expression of that decision is evaluated before the element scope
//! closes; one that fails leaves it open, held by a token created at the
//! activity with an incident ([`IncidentSite::Element`]), so the body
//! token keeps its counters. Resolving it ends that token, and the element
//! completes again.

use super::compensable::record_scope;
use super::vars::{eval, eval_bool};
use super::{DecideError, Exec, cancel, flow};
use crate::event::{Event, IncidentSite, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use crate::state::{Layered, ScopeChain};
use serde_json::{Value, json};
use windlass_model::{LoopSpec, MultiInstanceSpec, Node};
use windlass_types::Vars;

/// Most elements one multi-instance body may have.
pub const MAX_ELEMENTS: u32 = 100_000;

/// The JSON type of `v`, for messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map (JSON object)",
    }
}

fn spec(node: &Node) -> Result<&LoopSpec, DecideError> {
    node.looping
        .as_deref()
        .ok_or_else(|| DecideError::unexpected(node, "a loop"))
}

/// A token arrived at a looping activity.
pub fn start_body(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    match spec(node)? {
        LoopSpec::Standard { .. } => {
            // The first pass's `testBefore` condition is evaluated before
            // the body starts: a failure is an incident on the token, whose
            // retry starts the body again.
            let first = match runs_pass(ex, id, 0)? {
                Ok(first) => first,
                Err(msg) => return ex.incident(id, msg),
            };
            ex.emit(Event::BodyStarted {
                token: id,
                total: None,
                items: None,
            })?;
            if first {
                start_element(ex, id, 0)
            } else {
                complete_body(ex, id)
            }
        }
        LoopSpec::MultiInstance(mi) => start_multi(ex, id, node, mi, t.scope),
    }
}

fn start_multi(
    ex: &mut Exec<'_>,
    id: TokenId,
    node: &Node,
    mi: &MultiInstanceSpec,
    scope: ScopeId,
) -> Result<(), DecideError> {
    let items = match &mi.input_collection {
        None => None,
        Some(c) => {
            let r = eval(node, "input collection", c, &ScopeChain::new(ex.st, scope));
            match ex.eval_or_incident(id, r)? {
                None => return Ok(()),
                Some(Value::Array(a)) => Some(a),
                Some(Value::Null) => Some(Vec::new()),
                Some(other) => {
                    let hint = if other.is_object() {
                        "; a map is not iterated (pass a list, e.g. of its values or entries)"
                    } else {
                        ""
                    };
                    let msg = format!(
                        "input collection `{}` of '{}' is {}, not a list{hint}",
                        c.source(),
                        node.id,
                        type_name(&other)
                    );
                    return ex.incident(id, msg);
                }
            }
        }
    };
    let total = match &mi.cardinality {
        Some(c) => {
            let r = eval(node, "loop cardinality", c, &ScopeChain::new(ex.st, scope));
            let Some(v) = ex.eval_or_incident(id, r)? else {
                return Ok(());
            };
            match v.as_u64().or_else(|| {
                v.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }) {
                Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
                None => {
                    let msg = format!(
                        "loop cardinality `{}` of '{}' is not a non-negative integer (got {v})",
                        c.source(),
                        node.id
                    );
                    return ex.incident(id, msg);
                }
            }
        }
        None => u32::try_from(items.as_ref().map_or(0, Vec::len)).unwrap_or(u32::MAX),
    };
    if total > MAX_ELEMENTS {
        let msg = format!(
            "multi-instance '{}' asks for {total} elements; at most {MAX_ELEMENTS} are allowed",
            node.id
        );
        return ex.fail(None, msg);
    }
    ex.emit(Event::BodyStarted {
        token: id,
        total: Some(total),
        items: items.map(Value::Array),
    })?;
    if total == 0 {
        return complete_body(ex, id);
    }
    let first_wave = if mi.sequential { 1 } else { total };
    for i in 0..first_wave {
        start_element(ex, id, i)?;
    }
    Ok(())
}

fn start_element(ex: &mut Exec<'_>, id: TokenId, index: u32) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let item = t
        .body()
        .and_then(|b| b.items.as_ref())
        .and_then(|items| items.get(index as usize))
        .cloned();
    let mut vars = Vars::new();
    vars.insert("loopCounter".into(), json!(index + 1));
    vars.insert(
        "loop".into(),
        json!({"index": index, "value": item.clone().unwrap_or(Value::Null)}),
    );
    if let Some(LoopSpec::MultiInstance(mi)) = node.looping.as_deref() {
        // The output item first: an input item of the same name wins.
        if let Some(name) = &mi.output_item {
            vars.insert(name.clone(), Value::Null);
        }
        if let Some(name) = &mi.input_element {
            vars.insert(name.clone(), item.unwrap_or(Value::Null));
        }
    }
    ex.emit(Event::ElementStarted { token: id, index })?;
    let scope = ex.st.next_scope;
    ex.emit(Event::ScopeEntered {
        scope,
        parent: Some(t.scope),
        kind: ScopeKind::Element(index),
        owner: Some(id),
        vars,
    })?;
    ex.spawn(scope, t.node, true)?;
    Ok(())
}

/// Whether pass `index` of the standard loop of body token `id` runs:
/// `loopMaximum` is not reached and, with `testBefore`, the loop condition
/// (seeing `loopCounter` = `index`) is true. `Err` with the message when
/// the condition cannot be evaluated.
fn runs_pass(ex: &Exec<'_>, id: TokenId, index: u32) -> Result<Result<bool, String>, DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let LoopSpec::Standard {
        condition,
        test_before,
        loop_maximum,
    } = spec(node)?
    else {
        return Err(DecideError::unexpected(node, "a standard loop"));
    };
    if loop_maximum.is_some_and(|max| u64::from(index) >= max) {
        return Ok(Ok(false));
    }
    let (true, Some(c)) = (*test_before, condition) else {
        return Ok(Ok(true));
    };
    let extra = Vars::from_iter([("loopCounter".to_string(), json!(index))]);
    Ok(eval_bool(
        node,
        "loop condition",
        c,
        &Layered {
            top: &extra,
            rest: &ScopeChain::new(ex.st, t.scope),
        },
    ))
}

/// An expression evaluated when element scope `scope` of body token `id`
/// completed failed with `msg`: a token created at the activity in that
/// scope holds it open with an incident at [`IncidentSite::Element`]. Its
/// resolution ends the token, which completes the element again.
fn hold_element(
    ex: &mut Exec<'_>,
    id: TokenId,
    scope: ScopeId,
    msg: String,
) -> Result<(), DecideError> {
    let node = ex.token(id)?.node;
    let holder = ex.st.next_token;
    ex.emit(Event::TokenCreated {
        token: holder,
        scope,
        node,
        inner: true,
    })?;
    ex.incident_at(holder, msg, IncidentSite::Element)
}

/// Element scope instance `scope` (element `index` of body token `id`) has
/// no token left.
pub fn element_done(
    ex: &mut Exec<'_>,
    id: TokenId,
    scope: ScopeId,
    index: u32,
) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    match spec(node)? {
        LoopSpec::Standard {
            condition,
            test_before,
            ..
        } => {
            let again = match (test_before, condition) {
                (false, Some(c)) => {
                    match eval_bool(node, "loop condition", c, &ScopeChain::new(ex.st, scope)) {
                        Ok(b) => b,
                        Err(msg) => return hold_element(ex, id, scope, msg),
                    }
                }
                _ => true,
            };
            // The next pass is decided before the element closes, so that
            // a `testBefore` condition that fails holds this element.
            let next = index + 1;
            let run_next = again
                && match runs_pass(ex, id, next)? {
                    Ok(b) => b,
                    Err(msg) => return hold_element(ex, id, scope, msg),
                };
            record_scope(ex, scope, id)?;
            ex.emit(Event::ScopeClosed { scope })?;
            ex.emit(Event::ElementCompleted {
                token: id,
                index,
                result: None,
            })?;
            if run_next {
                start_element(ex, id, next)
            } else {
                complete_body(ex, id)
            }
        }
        LoopSpec::MultiInstance(mi) => {
            let result = match (&mi.output_collection, &mi.output_element) {
                (None, _) => None,
                (Some(_), None) => Some(Value::Null),
                (Some(_), Some(e)) => {
                    match eval(node, "output element", e, &ScopeChain::new(ex.st, scope)) {
                        Ok(v) => Some(v),
                        Err(msg) => return hold_element(ex, id, scope, msg),
                    }
                }
            };
            let body = t.body().cloned().unwrap_or_default();
            let total = body.total.unwrap_or(0);
            let (completed, active) = (body.completed + 1, body.active.saturating_sub(1));
            let done_early = match &mi.completion_condition {
                None => false,
                Some(c) => {
                    let extra = Vars::from_iter([
                        ("nrOfInstances".to_string(), json!(total)),
                        ("nrOfCompletedInstances".to_string(), json!(completed)),
                        ("nrOfActiveInstances".to_string(), json!(active)),
                    ]);
                    let r = eval_bool(
                        node,
                        "completion condition",
                        c,
                        &Layered {
                            top: &extra,
                            rest: &ScopeChain::new(ex.st, scope),
                        },
                    );
                    match r {
                        Ok(b) => b,
                        Err(msg) => return hold_element(ex, id, scope, msg),
                    }
                }
            };
            record_scope(ex, scope, id)?;
            ex.emit(Event::ScopeClosed { scope })?;
            ex.emit(Event::ElementCompleted {
                token: id,
                index,
                result,
            })?;
            if done_early {
                let others: Vec<ScopeId> = ex
                    .st
                    .scopes
                    .iter()
                    .filter(|s| s.owner == Some(id))
                    .map(|s| s.id)
                    .collect();
                for s in others {
                    cancel::cancel_scope(ex, s)?;
                }
                return complete_body(ex, id);
            }
            if mi.sequential && body.next < total {
                start_element(ex, id, body.next)
            } else if active == 0 && body.next >= total {
                complete_body(ex, id)
            } else {
                Ok(())
            }
        }
    }
}

fn complete_body(ex: &mut Exec<'_>, id: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if let Some(LoopSpec::MultiInstance(MultiInstanceSpec {
        output_collection: Some(name),
        ..
    })) = node.looping.as_deref()
    {
        let body = t.body().cloned().unwrap_or_default();
        let mut results = body.results;
        results.resize(body.total.unwrap_or(0) as usize, Value::Null);
        let vars = Vars::from_iter([(name.clone(), Value::Array(results))]);
        ex.propagate(t.scope, &vars)?;
    }
    flow::leave(ex, id)
}
