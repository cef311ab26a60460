//! `windlass validate`: load BPMN files and report every problem.
//!
//! Every file is read and checked on its own: the diagnostics of every file
//! that could be read come first (stdout), then one line per file that
//! could not be read or is larger than the limit for BPMN documents
//! (stderr; in JSON, an entry with `error`). The exit code is the worst of
//! them.
//!
//! Files given together are deployed together: a call activity whose called
//! process is in another of them is not reported as calling a process
//! missing from its file (WL0027).
//!
//! `validate` agrees with `run`: besides the model's diagnostics it runs the
//! engine's own plan check ([`Plan::new`](windlass_engine::Plan::new), the one list of what the engine
//! executes) on every process of a file that loads, and reports a refusal as
//! `WL0039` naming the element and its position: an error in an executable
//! process (deploying the file fails), a warning in a non-executable one
//! (skipped when deployed).

#[path = "diagnostics_output.rs"]
pub mod diagnostics_output;

use crate::output::{error_line, outln, print_json};
use diagnostics_output::{FileReport, Format, line};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_engine::plan::diagnostics::plan_diagnostics;
use windlass_model::{Diagnostic, NodeKind, Severity, codes};
use windlass_scenario::bounded::{BPMN_DOCUMENT, read_bounded};

/// Exit code when any file has an error.
const EXIT_INVALID: u8 = 1;
/// Exit code when any file could not be read (or no file was given).
const EXIT_UNREADABLE: u8 = 2;

/// Arguments of `windlass validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BPMN files.
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A file that could not be read, in JSON.
#[derive(Debug, Serialize)]
struct Unreadable {
    file: String,
    valid: bool,
    error: String,
}

/// Whether `d` is the warning that a call activity calls a process missing
/// from its file while another file given holds it.
fn called_from_another_file(
    d: &Diagnostic,
    calls: &[(String, String)],
    processes: &std::collections::BTreeSet<String>,
) -> bool {
    d.code == codes::CALL_TARGET_NOT_IN_FILE
        && calls
            .iter()
            .any(|(id, called)| d.element_id.as_deref() == Some(id) && processes.contains(called))
}

/// Runs the verb: exit 0 when every file is valid (warnings allowed), 1 when
/// any has an error, 2 when any could not be read or no file was given
/// (the worst wins).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() {
        anyhow::bail!("usage: windlass validate FILE... (no file given)");
    }
    let mut any_error = false;
    let mut unreadable = Vec::new();
    let mut json = Vec::new();
    let mut checked = Vec::new();
    // Every process id of every file, and per file its call activities
    // (element id, called process).
    let mut processes = std::collections::BTreeSet::new();
    for file in &args.files {
        let bytes = match read_bounded(file, BPMN_DOCUMENT) {
            Ok(b) => b,
            Err(e) => {
                unreadable.push((file, e.to_string()));
                continue;
            }
        };
        let outcome = windlass_model::load_bytes(&bytes);
        let mut diagnostics = outcome.diagnostics;
        let mut calls = Vec::new();
        if let Some(defs) = &outcome.definitions {
            diagnostics.extend(plan_diagnostics(defs));
            for g in defs.processes() {
                processes.insert(g.id.clone());
                calls.extend(g.nodes.iter().filter_map(|n| match &n.kind {
                    NodeKind::CallActivity { called_element, .. } => {
                        Some((n.id.clone(), called_element.clone()))
                    }
                    _ => None,
                }));
            }
        }
        checked.push((file, diagnostics, calls));
    }
    for (file, diagnostics, calls) in checked {
        let diagnostics: Vec<Diagnostic> = diagnostics
            .into_iter()
            .filter(|d| !called_from_another_file(d, &calls, &processes))
            .collect();
        any_error |= diagnostics.iter().any(|d| d.severity == Severity::Error);
        match args.format {
            Format::Text => {
                for d in &diagnostics {
                    outln!("{}", line(file, d))?;
                }
            }
            Format::Json => json.push(serde_json::to_value(FileReport::new(file, &diagnostics))?),
        }
    }
    match args.format {
        Format::Text => {
            for (_, message) in &unreadable {
                error_line(&format!("error: {message}"));
            }
        }
        Format::Json => {
            for (file, message) in &unreadable {
                json.push(serde_json::to_value(Unreadable {
                    file: file.display().to_string(),
                    valid: false,
                    error: message.clone(),
                })?);
            }
            print_json(&json)?;
        }
    }
    Ok(if !unreadable.is_empty() {
        ExitCode::from(EXIT_UNREADABLE)
    } else if any_error {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}
