//! The Adhesive compatibility dialect: a small, safe subset of Python
//! expressions over JSON values.
//!
//! Why hand-written: Adhesive models hold Python expressions evaluated by a
//! Python interpreter. No maintained Rust crate evaluates a safe subset of
//! Python expressions without embedding a whole Python VM (RustPython, PyO3),
//! which would bring a large attack surface, side effects and a heavy
//! dependency onto the engine's hot path. The subset these models use is
//! small, so a lexer, a Pratt parser and a tree-walking evaluator (a few
//! hundred lines) cover it exactly, with precise errors and no way to run
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

use serde_json::Value;

use crate::{EvalError, ExprError, Variables, is_truthy};

/// A compiled compat-dialect expression.
#[derive(Debug)]
pub(crate) struct CompatProgram {
    root: ast::Node,
    variables: Box<[String]>,
}

impl CompatProgram {
    /// Parses `source` (already trimmed).
    pub(crate) fn compile(source: &str) -> Result<CompatProgram, ExprError> {
        let root = parser::parse(source)?;
        let mut variables = Vec::new();
        root.collect_variables(&mut variables);
        variables.sort_unstable();
        variables.dedup();
        Ok(CompatProgram {
            root,
            variables: variables.into_boxed_slice(),
        })
    }

    /// The top-level variables it reads, sorted.
    pub(crate) fn variables(&self) -> &[String] {
        &self.variables
    }

    /// Evaluates to a JSON value.
    pub(crate) fn evaluate(&self, vars: &dyn Variables) -> Result<Value, EvalError> {
        eval::eval(&self.root, vars).map(std::borrow::Cow::into_owned)
    }

    /// Evaluates with Python truthiness, copying nothing.
    pub(crate) fn evaluate_bool(&self, vars: &dyn Variables) -> Result<bool, EvalError> {
        eval::eval(&self.root, vars).map(|v| is_truthy(&v))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
