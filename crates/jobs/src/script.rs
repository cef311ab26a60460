//! The `script` kind: one expression (`expression`, CEL unless `language`
//! names the compatibility dialect) evaluated over the task's variables;
//! its value sets variables — the entries of a map, or the whole value
//! under `resultVariable`. Evaluated in the job, off the shard's thread,
//! like every kind; an expression that fails is a failure without retry
//! (the same variables fail again), naming the task and the expression.

use crate::error::ConfigError;
use crate::input::TaskInput;
use crate::settings::{Known, Settings, is_variable_name};
use windlass_expr::{Expression, Language};
use windlass_runtime::JobOutcome;
use windlass_types::Vars;

/// The kind name.
pub const KIND: &str = "script";

const KNOWN: Known<'static> = Known {
    names: &["expression", "language", "resultVariable"],
    prefixes: &[],
    unsupported: &[],
    // An expression, compiled as written.
    verbatim: &["expression"],
};

/// A `script` task, settings read and the expression compiled.
#[derive(Debug, Clone)]
pub struct ScriptSpec {
    /// The task (for messages).
    pub label: String,
    /// The expression.
    pub expression: Expression,
    /// Where the value goes; `None`: it must be a map of variables.
    pub result_variable: Option<String>,
    /// The task's variables (input mappings applied).
    pub inputs: Vars,
}

impl ScriptSpec {
    /// Reads the settings of `input` and compiles its expression.
    pub fn parse(input: &TaskInput) -> Result<ScriptSpec, ConfigError> {
        let s = Settings::read(input, KNOWN)?;
        let language = match s.get("language") {
            None => Language::Cel,
            Some(uri) => Language::from_uri(Some(uri)).ok_or_else(|| {
                s.invalid(
                    "language",
                    format!(
                        "'{uri}' is neither CEL ('cel') nor the compatibility dialect ('python')"
                    ),
                )
            })?,
        };
        s.required("expression")?;
        let source = s.expression("expression")?.unwrap_or_default();
        let expression = Expression::compile(language, &source)
            .map_err(|e| s.invalid("expression", e.to_string()))?;
        let result_variable = s.get("resultVariable").map(str::to_string);
        if let Some(name) = &result_variable
            && !is_variable_name(name)
        {
            return Err(s.invalid("resultVariable", format!("'{name}' is not a variable name")));
        }
        Ok(ScriptSpec {
            label: input.label.clone(),
            expression,
            result_variable,
            inputs: input.inputs.clone(),
        })
    }
}

/// Evaluates `spec`: its output variables, or a failure without retry.
pub fn run(spec: &ScriptSpec) -> JobOutcome {
    let fail = |why: String| {
        JobOutcome::technical(
            format!(
                "task '{}': expression `{}`: {why}",
                spec.label,
                spec.expression.source()
            ),
            false,
        )
    };
    let value = match spec.expression.evaluate(&spec.inputs) {
        Ok(v) => v,
        Err(e) => return fail(e.to_string()),
    };
    match (&spec.result_variable, value) {
        (Some(name), v) => JobOutcome::done(Vars::from_iter([(name.clone(), v)])),
        (None, serde_json::Value::Object(vars)) => JobOutcome::done(vars),
        (None, other) => fail(format!(
            "its value is {}, not a map of variables (set resultVariable to keep it whole)",
            windlass_expr::type_name(&other)
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn input(settings: &[(&str, &str)], vars: serde_json::Value) -> TaskInput {
        let map: BTreeMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskInput {
            label: "Compute".into(),
            kind: KIND.into(),
            settings: map.clone(),
            settings_source: map,
            inputs: vars.as_object().cloned().unwrap_or_default(),
            cancel: Default::default(),
            secrets: crate::SecretSource::new(None, Some(Default::default())),
            job_key: None,
        }
    }

    fn outputs(o: JobOutcome) -> serde_json::Value {
        match o {
            JobOutcome::Completed { outputs, .. } => serde_json::Value::Object(outputs),
            other => panic!("{other:?}"),
        }
    }

    fn failure(o: JobOutcome) -> (String, bool) {
        match o {
            JobOutcome::Failed(windlass_engine::event::JobFailure::Technical {
                message,
                retryable,
            }) => (message, retryable),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_map_sets_its_entries_and_a_result_variable_keeps_any_value() {
        let i = input(
            &[(
                "expression",
                r#"{{"total": price * qty, "label": name + "!"}}"#,
            )],
            json!({"price": 3, "qty": 4, "name": "box"}),
        );
        let out = outputs(run(&ScriptSpec::parse(&i).unwrap()));
        assert_eq!(out, json!({"total": 12, "label": "box!"}));
        let i = input(
            &[
                ("expression", "items.map(x, x * 2)"),
                ("resultVariable", "doubled"),
            ],
            json!({"items": [1, 2]}),
        );
        let out = outputs(run(&ScriptSpec::parse(&i).unwrap()));
        assert_eq!(out, json!({"doubled": [2, 4]}));
        // The compatibility dialect by name.
        let i = input(
            &[
                ("expression", "n + 1"),
                ("language", "python"),
                ("resultVariable", "m"),
            ],
            json!({"n": 1}),
        );
        assert_eq!(
            outputs(run(&ScriptSpec::parse(&i).unwrap())),
            json!({"m": 2})
        );
    }

    #[test]
    fn failures_name_the_task_and_the_expression_and_do_not_retry() {
        let i = input(&[("expression", "missing + 1")], json!({}));
        let (message, retryable) = failure(run(&ScriptSpec::parse(&i).unwrap()));
        assert!(!retryable);
        assert!(
            message.contains("task 'Compute'") && message.contains("missing + 1"),
            "{message}"
        );
        let i = input(&[("expression", "1 + 1")], json!({}));
        let (message, _) = failure(run(&ScriptSpec::parse(&i).unwrap()));
        assert!(message.contains("not a map of variables"), "{message}");
        for (settings, says) in [
            (vec![("expression", "1 +")], "setting 'expression'"),
            (vec![("expression", "{n} + 1")], "not placeholders"),
            (vec![], "'expression' is missing"),
            (vec![("expression", "1"), ("language", "feel")], "'feel'"),
            (
                vec![("expression", "1"), ("resultVariable", "a b")],
                "not a variable name",
            ),
        ] {
            let e = ScriptSpec::parse(&input(&settings, json!({})))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
