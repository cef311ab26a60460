//! `windlass deploy FILE... --server URL`: deploys BPMN files to a running
//! server. A file with errors is reported with the diagnostics
//! `windlass validate` prints (`FILE:LINE:COL: error[CODE]: …`) and not
//! deployed; the others are. Exit code 1 when any file was refused.

use crate::client::{ApiFailure, ServerArgs, block_on};
use crate::output::{Format, error_line, outln, print_json};
use anyhow::Context as _;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_scenario::bounded::{BPMN_DOCUMENT, read_bounded};

/// Arguments of `windlass deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BPMN files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = args.server.require("deploy")?;
    block_on(async move {
        let mut refused = false;
        let mut json = Vec::new();
        for file in &args.files {
            let shown = file.display().to_string();
            let bytes = read_bounded(file, BPMN_DOCUMENT).with_context(|| shown.clone())?;
            match client.deploy::<Value>(bytes).await {
                Ok(answer) => {
                    if args.format == Format::Json {
                        json.push(serde_json::json!({"file": shown, "deployed": answer}));
                        continue;
                    }
                    for p in answer["processes"].as_array().into_iter().flatten() {
                        outln!(
                            "deployed {} version {} ({}) from {shown}",
                            p["processId"].as_str().unwrap_or("?"),
                            p["version"],
                            p["key"].as_str().unwrap_or("?")
                        )?;
                    }
                    for d in answer["diagnostics"].as_array().into_iter().flatten() {
                        error_line(&format!("{shown}:{}", d["text"].as_str().unwrap_or("")));
                    }
                }
                Err(e) => {
                    let Some(failure) = e.downcast_ref::<ApiFailure>() else {
                        return Err(e);
                    };
                    refused = true;
                    if args.format == Format::Json {
                        json.push(serde_json::json!({"file": shown, "refused": failure.message, "details": failure.details}));
                        continue;
                    }
                    error_line(&format!("{shown}: not deployed: {}", failure.message));
                    for d in failure.details["diagnostics"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        error_line(&format!("{shown}:{}", d["text"].as_str().unwrap_or("")));
                    }
                }
            }
        }
        if args.format == Format::Json {
            print_json(&json)?;
        }
        Ok(if refused {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}
