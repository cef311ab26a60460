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

use serde_json::Value;

/// A language that conditions and scripts may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// The Common Expression Language (Kubernetes-native).
    Cel,
    /// The Adhesive compatibility dialect: a small Python-expression subset.
    Compat,
}

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

/// Where in the expression source a problem is (0-based char offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// What is wrong, for a person.
    pub message: String,
    /// Char offset into the source where the problem is, when known.
    pub offset: Option<usize>,
}

/// A failure while evaluating a valid expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// What went wrong, for a person.
    pub message: String,
}

impl Language {
    /// The language a BPMN `expressionLanguage`/`language` URI names, or `None`
    /// when Windlass does not support it. No URI and the XPath editor default
    /// (`http://www.w3.org/1999/XPath`) select [`Language::Compat`].
    pub fn from_uri(uri: Option<&str>) -> Option<Language> {
        match uri.map(str::trim) {
            None | Some("") | Some("http://www.w3.org/1999/XPath") => Some(Language::Compat),
            Some(u) if u.eq_ignore_ascii_case("cel") => Some(Language::Cel),
            _ => None,
        }
    }
}

/// A compiled expression.
// INTERIM: the expression helper replaces this with real compilation.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    language: Language,
}

impl Expression {
    /// Compiles `source` (surrounding whitespace is trimmed) in `language`.
    pub fn compile(language: Language, source: &str) -> Result<Expression, ExprError> {
        Ok(Expression { source: source.trim().to_string(), language })
    }
    /// The trimmed source text.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The language it is written in.
    pub fn language(&self) -> Language {
        self.language
    }
    /// Evaluates to a JSON value.
    pub fn evaluate(&self, _vars: &dyn Variables) -> Result<Value, EvalError> {
        Err(EvalError { message: "expressions are not implemented yet".into() })
    }
    /// Evaluates and applies the language's truthiness rules.
    pub fn evaluate_bool(&self, vars: &dyn Variables) -> Result<bool, EvalError> {
        self.evaluate(vars).map(|v| v.as_bool().unwrap_or(false))
    }
}

/// A string with `{path}` placeholders resolved from variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
}

impl Template {
    /// Parses a template; unbalanced braces or empty placeholders are errors.
    pub fn parse(source: &str) -> Result<Template, ExprError> {
        Ok(Template { source: source.to_string() })
    }
    /// The original text.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// True when the text has no placeholders.
    pub fn is_literal(&self) -> bool {
        !self.source.contains('{')
    }
    /// Resolves placeholders; a missing variable leaves its placeholder as written.
    pub fn render(&self, _vars: &dyn Variables) -> String {
        self.source.clone()
    }
}
