//! [`Expression`]: an expression compiled once, in either language, and
//! evaluated many times.

use std::sync::Arc;

use serde_json::Value;

use crate::cel_lang::CelProgram;
use crate::compat::CompatProgram;
use crate::{EvalError, ExprError, Language, Variables};

/// A compiled expression.
///
/// Cloning is cheap (one reference count: the program owns its source). The
/// source is trimmed of surrounding whitespace (so CDATA indentation does not
/// matter) and error offsets count chars into that trimmed source.
#[derive(Debug, Clone)]
pub struct Expression {
    compiled: Compiled,
}

/// The compiled form (with the source) for each language.
#[derive(Debug, Clone)]
enum Compiled {
    Cel(Arc<CelProgram>),
    Compat(Arc<CompatProgram>),
}

impl Expression {
    /// Compiles `source` (surrounding whitespace is trimmed) in `language`.
    pub fn compile(language: Language, source: &str) -> Result<Expression, ExprError> {
        let source = source.trim();
        let compiled = match language {
            Language::Cel => Compiled::Cel(Arc::new(CelProgram::compile(source)?)),
            Language::Compat => Compiled::Compat(Arc::new(CompatProgram::compile(source)?)),
        };
        Ok(Expression { compiled })
    }

    /// The trimmed source text.
    pub fn source(&self) -> &str {
        match &self.compiled {
            Compiled::Cel(p) => p.source(),
            Compiled::Compat(p) => p.source(),
        }
    }

    /// The language it is written in.
    pub fn language(&self) -> Language {
        match self.compiled {
            Compiled::Cel(_) => Language::Cel,
            Compiled::Compat(_) => Language::Compat,
        }
    }

    /// The top-level variable names the expression reads (for `data.x` in the
    /// compatibility dialect, `x`), sorted and without repeats.
    pub fn referenced_variables(&self) -> &[String] {
        match &self.compiled {
            Compiled::Cel(p) => p.variables(),
            Compiled::Compat(p) => p.variables(),
        }
    }

    /// Evaluates to a JSON value.
    pub fn evaluate(&self, vars: &dyn Variables) -> Result<Value, EvalError> {
        match &self.compiled {
            Compiled::Cel(p) => p.evaluate(vars),
            Compiled::Compat(p) => p.evaluate(vars),
        }
    }

    /// Evaluates and applies the language's truthiness rules: the
    /// compatibility dialect uses Python truthiness; CEL requires a bool, reads
    /// `null` as false and rejects any other type with an error naming it.
    pub fn evaluate_bool(&self, vars: &dyn Variables) -> Result<bool, EvalError> {
        match &self.compiled {
            Compiled::Cel(p) => p.evaluate_bool(vars),
            Compiled::Compat(p) => p.evaluate_bool(vars),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> serde_json::Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("test variables must be an object"),
        }
    }

    #[test]
    fn expression_is_clone_debug_send_sync() {
        fn check<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
        check::<Expression>();
    }

    #[test]
    fn source_is_trimmed_for_both_languages() {
        for lang in [Language::Cel, Language::Compat] {
            let e = Expression::compile(lang, "\n        x == 1\n      ").unwrap();
            assert_eq!(e.source(), "x == 1");
            assert_eq!(e.language(), lang);
        }
    }

    #[test]
    fn both_languages_agree_on_simple_conditions() {
        let v = vars(json!({"x": 7, "route": "task", "flags": {"on": true}}));
        for src in [
            "x >= 5 && route == \"task\"",
            "flags.on",
            "!(x < 5)",
            "x % 2 == 1",
        ] {
            for lang in [Language::Cel, Language::Compat] {
                let e = Expression::compile(lang, src).unwrap();
                assert!(e.evaluate_bool(&v).unwrap(), "{lang:?}: {src}");
            }
        }
    }

    #[test]
    fn referenced_variables_per_language() {
        let c = Expression::compile(Language::Compat, "data.b > a and data['c']").unwrap();
        assert_eq!(c.referenced_variables(), ["a", "b", "c"]);
        let c = Expression::compile(Language::Cel, "b > a && c.d").unwrap();
        assert_eq!(c.referenced_variables(), ["a", "b", "c"]);
    }

    #[test]
    fn an_expression_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Expression>(), 16);
    }

    #[test]
    fn clones_share_the_compiled_program() {
        let e = Expression::compile(Language::Compat, "x + 1").unwrap();
        let c = e.clone();
        let v = vars(json!({"x": 1}));
        assert_eq!(c.evaluate(&v).unwrap(), json!(2));
    }
}
