//! `windlass test PATH...`: runs scenario files and reports pass / fail /
//! unsupported per scenario, with a diff of expected vs actual.

use crate::definition::{LoadError, load_file};
use crate::output::{Format, OutputError, outln, print_json};
use crate::scenario::{ExpectedStatus, Scenario, collect};
use crate::verdict::{self, Actual};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `windlass test`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each scenario is PASS, FAIL (with a diff of expected vs actual) or UNSUPPORTED (the process uses an element Windlass does not implement; not a failure). Exit codes: 0 no failure; 1 any failure; 2 error."
)]
pub struct Args {
    /// Scenario files, or directories holding `*.scenario.{json,yaml,yml}`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format (JSON: one report with every scenario and the counts).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How one scenario went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// Status and executed map matched.
    Passed,
    /// A mismatch (diff) or an error running it.
    Failed {
        /// Why, for people.
        detail: String,
    },
    /// The process uses an element Windlass does not implement.
    Unsupported {
        /// The element.
        element: String,
        /// What is not supported.
        detail: String,
    },
}

/// One scenario's report line.
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    name: Option<String>,
    #[serde(flatten)]
    outcome: Outcome,
}

/// The counts.
#[derive(Debug, Default, Serialize)]
struct Counts {
    passed: usize,
    failed: usize,
    unsupported: usize,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = collect(&args.paths)?;
    if files.is_empty() {
        anyhow::bail!("no scenario files found in the given paths");
    }
    let mut counts = Counts::default();
    let mut reports = Vec::new();
    for file in &files {
        let (name, outcome) = match Scenario::read(file) {
            Ok(s) => (s.name.clone(), run_one(file, &s)),
            Err(e) => (
                None,
                Outcome::Failed {
                    detail: e.to_string(),
                },
            ),
        };
        match &outcome {
            Outcome::Passed => counts.passed += 1,
            Outcome::Failed { .. } => counts.failed += 1,
            Outcome::Unsupported { .. } => counts.unsupported += 1,
        }
        let report = Report {
            file: file.display().to_string(),
            name,
            outcome,
        };
        if args.format == Format::Text {
            print_report(&report)?;
        }
        reports.push(report);
    }
    if args.format == Format::Json {
        #[derive(Serialize)]
        struct All<'a> {
            scenarios: &'a [Report],
            #[serde(flatten)]
            counts: &'a Counts,
        }
        print_json(&All {
            scenarios: &reports,
            counts: &counts,
        })?;
    } else {
        outln!(
            "result: {} passed, {} failed, {} unsupported",
            counts.passed,
            counts.failed,
            counts.unsupported
        )?;
    }
    Ok(if counts.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(r: &Report) -> Result<(), OutputError> {
    let title = match &r.name {
        Some(n) => format!("{} ({n})", r.file),
        None => r.file.clone(),
    };
    match &r.outcome {
        Outcome::Passed => outln!("PASS  {title}")?,
        Outcome::Failed { detail } => {
            outln!("FAIL  {title}")?;
            for line in detail.lines() {
                outln!("      {line}")?;
            }
        }
        Outcome::Unsupported { element, detail } => {
            outln!("UNSUPPORTED  {title}: unsupported: {element} ({detail})")?;
        }
    }
    Ok(())
}

/// Loads, runs and judges one scenario.
pub fn run_one(file: &Path, s: &Scenario) -> Outcome {
    let mocks = match s.mock_table(file) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::Failed {
                detail: e.to_string(),
            };
        }
    };
    let loaded = match load_file(&s.process_path(file), s.process_id.as_deref()) {
        Ok(l) => l,
        Err(LoadError::Unsupported {
            element, detail, ..
        }) => {
            return Outcome::Unsupported { element, detail };
        }
        Err(e @ LoadError::Invalid { .. }) => {
            // A definition rejected as invalid is the right answer when the
            // scenario expects "failed" and nothing executed.
            return if s.expect.status == ExpectedStatus::Failed && s.expect.executed.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    detail: format!(
                        "expected {}, but the definition was rejected: {e}",
                        s.expect.status.as_str()
                    ),
                }
            };
        }
        Err(e) => {
            return Outcome::Failed {
                detail: e.to_string(),
            };
        }
    };
    let actual: Actual = match crate::scenario_run::run(&loaded, s.input.clone(), &mocks) {
        Ok(a) => a,
        Err(e) => {
            return Outcome::Failed {
                detail: format!("the run stopped with an error: {e}"),
            };
        }
    };
    match verdict::diff(&s.expect, &actual) {
        None => Outcome::Passed,
        Some(d) => Outcome::Failed {
            detail: format!("expected vs actual:\n{d}"),
        },
    }
}
