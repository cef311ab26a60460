//! Variable helpers for deciding: expression evaluation with errors naming
//! the element, input and output mappings, output propagation, name
//! resolution. Leaf code over [`Exec`].

use super::{DecideError, Exec};
use crate::event::{Event, IncidentSite};
use crate::ids::{ScopeId, TokenId};
use crate::state::{Layered, ScopeChain};
use serde_json::Value;
use std::collections::BTreeMap;
use windlass_expr::Variables;
use windlass_model::{ExprSpec, Node};
use windlass_types::{Vars, normalize_whitespace};

/// Evaluates `expr` for `node`; the error message names both.
pub fn eval(
    node: &Node,
    what: &str,
    expr: &ExprSpec,
    vars: &dyn Variables,
) -> Result<Value, String> {
    expr.compiled.evaluate(vars).map_err(|e| {
        format!(
            "{what} `{}` of '{}' could not be evaluated: {}",
            expr.source(),
            node.id,
            e.message
        )
    })
}

/// Evaluates `expr` as a condition for `node`.
pub fn eval_bool(
    node: &Node,
    what: &str,
    expr: &ExprSpec,
    vars: &dyn Variables,
) -> Result<bool, String> {
    expr.compiled.evaluate_bool(vars).map_err(|e| {
        format!(
            "{what} `{}` of '{}' could not be evaluated: {}",
            expr.source(),
            node.id,
            e.message
        )
    })
}

/// The node's name resolved from the variables of `scope`, normalised.
pub fn resolve_name(ex: &Exec<'_>, node: &Node, scope: ScopeId) -> Option<String> {
    match (&node.name_template, &node.name) {
        (Some(t), _) => Some(normalize_whitespace(
            &t.render(&ScopeChain::new(ex.st, scope)),
        )),
        (None, Some(n)) => Some(normalize_whitespace(n)),
        (None, None) => None,
    }
}

impl Exec<'_> {
    /// Sets `vars` from `scope` outward: each variable goes to the nearest
    /// scope instance that already defines it, else to the process scope
    /// (Camunda / Zeebe semantics).
    pub fn propagate(&mut self, scope: ScopeId, vars: &Vars) -> Result<(), DecideError> {
        self.propagate_with(scope, vars, false)
    }

    /// [`propagate`](Self::propagate) of variables the caller has checked
    /// against the value limit: each event carries some of them, so it fits
    /// too and is recorded without measuring them again.
    pub fn propagate_checked(&mut self, scope: ScopeId, vars: &Vars) -> Result<(), DecideError> {
        self.propagate_with(scope, vars, true)
    }

    fn propagate_with(
        &mut self,
        scope: ScopeId,
        vars: &Vars,
        checked: bool,
    ) -> Result<(), DecideError> {
        if vars.is_empty() {
            return Ok(());
        }
        let mut by_scope: BTreeMap<ScopeId, Vars> = BTreeMap::new();
        for (k, v) in vars {
            let mut target = ScopeId::ROOT;
            let mut cur = self.st.scope(scope);
            while let Some(s) = cur {
                if s.vars.contains_key(k) {
                    target = s.id;
                    break;
                }
                cur = s.parent.and_then(|p| self.st.scope(p));
            }
            by_scope
                .entry(target)
                .or_default()
                .insert(k.clone(), v.clone());
        }
        for (scope, vars) in by_scope {
            let e = Event::VariablesSet { scope, vars };
            if checked {
                self.emit_checked(e)?;
            } else {
                self.emit(e)?;
            }
        }
        Ok(())
    }

    /// Evaluates the input mappings of `node` (the activity of token `id`)
    /// in scope `scope`; `None` when one failed (an incident on the token:
    /// retry starts the activity's work again, skip completes it).
    pub fn inputs(
        &mut self,
        id: TokenId,
        node: &Node,
        scope: ScopeId,
    ) -> Result<Option<Vars>, DecideError> {
        let mut vars = Vars::new();
        for m in &node.io().inputs {
            let r = eval(
                node,
                "input mapping",
                &m.source,
                &Layered {
                    top: &vars,
                    rest: &ScopeChain::new(self.st, scope),
                },
            );
            let Some(v) = self.eval_or_incident(id, r)? else {
                return Ok(None);
            };
            vars.insert(m.target.clone(), v);
        }
        Ok(Some(vars))
    }

    /// What the output mappings of token `id`'s activity make of `results`
    /// (evaluated over the results and the token's scope): `None` without
    /// mappings, the message of the first one that failed as `Err`.
    fn mapped_outputs(
        &self,
        id: TokenId,
        results: &Vars,
    ) -> Result<Result<Option<Vars>, String>, DecideError> {
        let g = self.g;
        let t = self.token(id)?;
        let node = g.node(t.node);
        if node.io().outputs.is_empty() {
            return Ok(Ok(None));
        }
        let chain = ScopeChain::new(self.st, t.scope);
        let layered = Layered {
            top: results,
            rest: &chain,
        };
        let mut mapped = Vars::new();
        for m in &node.io().outputs {
            match eval(node, "output mapping", &m.source, &layered) {
                Ok(v) => mapped.insert(m.target.clone(), v),
                Err(msg) => return Ok(Err(msg)),
            };
        }
        Ok(Ok(Some(mapped)))
    }

    /// Applies the results of token `id`'s work (a job's outputs, a called
    /// child's variables, a caught message's or signal's variables): its
    /// node's output mappings (evaluated over the results and the token's
    /// scope) or, without mappings, every result variable, propagated
    /// outward from the token's scope. False when an output mapping failed:
    /// an incident at [`IncidentSite::Outputs`] holds the token (retry maps
    /// the same results again, skip sets the given variables instead) and
    /// the caller stops there.
    pub fn apply_outputs(&mut self, id: TokenId, results: &Vars) -> Result<bool, DecideError> {
        let scope = self.token(id)?.scope;
        match self.mapped_outputs(id, results)? {
            Ok(None) => self.propagate(scope, results)?,
            Ok(Some(mapped)) => self.propagate(scope, &mapped)?,
            Err(msg) => {
                let site = IncidentSite::Outputs {
                    results: results.clone(),
                };
                self.incident_at(id, msg, site)?;
                return Ok(false);
            }
        }
        Ok(true)
    }
}
