//! CEL (the Common Expression Language) through the `cel` crate.
//!
//! A program is parsed once. Evaluation binds every top-level variable the
//! program references: its value (converted from JSON) when [`Variables`]
//! knows it, otherwise `null`, so a missing variable reads as `null` instead
//! of failing with "undeclared reference". Map keys that are missing still
//! fail as CEL specifies (use `has(a.b)`).

#[allow(
    clippy::disallowed_types,
    reason = "the cel crate's map value is a std HashMap; its key order is CEL's own (unordered maps)"
)]
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::objects::{Key, Map};
use cel::{Context, Env, Program};
use serde_json::Value;

use crate::{EvalError, ExprError, Variables};

/// A compiled CEL program, its source and the variables it references.
#[derive(Debug)]
pub(crate) struct CelProgram {
    source: Box<str>,
    program: Program,
    variables: Vec<String>,
}

/// The standard CEL environment, built once and shared by every evaluation.
fn shared_env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    Arc::clone(ENV.get_or_init(|| Arc::new(Env::stdlib())))
}

impl CelProgram {
    /// Parses `source` (already trimmed).
    pub(crate) fn compile(source: &str) -> Result<CelProgram, ExprError> {
        if source.is_empty() {
            return Err(ExprError::at(0, "empty CEL expression"));
        }
        crate::cel_guard::check(source)?;
        let program = Program::compile(source).map_err(|errors| parse_error(source, &errors))?;
        let mut variables: Vec<String> = program
            .references()
            .variables()
            .into_iter()
            .map(str::to_owned)
            .collect();
        variables.sort_unstable();
        variables.dedup();
        Ok(CelProgram {
            source: source.into(),
            program,
            variables,
        })
    }

    /// The source text.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The top-level variables the program reads, sorted.
    pub(crate) fn variables(&self) -> &[String] {
        &self.variables
    }

    /// Runs the program and converts its result to JSON.
    pub(crate) fn evaluate(&self, vars: &dyn Variables) -> Result<Value, EvalError> {
        let result = self.execute(vars)?;
        result.json().map_err(|_| {
            EvalError::new(format!(
                "CEL result of type {} cannot be converted to JSON",
                result.type_of()
            ))
        })
    }

    /// Runs the program; the result must be a bool or `null` (false).
    pub(crate) fn evaluate_bool(&self, vars: &dyn Variables) -> Result<bool, EvalError> {
        match self.execute(vars)? {
            cel::Value::Bool(b) => Ok(b),
            cel::Value::Null => Ok(false),
            other => Err(EvalError::new(format!(
                "a CEL condition must evaluate to a bool, got {}",
                other.type_of()
            ))),
        }
    }

    fn execute(&self, vars: &dyn Variables) -> Result<cel::Value, EvalError> {
        let mut context = Context::with_env(shared_env());
        for name in &self.variables {
            let value = vars.lookup(name).map_or(cel::Value::Null, json_to_cel);
            context.add_variable_from_value(name.as_str(), value);
        }
        self.program
            .execute(&context)
            .map_err(|e| EvalError::new(format!("CEL evaluation failed: {e}")))
    }
}

/// Converts a JSON value to a CEL value (ints stay ints, floats floats).
#[allow(
    clippy::disallowed_types,
    reason = "the cel crate's map value is a std HashMap; its key order is CEL's own (unordered maps)"
)]
pub(crate) fn json_to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                cel::Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                cel::Value::UInt(u)
            } else {
                cel::Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(json_to_cel).collect())),
        Value::Object(fields) => {
            let map: HashMap<Key, cel::Value> = fields
                .iter()
                .map(|(k, v)| (Key::from(k.as_str()), json_to_cel(v)))
                .collect();
            cel::Value::Map(Map { map: Arc::new(map) })
        }
    }
}

/// The first parse error, with its line/column turned into a char offset.
fn parse_error(source: &str, errors: &cel::ParseErrors) -> ExprError {
    let Some(first) = errors.errors.first() else {
        return ExprError {
            message: "invalid CEL expression".into(),
            offset: None,
        };
    };
    let (line, column) = first.pos;
    let offset = if line >= 1 && column >= 1 {
        let preceding: usize = source
            .split_inclusive('\n')
            .take((line - 1) as usize)
            .map(|l| l.chars().count())
            .sum();
        Some((preceding + (column - 1) as usize).min(source.chars().count()))
    } else {
        None
    };
    ExprError {
        message: format!("CEL syntax error: {}", first.msg),
        offset,
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

    fn eval(src: &str, v: Value) -> Result<Value, EvalError> {
        CelProgram::compile(src).unwrap().evaluate(&vars(v))
    }

    #[test]
    fn program_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<CelProgram>();
    }

    #[test]
    fn evaluates_against_json_variables() {
        let v = json!({"event": {"id": "a", "n": 3}, "items": [1, 2, 3], "ratio": 0.5});
        assert_eq!(eval("event.id + '-x'", v.clone()).unwrap(), json!("a-x"));
        assert_eq!(eval("event.n * 2", v.clone()).unwrap(), json!(6));
        assert_eq!(eval("size(items)", v.clone()).unwrap(), json!(3));
        assert_eq!(
            eval("items.map(i, i * 10)", v.clone()).unwrap(),
            json!([10, 20, 30])
        );
        assert_eq!(eval("ratio < 1.0", v.clone()).unwrap(), json!(true));
        assert_eq!(eval("{'a': [event.n]}", v).unwrap(), json!({"a": [3]}));
    }

    #[test]
    fn missing_top_level_variable_reads_as_null() {
        assert_eq!(eval("missing == null", json!({})).unwrap(), json!(true));
        let p = CelProgram::compile("missing").unwrap();
        assert!(!p.evaluate_bool(&vars(json!({}))).unwrap());
    }

    #[test]
    fn missing_map_key_is_an_error_and_has_tests_it() {
        let err = eval("event.nope == 1", json!({"event": {}})).unwrap_err();
        assert!(err.message.contains("nope"), "{}", err.message);
        assert_eq!(
            eval("has(event.nope)", json!({"event": {}})).unwrap(),
            json!(false)
        );
    }

    #[test]
    fn evaluate_bool_requires_a_bool() {
        let p = CelProgram::compile("x").unwrap();
        assert!(p.evaluate_bool(&vars(json!({"x": true}))).unwrap());
        assert!(!p.evaluate_bool(&vars(json!({"x": false}))).unwrap());
        assert!(!p.evaluate_bool(&vars(json!({"x": null}))).unwrap());
        let err = p.evaluate_bool(&vars(json!({"x": 1}))).unwrap_err();
        assert!(err.message.contains("int"), "{}", err.message);
        let err = p.evaluate_bool(&vars(json!({"x": "yes"}))).unwrap_err();
        assert!(err.message.contains("string"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_carry_an_offset() {
        let err = CelProgram::compile("a &&").unwrap_err();
        assert!(
            err.message.starts_with("CEL syntax error"),
            "{}",
            err.message
        );
        assert!(err.offset.is_some());
        let err = CelProgram::compile("x == 1\n  && )").unwrap_err();
        let offset = err.offset.unwrap();
        assert!(offset >= 7, "offset {offset} should be on the second line");
        assert!(CelProgram::compile("").is_err());
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        let err = CelProgram::compile(&deep).unwrap_err();
        assert!(err.message.contains("nested"), "{}", err.message);
        let modest = format!("{}1{}", "(".repeat(6), ")".repeat(6));
        assert!(CelProgram::compile(&modest).is_ok());
    }

    #[test]
    fn runtime_errors_are_eval_errors() {
        let err = eval("1 / x", json!({"x": 0})).unwrap_err();
        assert!(
            err.message.starts_with("CEL evaluation failed"),
            "{}",
            err.message
        );
    }

    #[test]
    fn json_conversion_keeps_number_kinds() {
        assert!(matches!(json_to_cel(&json!(1)), cel::Value::Int(1)));
        assert!(matches!(
            json_to_cel(&json!(u64::MAX)),
            cel::Value::UInt(u64::MAX)
        ));
        assert!(matches!(json_to_cel(&json!(1.5)), cel::Value::Float(f) if f == 1.5));
    }
}
