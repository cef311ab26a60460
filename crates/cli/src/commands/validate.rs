//! `windlass validate`: load BPMN files and report every problem.

#[path = "diagnostics_output.rs"]
pub mod diagnostics_output;

use anyhow::Context;
use diagnostics_output::{FileReport, Format, line};
use std::process::ExitCode;

/// Arguments of `windlass validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BPMN files.
    pub files: Vec<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the verb: exit 0 when every file is valid (warnings allowed), 1 when
/// any has an error, 2 on usage errors (no file, unreadable file).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() {
        anyhow::bail!("usage: windlass validate FILE... (no file given)");
    }
    let mut contents = Vec::with_capacity(args.files.len());
    for f in &args.files {
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        contents.push(bytes);
    }
    let mut any_error = false;
    let mut json = Vec::new();
    for (file, bytes) in args.files.iter().zip(&contents) {
        let outcome = windlass_model::load_bytes(bytes);
        any_error |= outcome.has_errors();
        match args.format {
            Format::Text => {
                for d in &outcome.diagnostics {
                    println!("{}", line(file, d));
                }
            }
            Format::Json => json.push(serde_json::to_value(FileReport::new(
                file,
                &outcome.diagnostics,
            ))?),
        }
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
