//! `windlass schedules [list|pause|resume|trigger ID]` and `windlass dedup`
//! against a running server.

use crate::client::{ServerArgs, block_on, segment};
use crate::output::{Format, fit, outln, print_json};
use serde_json::Value;
use std::process::ExitCode;

/// Arguments of `windlass schedules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do (default: list).
    #[command(subcommand)]
    pub what: Option<What>,
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub format: Format,
}

/// The sub-verbs.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// List every schedule with its next fire time.
    List,
    /// Pause a schedule.
    Pause {
        /// The schedule id (`process/startEvent`).
        id: String,
    },
    /// Resume a paused schedule.
    Resume {
        /// The schedule id.
        id: String,
    },
    /// Fire a schedule now.
    Trigger {
        /// The schedule id.
        id: String,
    },
}

/// Runs `windlass schedules`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = args.server.require("schedules")?;
    let (op, id) = match args.what.unwrap_or(What::List) {
        What::List => {
            let list: Vec<Value> = block_on(async move { client.get("/schedules").await })?;
            if args.format == Format::Json {
                print_json(&list)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("{:<40}  {:<6}  {:<26}  TIMING", "ID", "PAUSED", "NEXT FIRE")?;
            for s in &list {
                outln!(
                    "{:<40}  {:<6}  {:<26}  {}",
                    fit(s["id"].as_str().unwrap_or("?"), 40),
                    if s["paused"] == true { "yes" } else { "no" },
                    s["nextFireAt"].as_str().unwrap_or("never"),
                    s["timing"].as_str().unwrap_or("")
                )?;
            }
            outln!("{} schedule(s)", list.len())?;
            return Ok(ExitCode::SUCCESS);
        }
        What::Pause { id } => ("pause", id),
        What::Resume { id } => ("resume", id),
        What::Trigger { id } => ("trigger", id),
    };
    let path = format!("/schedules/{}/{op}", segment(&id));
    let answer: Value = block_on(async move { client.post(&path, &serde_json::json!({})).await })?;
    if args.format == Format::Json {
        print_json(&answer)?;
    } else {
        let done = match op {
            "pause" => "paused",
            "resume" => "resumed",
            _ => "triggered",
        };
        outln!("{done} schedule {id}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `windlass dedup`.
#[derive(Debug, clap::Args)]
pub struct DedupArgs {
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `windlass dedup`: every dedup key with its holder and the start
/// waiting for it.
pub fn dedup(args: DedupArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.require("dedup")?;
    let list: Vec<Value> = block_on(async move { client.get("/dedup").await })?;
    if args.format == Format::Json {
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{:<40}  {:<40}  WAITING", "KEY", "HOLDER")?;
    for d in &list {
        outln!(
            "{:<40}  {:<40}  {}",
            fit(d["key"].as_str().unwrap_or("?"), 40),
            fit(d["holder"].as_str().unwrap_or("-"), 40),
            d["waiting"].as_str().unwrap_or("-")
        )?;
    }
    outln!("{} key(s)", list.len())?;
    Ok(ExitCode::SUCCESS)
}
