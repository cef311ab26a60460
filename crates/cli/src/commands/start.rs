//! `windlass start PROCESS --server URL`: starts an instance on a running
//! server; with `--wait` answers once it has finished or waits for the
//! outside world, with its status (and the exit code of `windlass run`).

use crate::client::{ServerArgs, block_on};
use crate::output::{Format, outln, print_json};
use crate::runtime_glue::{exit_code_for, parse_input};
use serde_json::{Value, json};
use std::process::ExitCode;

/// What a start does when the id already has a live run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// Refuse (the default).
    Reject,
    /// Answer with the live run.
    UseExisting,
    /// Terminate the live run and start a new one.
    TerminateExisting,
}

/// Arguments of `windlass start`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The process id (its latest version) or a definition key.
    pub process: String,
    /// Input variables: a JSON object, or @file.json.
    #[arg(long)]
    pub input: Option<String>,
    /// The instance id (default: the process's template, else generated).
    #[arg(long)]
    pub id: Option<String>,
    /// A business key.
    #[arg(long)]
    pub business_key: Option<String>,
    /// What to do when the id already has a live run.
    #[arg(long, value_enum, default_value_t = OnConflict::Reject)]
    pub on_conflict: OnConflict,
    /// Wait until the instance has finished or waits for the outside world.
    #[arg(long)]
    pub wait: bool,
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = args.server.require("start")?;
    let vars = parse_input(args.input.as_deref())?;
    let on_conflict = match args.on_conflict {
        OnConflict::Reject => "reject",
        OnConflict::UseExisting => "useExisting",
        OnConflict::TerminateExisting => "terminateExisting",
    };
    let body = json!({
        "processId": args.process,
        "variables": vars,
        "instanceId": args.id,
        "businessKey": args.business_key,
        "onConflict": on_conflict,
        "wait": if args.wait { "settled" } else { "none" },
    });
    let answer: Value = block_on(async move { client.post("/instances", &body).await })?;
    let status = answer["status"].as_str().map(str::to_string);
    if args.format == Format::Json {
        print_json(&answer)?;
    } else {
        let id = answer["id"].as_str().unwrap_or("?");
        let run = answer["run"].as_str().unwrap_or("?");
        match &status {
            Some(s) => outln!("instance {id} (run {run}): {s}")?,
            None => outln!("started instance {id} (run {run})")?,
        }
        for i in answer["incidents"].as_array().into_iter().flatten() {
            outln!("  incident: {}", i.as_str().unwrap_or(""))?;
        }
    }
    let code = status
        .as_deref()
        .and_then(|s| crate::commands::instances::parse_status(s).ok())
        .map_or(0, exit_code_for);
    Ok(ExitCode::from(code))
}
