//! Comparing a run with a scenario's expectation (the final one or an
//! `expect` step's): the one scenario status type ([`RunStatus`]) and the
//! readable diff. Status and executed counts must match; `variables` is a
//! subset match (numbers compare by value).

use crate::file::{Expectation, ExpectedStatus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use windlass_types::Vars;

/// How a run ended, as scenarios see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// No token left and nothing failed.
    Completed,
    /// An unhandled error ended it (or the definition was rejected as invalid).
    Failed,
    /// Nothing can run, the instance is not finished.
    Waiting,
    /// A job failed for good (e.g. no handler); a person must act.
    Incident,
    /// Ended by `Command::Terminate` (a `terminate` step).
    Terminated,
    /// Ended by `Command::Cancel` (a `cancel` step).
    Cancelled,
    /// Replaced, while it waited for a dedup key, by a newer claim.
    Superseded,
}

impl RunStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Waiting => "waiting",
            RunStatus::Incident => "incident",
            RunStatus::Terminated => "terminated",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Superseded => "superseded",
        }
    }

    /// Whether this status satisfies `expected` (an incident is a kind of
    /// waiting: nothing can run until someone acts).
    pub fn satisfies(self, expected: ExpectedStatus) -> bool {
        matches!(
            (self, expected),
            (RunStatus::Completed, ExpectedStatus::Completed)
                | (RunStatus::Failed, ExpectedStatus::Failed)
                | (RunStatus::Terminated, ExpectedStatus::Terminated)
                | (RunStatus::Cancelled, ExpectedStatus::Cancelled)
                | (RunStatus::Superseded, ExpectedStatus::Superseded)
                | (
                    RunStatus::Waiting | RunStatus::Incident,
                    ExpectedStatus::Waiting
                )
        )
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actual {
    /// Final status.
    pub status: RunStatus,
    /// Resolved task name → completions.
    pub executed: BTreeMap<String, u64>,
    /// The process variables.
    pub variables: Vars,
    /// Whether the instance is suspended.
    pub suspended: bool,
}

/// Compares; returns `None` on a match, else the diff lines (`-` expected,
/// `+` actual) for people.
pub fn diff(expected: &Expectation, actual: &Actual) -> Option<String> {
    let mut out = String::new();
    if !actual.status.satisfies(expected.status) {
        let _ = writeln!(out, "  status:");
        let _ = writeln!(out, "    - {}", expected.status.as_str());
        let _ = writeln!(out, "    + {}", actual.status.as_str());
    }
    if let Some(want) = expected.suspended
        && want != actual.suspended
    {
        let _ = writeln!(out, "  suspended:");
        let _ = writeln!(out, "    - {want}");
        let _ = writeln!(out, "    + {}", actual.suspended);
    }
    let mut names: Vec<&String> = expected
        .executed
        .keys()
        .chain(actual.executed.keys())
        .collect();
    names.sort();
    names.dedup();
    let mut lines = String::new();
    for name in names {
        let e = expected.executed.get(name).copied().unwrap_or(0);
        let a = actual.executed.get(name).copied().unwrap_or(0);
        if e != a {
            if e > 0 {
                let _ = writeln!(lines, "    - {name:?}: {e}");
            }
            if a > 0 {
                let _ = writeln!(lines, "    + {name:?}: {a}");
            }
            if a == 0 {
                let _ = writeln!(lines, "      ({name:?} never completed)");
            } else if e == 0 {
                let _ = writeln!(lines, "      ({name:?} was not expected to complete)");
            }
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "  executed (- expected, + actual):");
        out.push_str(&lines);
    }
    let mut lines = String::new();
    for (name, e) in &expected.variables {
        match actual.variables.get(name) {
            Some(a) if same_value(e, a) => {}
            Some(a) => {
                let _ = writeln!(lines, "    - {name:?}: {e}");
                let _ = writeln!(lines, "    + {name:?}: {a}");
            }
            None => {
                let _ = writeln!(lines, "    - {name:?}: {e}");
                let _ = writeln!(lines, "      ({name:?} is not set)");
            }
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(
            out,
            "  variables (- expected, + actual; only the listed ones are compared):"
        );
        out.push_str(&lines);
    }
    (!out.is_empty()).then_some(out)
}

/// JSON equality where numbers are equal by value (`3` equals `3.0`).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn equal_outcomes_have_no_diff() {
        let e = Expectation {
            status: ExpectedStatus::Completed,
            executed: map(&[("A", 1)]),
            variables: Vars::new(),
            suspended: None,
            instance: None,
        };
        let mut a = Actual {
            status: RunStatus::Completed,
            executed: map(&[("A", 1)]),
            variables: Vars::new(),
            suspended: false,
        };
        assert_eq!(diff(&e, &a), None);
        a.suspended = true;
        assert_eq!(diff(&e, &a), None, "not compared when not expected");
        let e = Expectation {
            suspended: Some(false),
            ..e
        };
        let d = diff(&e, &a).unwrap_or_default();
        assert!(
            d.contains("suspended") && d.contains("- false") && d.contains("+ true"),
            "{d}"
        );
    }

    #[test]
    fn differences_name_status_counts_missing_and_extra_tasks() {
        let e = Expectation {
            status: ExpectedStatus::Completed,
            executed: map(&[("A", 1), ("B", 2)]),
            variables: Vars::new(),
            suspended: None,
            instance: None,
        };
        let a = Actual {
            status: RunStatus::Failed,
            executed: map(&[("B", 3), ("C", 1)]),
            variables: Vars::new(),
            suspended: false,
        };
        let d = diff(&e, &a).unwrap_or_default();
        assert!(d.contains("- completed") && d.contains("+ failed"), "{d}");
        assert!(
            d.contains("- \"A\": 1") && d.contains("\"A\" never completed"),
            "{d}"
        );
        assert!(d.contains("- \"B\": 2") && d.contains("+ \"B\": 3"), "{d}");
        assert!(
            d.contains("+ \"C\": 1") && d.contains("not expected"),
            "{d}"
        );
    }

    #[test]
    fn an_incident_counts_as_waiting_but_not_as_completed() {
        assert!(RunStatus::Incident.satisfies(ExpectedStatus::Waiting));
        assert!(!RunStatus::Incident.satisfies(ExpectedStatus::Completed));
        assert!(!RunStatus::Waiting.satisfies(ExpectedStatus::Failed));
    }

    fn vars(v: Value) -> Vars {
        match v {
            Value::Object(m) => m,
            _ => Vars::new(),
        }
    }

    #[test]
    fn variables_are_a_subset_match_naming_the_variable_that_differs() {
        let e = Expectation {
            status: ExpectedStatus::Completed,
            executed: BTreeMap::new(),
            variables: vars(serde_json::json!({"total": 3, "list": [1.0, {"a": 2}], "gone": null})),
            suspended: None,
            instance: None,
        };
        let mut a = Actual {
            status: RunStatus::Completed,
            executed: BTreeMap::new(),
            variables: vars(
                serde_json::json!({"total": 3.0, "list": [1, {"a": 2}], "gone": null, "other": "x"}),
            ),
            suspended: false,
        };
        assert_eq!(
            diff(&e, &a),
            None,
            "numbers equal by value, extra variables ignored"
        );
        a.variables = vars(serde_json::json!({"total": 4, "list": [1, {"a": 2}]}));
        let d = diff(&e, &a).unwrap_or_default();
        assert!(
            d.contains("variables") && d.contains("- \"total\": 3") && d.contains("+ \"total\": 4"),
            "{d}"
        );
        assert!(d.contains("\"gone\" is not set"), "{d}");
        assert!(!d.contains("\"list\"") && !d.contains("status"), "{d}");
    }

    #[test]
    fn terminated_satisfies_only_terminated() {
        assert!(RunStatus::Terminated.satisfies(ExpectedStatus::Terminated));
        assert!(!RunStatus::Terminated.satisfies(ExpectedStatus::Failed));
        assert!(!RunStatus::Failed.satisfies(ExpectedStatus::Terminated));
        assert!(!RunStatus::Completed.satisfies(ExpectedStatus::Cancelled));
        assert!(RunStatus::Cancelled.satisfies(ExpectedStatus::Cancelled));
        assert!(!RunStatus::Cancelled.satisfies(ExpectedStatus::Completed));
        assert!(!RunStatus::Completed.satisfies(ExpectedStatus::Superseded));
    }
}
