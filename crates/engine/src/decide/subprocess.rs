//! Embedded sub-processes: a new scope instance (with the input mappings as
//! its local variables) whose start nodes get tokens; it completes when no
//! token is left, then its output mappings run and the sub-process token
//! moves on (a mapping that fails closes the scope and raises an incident at
//! the token's output mappings, keeping the scope's variables).

use super::compensable::record_scope;
use super::vars::eval;
use super::{DecideError, Exec, Step, flow};
use crate::event::{Event, IncidentSite, ScopeKind};
use crate::ids::{ScopeId, TokenId};
use crate::state::ScopeChain;
use windlass_model::ScopeIdx;
use windlass_types::Vars;

/// Token `id` entered a sub-process whose children are in graph scope `gs`.
pub fn enter(ex: &mut Exec<'_>, id: TokenId, gs: ScopeIdx) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    let Some(vars) = ex.inputs(id, node, t.scope)? else {
        return Ok(());
    };
    let scope = ex.st.next_scope;
    ex.emit(Event::ScopeEntered {
        scope,
        parent: Some(t.scope),
        kind: ScopeKind::SubProcess(gs),
        owner: Some(id),
        vars,
    })?;
    let starts = &g.scope(gs).start_nodes;
    if starts.is_empty() {
        ex.then(Step::ScopeEmptied(scope));
        return Ok(());
    }
    for s in starts {
        ex.spawn(scope, *s, false)?;
    }
    ex.then(Step::OpenListeners(scope, gs));
    Ok(())
}

/// Sub-process scope instance `scope` has no token left.
pub fn complete(ex: &mut Exec<'_>, scope: ScopeId, owner: TokenId) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(owner)?;
    let node = g.node(t.node);
    let mut mapped = Vars::new();
    for m in &node.io().outputs {
        let r = eval(
            node,
            "output mapping",
            &m.source,
            &ScopeChain::new(ex.st, scope),
        );
        match r {
            Ok(v) => mapped.insert(m.target.clone(), v),
            Err(msg) => {
                // What the mappings read besides the outer scopes is the
                // sub-process's own variables: kept in the incident, they
                // are mapped again on retry over the owner's scope
                // (`Exec::apply_outputs`), which reads the same.
                let results = (ex.st.scope(scope)).map_or_else(Vars::new, |s| s.vars.clone());
                record_scope(ex, scope, owner)?;
                ex.emit(Event::ScopeClosed { scope })?;
                return ex.incident_at(owner, msg, IncidentSite::Outputs { results });
            }
        };
    }
    record_scope(ex, scope, owner)?;
    ex.emit(Event::ScopeClosed { scope })?;
    ex.propagate(t.scope, &mapped)?;
    flow::finish(ex, owner)
}
