//! `windlass inspect`.

use std::process::ExitCode;

/// Arguments of `windlass inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BPMN files.
    pub files: Vec<std::path::PathBuf>,
}

/// Runs the verb.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`windlass inspect` is not implemented yet")
}
