//! Variable lookup through a chain of scope instances (innermost first).

use super::InstanceState;
use crate::ids::ScopeId;
use serde_json::Value;
use windlass_expr::Variables;
use windlass_types::Vars;

/// The variables visible from one scope instance.
pub struct ScopeChain<'a> {
    state: &'a InstanceState,
    scope: ScopeId,
}

impl<'a> ScopeChain<'a> {
    /// Variables visible from `scope`.
    pub fn new(state: &'a InstanceState, scope: ScopeId) -> Self {
        ScopeChain { state, scope }
    }

    /// All visible variables flattened (inner scopes win).
    pub fn flatten(&self) -> Vars {
        let mut chain = Vec::new();
        let mut cur = self.state.scope(self.scope);
        while let Some(s) = cur {
            chain.push(s);
            cur = s.parent.and_then(|p| self.state.scope(p));
        }
        let mut out = Vars::new();
        for s in chain.iter().rev() {
            for (k, v) in &s.vars {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

impl Variables for ScopeChain<'_> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        let mut cur = self.state.scope(self.scope);
        while let Some(s) = cur {
            if let Some(v) = s.vars.get(name) {
                return Some(v);
            }
            cur = s.parent.and_then(|p| self.state.scope(p));
        }
        None
    }
}

/// Extra variables layered over another lookup (job outputs over the scope
/// chain for output mappings; loop counters for completion conditions).
pub struct Layered<'a> {
    /// Looked up first.
    pub top: &'a Vars,
    /// Looked up when `top` lacks the name.
    pub rest: &'a dyn Variables,
}

impl Variables for Layered<'_> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.top.get(name).or_else(|| self.rest.lookup(name))
    }
}
