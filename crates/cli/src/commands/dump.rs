//! `windlass dump [--server URL | --db PATH]`: the whole live state in
//! readable form (or JSON): every unfinished instance with its tokens and
//! what each waits for, open jobs with their age, timers with due times,
//! kept signals, incidents, buffered messages, dedup keys, and — from a
//! running server — its queues. The tool for "why is nothing happening?".

use crate::client::{ServerArgs, block_on};
use crate::output::{Format, print_json, write_text};
use crate::store_open;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_server::api::dump::ServerDump;
use windlass_views::Views;

/// Arguments of `windlass dump`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read a database file (default: ./windlass.db) instead of a server.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// At most this many unfinished instances.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dump: ServerDump = match args.server.client()? {
        Some(client) => {
            if args.db.is_some() {
                anyhow::bail!("give --db or --server, not both");
            }
            let q = [("limit", args.limit.to_string())];
            block_on(async move { client.get_query("/dump", &q).await })?
        }
        None => {
            let db = store_open::location(args.db.as_deref());
            let now = windlass_types::clock::Clock::now(&windlass_types::clock::SystemClock);
            let state = block_on(async {
                let store = store_open::open_existing_read_only(&db).await?;
                Ok(Views::new(&store).dump(now, args.limit).await?)
            })?;
            ServerDump {
                state,
                runtime: None,
            }
        }
    };
    if args.format == Format::Json {
        print_json(&dump)?;
    } else {
        write_text(&crate::dump_view::render_text(&dump))?;
    }
    Ok(ExitCode::SUCCESS)
}
