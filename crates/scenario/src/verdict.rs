//! Comparing a run with a scenario's expectation: the one scenario status
//! type ([`RunStatus`]) and the readable diff.

use crate::file::{Expectation, ExpectedStatus};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
}

impl RunStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Waiting => "waiting",
            RunStatus::Incident => "incident",
        }
    }

    /// Whether this status satisfies `expected` (an incident is a kind of
    /// waiting: nothing can run until someone acts).
    pub fn satisfies(self, expected: ExpectedStatus) -> bool {
        matches!(
            (self, expected),
            (RunStatus::Completed, ExpectedStatus::Completed)
                | (RunStatus::Failed, ExpectedStatus::Failed)
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
    (!out.is_empty()).then_some(out)
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
        };
        let a = Actual {
            status: RunStatus::Completed,
            executed: map(&[("A", 1)]),
        };
        assert_eq!(diff(&e, &a), None);
    }

    #[test]
    fn differences_name_status_counts_missing_and_extra_tasks() {
        let e = Expectation {
            status: ExpectedStatus::Completed,
            executed: map(&[("A", 1), ("B", 2)]),
        };
        let a = Actual {
            status: RunStatus::Failed,
            executed: map(&[("B", 3), ("C", 1)]),
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
}
