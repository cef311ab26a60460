//! Task mocks: what a task does when a scenario or `--mock` says so.
//!
//! A mock key is an element id or a task name; names are compared after
//! whitespace normalisation and *before* template substitution, and an id
//! match wins over a name match.
//!
//! A mock value has one of four forms, told apart by its keys alone:
//! - `{"output": {...}}` (the one key `output`, an object): complete with
//!   these output variables;
//! - `{"error": "CODE"}` (the one key `error`, a string): throw a BPMN error
//!   with this code;
//! - `{"wait": true}` (the one key `wait`, `true`): leave the job open, so
//!   the instance waits there (a `terminate` step or a boundary timer can
//!   then end it);
//! - any other object *without* the keys `output`, `error` and `wait`: its
//!   entries are the output variables.
//!
//! An object that has `output`, `error` or `wait` but is no explicit form
//! (say `{"error": "none", "ok": true}`, `{"error": 3}` or `{"wait": false}`)
//! is refused, naming the explicit form to use: an output variable named
//! `error` (or `output`, `wait`) is written `{"output": {"error": ...}}`, so
//! it is never mistaken for an error mock.
//!
//! A `--mock TASK=JSON` argument is split at the last `=` that is followed by
//! a valid JSON value, so a task name may contain `=` (`x=1={}` mocks the
//! task named `x=1`) and so may the JSON (`t={"cmd":"a=b"}`).
//!
//! Without a mock, the engine's rule decides
//! ([`windlass_engine::JobRequest::when_unbound`]): an abstract `task` naming
//! no kind completes as a no-op; any other task gets "no handler for task
//! 'X' (kind 'K')". A mock that matches no task of the document (by id or
//! name as written) is an error ([`MockTable::check_used`]), so a misspelt
//! mock cannot go unnoticed.

use serde_json::Value;
use std::collections::HashMap;
use thiserror::Error;
use windlass_engine::{JobRequest, Unbound};
use windlass_model::{Definitions, GatewayKind, Node, NodeKind};
use windlass_types::{Vars, normalize_whitespace};

/// The parts of a task node a mock lookup needs.
#[derive(Debug, Clone, Copy)]
pub struct TaskRef<'a> {
    /// Element id.
    pub id: &'a str,
    /// Name as written (before template substitution).
    pub name: Option<&'a str>,
}

impl<'a> TaskRef<'a> {
    /// The lookup view of a graph node.
    pub fn of(node: &'a Node) -> Self {
        TaskRef {
            id: &node.id,
            name: node.name.as_deref(),
        }
    }

    /// The one key rule for mocks: `get` by element id first, then by the
    /// whitespace-normalised name as written.
    pub fn find<T>(self, get: impl Fn(&str) -> Option<T>) -> Option<T> {
        get(self.id).or_else(|| self.name.and_then(|n| get(&normalize_whitespace(n))))
    }
}

/// What a mocked (or unmocked) task does.
#[derive(Debug, Clone, PartialEq)]
pub enum MockBehaviour {
    /// Complete with these output variables.
    Output(Vars),
    /// Fail with a BPMN error with this code.
    Error(String),
    /// Leave the job open: the instance waits at the task.
    Wait,
}

/// The answer for one job.
#[derive(Debug, Clone, PartialEq)]
pub enum MockAnswer {
    /// A mock applies.
    Mocked(MockBehaviour),
    /// An abstract task with nothing bound: completes as a no-op.
    NoOp,
    /// Nothing handles this task; the message says which.
    NoHandler(String),
}

/// A bad mock, named.
#[derive(Debug, Error, PartialEq)]
pub enum MockError {
    /// `--mock` without `=`.
    #[error("mock '{0}' is not of the form TASK=JSON")]
    NoEquals(String),
    /// The JSON part does not parse.
    #[error("mock for '{key}': the value is not JSON: {detail}")]
    BadJson {
        /// The mock key.
        key: String,
        /// The parser's message.
        detail: String,
    },
    /// Mocks that match no task of the document.
    #[error(
        "{} match no task of the process (by element id or task name as written): {}",
        if .0.len() == 1 { "this mock does" } else { "these mocks do" },
        .0.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
    )]
    Unused(Vec<String>),
    /// The value is JSON but no mock form.
    #[error(
        "mock for '{key}': expected {{\"output\": {{...}}}}, {{\"error\": \"CODE\"}}, {{\"wait\": true}} or an object of output variables without the keys \"output\", \"error\" and \"wait\" (write an output variable named error as {{\"output\": {{\"error\": ...}}}}), got {got}"
    )]
    BadShape {
        /// The mock key.
        key: String,
        /// What was given.
        got: String,
    },
}

/// Mocks by normalised key (ids and names share the map; ids are looked up first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MockTable {
    by_key: HashMap<String, MockBehaviour>,
}

impl MockTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one mock from a key and a JSON value.
    pub fn insert(&mut self, key: &str, value: &Value) -> Result<(), MockError> {
        let behaviour = parse_behaviour(key, value)?;
        self.by_key.insert(normalize_whitespace(key), behaviour);
        Ok(())
    }

    /// Adds one `TASK=JSON` argument, split at the last `=` followed by a
    /// valid JSON value (a task name may contain `=`, and so may the JSON).
    pub fn insert_arg(&mut self, arg: &str) -> Result<(), MockError> {
        let (key, value) = split_arg(arg)?;
        self.insert(key, &value)
    }

    /// Builds a table from `TASK=JSON` arguments.
    pub fn from_args(args: &[String]) -> Result<Self, MockError> {
        let mut table = Self::new();
        for arg in args {
            table.insert_arg(arg)?;
        }
        Ok(table)
    }

    /// Every mock: (normalised key, behaviour), in key order.
    pub fn entries(&self) -> Vec<(String, &MockBehaviour)> {
        let mut v: Vec<_> = self.by_key.iter().map(|(k, b)| (k.clone(), b)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The mock for `node` (id first, then its name as written), if any.
    pub fn lookup(&self, task: TaskRef<'_>) -> Option<&MockBehaviour> {
        task.find(|key| self.by_key.get(key))
    }

    /// What the job `req` at `task` does: its mock, else the engine's rule
    /// for jobs nothing is bound to.
    pub fn answer(&self, task: TaskRef<'_>, req: &JobRequest) -> MockAnswer {
        if let Some(b) = self.lookup(task) {
            return MockAnswer::Mocked(b.clone());
        }
        match req.when_unbound() {
            Unbound::NoOp => MockAnswer::NoOp,
            Unbound::Missing { message } => MockAnswer::NoHandler(message),
        }
    }

    /// The mock keys (normalised) that match no node that runs jobs (a task,
    /// or a complex gateway's decision) in any process of `docs` (deployed
    /// together), by element id or whitespace-normalised name as written;
    /// sorted.
    pub fn unused(&self, docs: &[Definitions]) -> Vec<String> {
        let mut unused: Vec<String> = self
            .by_key
            .keys()
            .filter(|key| {
                !docs
                    .iter()
                    .flat_map(|d| d.processes().iter())
                    .flat_map(|g| g.nodes.iter())
                    .filter(|n| runs_jobs(n))
                    .any(|n| {
                        n.id == **key
                            || n.name.as_deref().map(normalize_whitespace).as_ref() == Some(*key)
                    })
            })
            .cloned()
            .collect();
        unused.sort();
        unused
    }

    /// Fails with [`MockError::Unused`] when a mock matches no task of any
    /// of `docs` (deployed together).
    pub fn check_used(&self, docs: &[Definitions]) -> Result<(), MockError> {
        let unused = self.unused(docs);
        if unused.is_empty() {
            Ok(())
        } else {
            Err(MockError::Unused(unused))
        }
    }
}

/// Whether a node creates jobs a mock can answer.
fn runs_jobs(node: &Node) -> bool {
    matches!(
        node.kind,
        NodeKind::Task { .. }
            | NodeKind::Gateway {
                kind: GatewayKind::Complex,
                ..
            }
    )
}

/// Splits `TASK=JSON` at the last `=` whose remainder is a JSON value; when
/// no remainder parses, the error names the part after the first `=`.
fn split_arg(arg: &str) -> Result<(&str, Value), MockError> {
    let (first_key, first_json) = arg
        .split_once('=')
        .ok_or_else(|| MockError::NoEquals(arg.to_string()))?;
    for (at, _) in arg.rmatch_indices('=') {
        let (key, rest) = (&arg[..at], &arg[at + 1..]);
        // Only a remainder that can start a JSON value is worth parsing.
        let starts_json = rest.trim_start().starts_with(|c: char| {
            matches!(c, '{' | '[' | '"' | '-' | 't' | 'f' | 'n') || c.is_ascii_digit()
        });
        if starts_json && let Ok(value) = serde_json::from_str::<Value>(rest) {
            return Ok((key, value));
        }
    }
    let detail = match serde_json::from_str::<Value>(first_json) {
        Err(e) => e.to_string(),
        Ok(_) => "no valid JSON value after any '='".to_string(),
    };
    Err(MockError::BadJson {
        key: first_key.to_string(),
        detail,
    })
}

/// The keys of the explicit mock forms.
const RESERVED: [&str; 3] = ["output", "error", "wait"];

fn parse_behaviour(key: &str, value: &Value) -> Result<MockBehaviour, MockError> {
    let bad = || MockError::BadShape {
        key: key.to_string(),
        got: value.to_string(),
    };
    let Value::Object(map) = value else {
        return Err(bad());
    };
    if map.len() == 1 {
        match (map.get("error"), map.get("output"), map.get("wait")) {
            (Some(Value::String(code)), _, _) => return Ok(MockBehaviour::Error(code.clone())),
            (_, Some(Value::Object(out)), _) => return Ok(MockBehaviour::Output(out.clone())),
            (_, _, Some(Value::Bool(true))) => return Ok(MockBehaviour::Wait),
            _ => {}
        }
    }
    // `output`, `error` and `wait` are reserved for the explicit forms: a
    // bare object holding one of them is ambiguous, so it is refused.
    if RESERVED.iter().any(|k| map.contains_key(*k)) {
        return Err(bad());
    }
    Ok(MockBehaviour::Output(map.clone()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use windlass_model::TaskType;

    fn node<'a>(id: &'a str, name: Option<&'a str>) -> TaskRef<'a> {
        TaskRef { id, name }
    }

    #[test]
    fn three_value_forms_parse() {
        let mut t = MockTable::new();
        t.insert("a", &json!({"output": {"x": 1}})).unwrap();
        t.insert("b", &json!({"error": "E1"})).unwrap();
        t.insert("c", &json!({"y": 2})).unwrap();
        let out = |v: Value| MockBehaviour::Output(v.as_object().unwrap().clone());
        assert_eq!(t.lookup(node("a", None)), Some(&out(json!({"x": 1}))));
        assert_eq!(
            t.lookup(node("b", None)),
            Some(&MockBehaviour::Error("E1".into()))
        );
        assert_eq!(t.lookup(node("c", None)), Some(&out(json!({"y": 2}))));
    }

    #[test]
    fn bad_values_are_named() {
        let mut t = MockTable::new();
        let e = t.insert("k", &json!([1])).unwrap_err();
        assert!(e.to_string().contains("mock for 'k'"), "{e}");
        assert!(t.insert("k", &json!({"error": 3})).is_err());
        assert!(t.insert("k", &json!({"output": 3})).is_err());
        assert!(matches!(
            t.insert_arg("novalue"),
            Err(MockError::NoEquals(_))
        ));
        assert!(matches!(
            t.insert_arg("k={"),
            Err(MockError::BadJson { .. })
        ));
    }

    #[test]
    fn an_output_variable_named_error_is_never_an_error_mock() {
        let mut t = MockTable::new();
        // The explicit output form carries a variable named `error`.
        t.insert("a", &json!({"output": {"error": "none"}}))
            .unwrap();
        assert_eq!(
            t.lookup(node("a", None)),
            Some(&MockBehaviour::Output(
                json!({"error": "none"}).as_object().unwrap().clone()
            ))
        );
        // Bare objects holding a reserved key are ambiguous: refused, with
        // the explicit form named.
        for v in [
            json!({"error": "none", "ok": true}),
            json!({"error": 3}),
            json!({"output": {"x": 1}, "y": 2}),
            json!({"output": 3}),
            json!({"wait": false}),
            json!({"wait": true, "x": 1}),
            json!({"wait": "yes"}),
        ] {
            let e = t.insert("k", &v).unwrap_err().to_string();
            assert!(e.contains(r#"{"output": {"error": ...}}"#), "{v}: {e}");
        }
        // The explicit forms are unchanged.
        t.insert("b", &json!({"error": "E"})).unwrap();
        assert_eq!(
            t.lookup(node("b", None)),
            Some(&MockBehaviour::Error("E".into()))
        );
        t.insert("c", &json!({"wait": true})).unwrap();
        assert_eq!(t.lookup(node("c", None)), Some(&MockBehaviour::Wait));
        t.insert("d", &json!({"output": {"wait": false}})).unwrap();
        assert_eq!(
            t.lookup(node("d", None)),
            Some(&MockBehaviour::Output(
                json!({"wait": false}).as_object().unwrap().clone()
            ))
        );
    }

    #[test]
    fn a_mock_key_may_contain_equals_signs() {
        let t = MockTable::from_args(&[
            "x=1={\"a\":1}".to_string(),
            "cmd={\"line\":\"k=v\"}".to_string(),
            "a=b={\"output\":{\"s\":\"=\"}}".to_string(),
        ])
        .unwrap();
        let out = |v: Value| MockBehaviour::Output(v.as_object().unwrap().clone());
        assert_eq!(t.lookup(node("x=1", None)), Some(&out(json!({"a": 1}))));
        assert_eq!(
            t.lookup(node("cmd", None)),
            Some(&out(json!({"line": "k=v"})))
        );
        assert_eq!(t.lookup(node("a=b", None)), Some(&out(json!({"s": "="}))));
        // No valid JSON after any `=`: the error names the first split.
        match MockTable::from_args(&["k=v={".to_string()]) {
            Err(MockError::BadJson { key, .. }) => assert_eq!(key, "k"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn id_wins_over_name_and_names_are_normalised_before_templates() {
        let mut t = MockTable::from_args(&[
            "Build Image {x}={\"output\":{\"by\":\"name\"}}".to_string(),
            "t1={\"output\":{\"by\":\"id\"}}".to_string(),
        ])
        .unwrap();
        t.insert("other", &json!({})).unwrap();
        let by = |n: TaskRef<'_>| match t.lookup(n) {
            Some(MockBehaviour::Output(v)) => v.get("by").cloned(),
            _ => None,
        };
        assert_eq!(
            by(node("t1", Some("Build\n  Image {x}"))),
            Some(json!("id"))
        );
        assert_eq!(
            by(node("t2", Some("Build\n  Image {x}"))),
            Some(json!("name"))
        );
        assert_eq!(by(node("t3", Some("Build Image y"))), None);
    }

    fn req(tt: TaskType, kind: Option<&str>, name: &str) -> JobRequest {
        JobRequest {
            key: windlass_engine::JobKey {
                node: windlass_model::NodeIdx(0),
                token: windlass_engine::ids::TokenId(0),
                attempt: 1,
            },
            node_id: "t".into(),
            name: Some(name.into()),
            task_type: Some(tt),
            purpose: windlass_engine::event::JobPurpose::Task,
            kind: kind.map(String::from),
            settings: std::collections::BTreeMap::new(),
            inputs: Vars::new(),
            not_before: None,
            max_attempts: 1,
            timeout_millis: None,
        }
    }

    #[test]
    fn unmocked_jobs_follow_the_engine_rule() {
        let t = MockTable::new();
        assert_eq!(
            t.answer(node("a", None), &req(TaskType::Task, None, "a")),
            MockAnswer::NoOp
        );
        assert_eq!(
            t.answer(node("b", None), &req(TaskType::Task, Some("shell"), "b")),
            MockAnswer::NoHandler("no handler for task 'b' (kind 'shell')".into())
        );
        assert_eq!(
            t.answer(node("s", None), &req(TaskType::Service, None, "Send mail")),
            MockAnswer::NoHandler("no handler for serviceTask 'Send mail'".into())
        );
    }

    #[test]
    fn mocks_matching_no_task_are_named() {
        let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<process id="p" isExecutable="true"><startEvent id="s"/>
<sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
<serviceTask id="t" name="Check&#10;it"/>
<sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/></process></definitions>"#;
        let defs = windlass_model::load(xml).definitions.unwrap();
        let ok = MockTable::from_args(&["t={}".into(), "Check it={}".into()]).unwrap();
        let one = std::slice::from_ref(&defs);
        assert_eq!(ok.check_used(one), Ok(()));
        let bad = MockTable::from_args(&["chekc={}".into(), "t={}".into(), "e={}".into()]).unwrap();
        let e = bad.check_used(one).unwrap_err().to_string();
        assert!(
            e.contains("'chekc', 'e'") && e.contains("match no task"),
            "{e}"
        );
        // Deployed together, a task of the other document counts.
        let renamed = xml
            .replace(r#"id="t""#, r#"id="chekc""#)
            .replace(r#"Ref="t""#, r#"Ref="chekc""#);
        let other = windlass_model::load(&renamed).definitions.unwrap();
        let two = [defs.clone(), other];
        let e = bad.check_used(&two).unwrap_err().to_string();
        assert!(e.contains("'e'") && !e.contains("chekc"), "{e}");
    }
}
