//! Embedded sub-processes: a new scope instance (with the input mappings as
//! its local variables) whose start nodes get tokens; it completes when no
//! token is left, then its output mappings run and the sub-process token
//! moves on.

use super::vars::eval;
use super::{DecideError, Exec, activity};
use crate::event::{Event, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use crate::state::{Layered, ScopeChain};
use windlass_model::ScopeIdx;
use windlass_types::Vars;

/// Evaluates `node`'s input mappings in scope `scope`.
pub fn inputs(
    ex: &mut Exec<'_>,
    node: &windlass_model::Node,
    scope: ScopeId,
) -> Result<Option<Vars>, DecideError> {
    let chain = ScopeChain::new(ex.st, scope);
    let mut vars = Vars::new();
    for m in &node.io().inputs {
        match eval(
            node,
            "input mapping",
            &m.source,
            &Layered {
                top: &vars,
                rest: &chain,
            },
        ) {
            Ok(v) => {
                vars.insert(m.target.clone(), v);
            }
            Err(msg) => {
                ex.fail(None, msg)?;
                return Ok(None);
            }
        }
    }
    Ok(Some(vars))
}

/// Token `id` entered a sub-process whose children are in graph scope `gs`.
pub fn enter(ex: &mut Exec<'_>, id: TokenId, gs: ScopeIdx) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = &g.nodes[t.node as usize];
    let Some(vars) = inputs(ex, node, t.scope)? else {
        return Ok(());
    };
    let scope = ex.st.next_scope;
    ex.emit(Event::ScopeEntered {
        scope,
        parent: Some(t.scope),
        kind: ScopeKind::SubProcess(gs.0),
        owner: Some(id),
        vars,
    })?;
    let starts = &g.scope(gs).start_nodes;
    if starts.is_empty() {
        return activity::scope_maybe_done(ex, scope);
    }
    for s in starts {
        ex.spawn(scope, s.0, false)?;
    }
    Ok(())
}

/// Sub-process scope instance `scope` has no token left.
pub fn complete(ex: &mut Exec<'_>, scope: ScopeId, owner: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(owner)?;
    let node = &g.nodes[t.node as usize];
    let mut mapped = Vars::new();
    if !node.io().outputs.is_empty() {
        let chain = ScopeChain::new(ex.st, scope);
        for m in &node.io().outputs {
            match eval(node, "output mapping", &m.source, &chain) {
                Ok(v) => {
                    mapped.insert(m.target.clone(), v);
                }
                Err(msg) => return ex.fail(None, msg),
            }
        }
    }
    ex.emit(Event::ScopeClosed { scope })?;
    ex.propagate(t.scope, &mapped)?;
    activity::finish(ex, owner)
}
