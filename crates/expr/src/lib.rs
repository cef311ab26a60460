//! Expression languages and name templates.
//!
//! CONTRACT (shared by `model` and `engine`; the implementation may change, the
//! signatures below should not without updating both callers):
//!
//! - [`Language`]: which language an expression is written in, chosen from a
//!   BPMN `expressionLanguage` / `language` URI.
//! - [`Expression`]: compiled once at load time (syntax errors surface then),
//!   evaluated many times against [`Variables`].
//! - [`Template`]: `Is certificate {event.id} in valid range?` style strings.
//!
//! Two languages are implemented: CEL ([`Language::Cel`], through the `cel`
//! crate) and the Adhesive compatibility dialect ([`Language::Compat`], a small
//! Python-expression subset written here). `docs/expressions.md` describes both.

mod cel_guard;
mod cel_lang;
mod compat;
mod error;
mod expression;
pub mod juel;
mod language;
mod template;
mod truthiness;

pub use error::{EvalError, ExprError};
pub use expression::Expression;
pub use language::Language;
pub use template::{MissingValue, Template};
pub use truthiness::{is_truthy, type_name};

use serde_json::Value;

/// Variables visible to an expression (a chain of scopes, innermost first).
pub trait Variables {
    /// The value of variable `name`, or `None` when it is not set in any scope.
    fn lookup(&self, name: &str) -> Option<&Value>;
}

impl Variables for serde_json::Map<String, Value> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}
