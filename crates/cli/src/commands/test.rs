//! `windlass test PATH...`: runs scenario files with the `windlass-scenario`
//! harness and reports pass / fail / unsupported per scenario, with a diff
//! of expected vs actual (naming the `expect` step when a checkpoint fails).

use crate::output::{Format, OutputError, outln, print_json};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_scenario::{Options, Outcome, collect, judge_file};

/// Arguments of `windlass test`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each scenario is PASS, FAIL (with a diff of expected vs actual; for a checkpoint, the `expect` step that did not match) or UNSUPPORTED (the process uses an element Windlass does not implement, or the scenario a step the engine cannot carry out yet; not a failure). Exit codes: 0 no failure; 1 any failure; 2 error."
)]
pub struct Args {
    /// Scenario files, or directories holding `*.scenario.{json,yaml,yml}`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format (JSON: one report with every scenario and the counts).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Report mocks that match no task of the process as warnings instead
    /// of failing the scenario.
    #[arg(long)]
    pub allow_unused_mocks: bool,
}

/// One scenario's report line.
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    name: Option<String>,
    #[serde(flatten)]
    outcome: Outcome,
    /// The instance's status when playing ended (after the last step, or at
    /// the step that failed), when one ran (`completed`, `failed`,
    /// `waiting`, `incident`, `terminated`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    /// Completed tasks by resolved name, when an instance ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    executed: Option<BTreeMap<String, u64>>,
    /// The process variables, when an instance ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    variables: Option<windlass_types::Vars>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
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
    let options = Options {
        allow_unused_mocks: args.allow_unused_mocks,
    };
    for file in &files {
        let judged = judge_file(file, options);
        let outcome = judged.outcome;
        match &outcome {
            Outcome::Passed => counts.passed += 1,
            Outcome::Failed { .. } => counts.failed += 1,
            Outcome::Unsupported { .. } => counts.unsupported += 1,
        }
        let report = Report {
            file: file.display().to_string(),
            name: judged.name,
            outcome,
            status: judged.actual.as_ref().map(|a| a.status.as_str()),
            executed: judged.actual.as_ref().map(|a| a.executed.clone()),
            variables: judged.actual.map(|a| a.variables),
            warnings: judged.warnings,
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
    for w in &r.warnings {
        outln!("      warning: {w}")?;
    }
    Ok(())
}
