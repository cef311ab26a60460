//! `windlass validate`.

use std::process::ExitCode;

/// Arguments of `windlass validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BPMN files.
    pub files: Vec<std::path::PathBuf>,
}

/// Runs the verb.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`windlass validate` is not implemented yet")
}
