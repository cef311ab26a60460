//! One scenario end to end: read it, load its process, check its mocks, play
//! it on the engine's stepping driver (start, settle, then its steps with
//! their checkpoints) and compare with its final expectation. The verdict is
//! [`Outcome`]: passed, failed (with a diff, the failing step or the error)
//! or unsupported (an element of the process, or a step whose engine feature
//! does not exist yet).

use crate::file::{ExpectedStatus, Scenario};
use crate::load::{LoadError, Loaded, load_file};
use crate::verdict::{self, Actual};
use serde::Serialize;
use std::path::Path;
use windlass_engine::driver::RunReport;

/// How one scenario went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// Every checkpoint and the final status, executed map and variables
    /// matched.
    Passed,
    /// A mismatch (diff) or an error running it.
    Failed {
        /// Why, for people.
        detail: String,
    },
    /// The process uses an element Windlass does not implement, or the
    /// scenario a step the engine cannot carry out yet.
    Unsupported {
        /// The element, or the step (`steps[2] (message)`).
        element: String,
        /// What is not supported.
        detail: String,
    },
}

/// What judging a scenario gave.
#[derive(Debug)]
pub struct Judged {
    /// The scenario's name, when it could be read.
    pub name: Option<String>,
    /// The verdict.
    pub outcome: Outcome,
    /// What the run produced, when an instance ran.
    pub actual: Option<Actual>,
    /// The driver's full report (history, steps), when an instance ran.
    pub report: Option<RunReport>,
    /// The loaded process, when it loaded.
    pub loaded: Option<Loaded>,
    /// Problems that did not fail the scenario (unused mocks when allowed).
    pub warnings: Vec<String>,
}

/// How strict judging is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A mock matching no task is a warning instead of a failure.
    pub allow_unused_mocks: bool,
}

impl Judged {
    fn early(name: Option<String>, outcome: Outcome) -> Self {
        Judged {
            name,
            outcome,
            actual: None,
            report: None,
            loaded: None,
            warnings: Vec::new(),
        }
    }

    fn failed(name: Option<String>, detail: String) -> Self {
        Self::early(name, Outcome::Failed { detail })
    }
}

/// Reads and judges the scenario file `file`.
pub fn judge_file(file: &Path, options: Options) -> Judged {
    match Scenario::read(file) {
        Ok(s) => judge(file, &s, options),
        Err(e) => Judged::failed(None, e.to_string()),
    }
}

/// Loads, runs and judges one scenario read from `file`.
pub fn judge(file: &Path, s: &Scenario, options: Options) -> Judged {
    let name = s.name.clone();
    let mocks = match s.mock_table(file) {
        Ok(m) => m,
        Err(e) => return Judged::failed(name, e.to_string()),
    };
    let loaded = match load_file(&s.process_path(file), s.process_id.as_deref()) {
        Ok(l) => l,
        Err(LoadError::Unsupported {
            element, detail, ..
        }) => {
            return Judged::early(name, Outcome::Unsupported { element, detail });
        }
        Err(e @ LoadError::Invalid { .. }) => {
            // A definition rejected as invalid is the right answer when the
            // scenario expects "failed", nothing executed and no variables
            // (and has no steps, which could not run).
            let outcome = if s.expect.status == ExpectedStatus::Failed
                && s.expect.executed.is_empty()
                && s.expect.variables.is_empty()
                && s.steps.is_empty()
            {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    detail: format!(
                        "expected {}, but the definition was rejected: {e}",
                        s.expect.status.as_str()
                    ),
                }
            };
            return Judged::early(name, outcome);
        }
        Err(e) => return Judged::failed(name, e.to_string()),
    };
    let mut loaded = loaded;
    match crate::load_set::load_documents(&s.deploy_paths(file)) {
        Ok(docs) => loaded.deployed_with = docs,
        Err(e) => return Judged::failed(name, format!("deploy: {e}")),
    }
    let mut warnings = Vec::new();
    if let Err(e) = mocks.check_used(&loaded.documents()) {
        let message = format!("{}: {e}", file.display());
        if options.allow_unused_mocks {
            warnings.push(message);
        } else {
            return Judged::failed(name, message);
        }
    }
    if let Some((element, detail)) = crate::play::unsupported(s) {
        let outcome = Outcome::Unsupported { element, detail };
        return Judged {
            loaded: Some(loaded),
            warnings,
            ..Judged::early(name, outcome)
        };
    }
    let (outcome, actual, report) = match crate::play::play(&loaded, s, &mocks) {
        Ok(played) => {
            let outcome = match &played.stop {
                Some(stop) => Outcome::Failed {
                    detail: stop.to_string(),
                },
                None => match verdict::diff(&s.expect, &played.actual) {
                    None => Outcome::Passed,
                    Some(d) => Outcome::Failed {
                        detail: format!("expected vs actual:\n{d}"),
                    },
                },
            };
            (outcome, Some(played.actual), Some(played.report))
        }
        Err(e) => (
            Outcome::Failed {
                detail: format!("the run stopped with an error: {e}"),
            },
            None,
            None,
        ),
    };
    Judged {
        name,
        outcome,
        actual,
        report,
        loaded: Some(loaded),
        warnings,
    }
}
