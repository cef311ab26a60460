//! The Adhesive compatibility dialect: a small, safe subset of Python
//! expressions over JSON values.
//!
//! Why hand-written: Adhesive models hold Python expressions evaluated by a
//! Python interpreter. No maintained Rust crate evaluates a safe subset of
//! Python expressions without embedding a whole Python VM (RustPython, PyO3),
//! which would bring a large attack surface, side effects and a heavy
//! dependency onto the engine's hot path. The subset these models use is
//! small, so a lexer, a Pratt parser and a tree-walking evaluator over a flat
//! node array (a few hundred lines) cover it exactly, with precise errors and no way to run
//! arbitrary code.
//!
//! `data` is the whole variable scope: `data.x`, `data["x"]`, `x` and
//! `context.data.x` all read variable `x`; `context.y` reads variable `y`.
//! A missing variable or map key reads as `None`. The full rules are in
//! [`ops`] and `docs/expressions.md`.

mod ast;
mod eval;
mod lexer;
mod ops;
mod parser;

use std::sync::OnceLock;

use serde_json::Value;

use crate::{EvalError, ExprError, Variables, is_truthy};

/// A compiled compat-dialect expression: its source, the flat node array
/// (names are spans of the source) and the constant table.
#[derive(Debug)]
pub(crate) struct CompatProgram {
    source: Box<str>,
    nodes: Box<[ast::Node]>,
    consts: Box<[Value]>,
    /// The referenced variables, collected on first request.
    variables: OnceLock<Box<[String]>>,
}

impl CompatProgram {
    /// Parses `source` (already trimmed).
    pub(crate) fn compile(source: &str) -> Result<CompatProgram, ExprError> {
        if u32::try_from(source.len()).is_err() {
            return Err(ExprError::at(0, "expression longer than 4 GiB"));
        }
        let compiled = parser::parse(source)?;
        Ok(CompatProgram {
            source: source.into(),
            nodes: compiled.nodes,
            consts: compiled.consts,
            variables: OnceLock::new(),
        })
    }

    /// The source text.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The top-level variables it reads, sorted.
    pub(crate) fn variables(&self) -> &[String] {
        self.variables.get_or_init(|| {
            let mut names: Vec<String> = self
                .nodes
                .iter()
                .filter_map(|node| match *node {
                    ast::Node::Var { start, len } => {
                        let start = start as usize;
                        self.source.get(start..start + usize::from(len))
                    }
                    ast::Node::VarConst(k) => self.consts.get(k as usize).and_then(Value::as_str),
                    _ => None,
                })
                .map(str::to_owned)
                .collect();
            names.sort_unstable();
            names.dedup();
            names.into_boxed_slice()
        })
    }

    /// Evaluates to a JSON value.
    pub(crate) fn evaluate(&self, vars: &dyn Variables) -> Result<Value, EvalError> {
        eval::eval_root(self, vars).map(std::borrow::Cow::into_owned)
    }

    /// Evaluates with Python truthiness, copying nothing.
    pub(crate) fn evaluate_bool(&self, vars: &dyn Variables) -> Result<bool, EvalError> {
        eval::eval_root(self, vars).map(|v| is_truthy(&v))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
