//! `windlass validate`: load BPMN files and report every problem.
//!
//! Every file is read and checked on its own: the diagnostics of every file
//! that could be read come first (stdout), then one line per file that
//! could not be read or is larger than the limit for BPMN documents
//! (stderr; in JSON, an entry with `error`). The exit code is the worst of
//! them.
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
use windlass_engine::plan::diagnostics::document_diagnostics;
use windlass_model::Severity;
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
    for file in &args.files {
        let bytes = match read_bounded(file, BPMN_DOCUMENT) {
            Ok(b) => b,
            Err(e) => {
                unreadable.push((file, e.to_string()));
                continue;
            }
        };
        let diagnostics = document_diagnostics(&bytes);
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
