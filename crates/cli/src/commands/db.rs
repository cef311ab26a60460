//! `windlass db check --db PATH`: verifies a database file (SQLite's
//! integrity check plus the store's consistency rules, see
//! [`windlass_store_sqlite::check`]) and reports what it finds. Read-only:
//! it takes no writer lock and can run beside a writer.
//!
//! Exit codes: 0 clean; 1 problems found; 2 error (no such file, not a
//! Windlass database).

use crate::output::{Format, print_json};
use crate::store_open;
use anyhow::bail;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_engine::codec::decode_event;
use windlass_engine::state::{Held, Wait};
use windlass_engine::{Event, InstanceState, apply};
use windlass_store_sqlite::check::{CheckReport, EventClass, EventRules, check};

/// Arguments of `windlass db`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (default: ./windlass.db).
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub format: Format,
    /// What to do.
    #[command(subcommand)]
    pub what: What,
}

/// The sub-verbs.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Verify the file: integrity, gap-free histories, index against
    /// history, no orphan rows. Exit 0 clean, 1 problems found.
    Check,
}

/// What `db check --format json` prints.
#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    path: &'a str,
    clean: bool,
    instances: u64,
    history_rows: u64,
    events: u64,
    outbox_rows: u64,
    problem_count: u64,
    problems: Vec<ProblemJson<'a>>,
}

#[derive(Debug, Serialize)]
struct ProblemJson<'a> {
    rule: &'a str,
    detail: &'a str,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Check => {
            let path = store_open::db_path(args.db.as_deref());
            if !path.is_file() {
                bail!("no database at {} (give --db PATH)", path.display());
            }
            let report = check(&path, &EngineRules)?;
            print_report(&report, args.format)?;
            Ok(ExitCode::from(u8::from(!report.is_clean())))
        }
    }
}

/// The engine's meaning of encoded events, for the consistency rules.
struct EngineRules;

impl EventRules for EngineRules {
    fn classify(&self, bytes: &[u8]) -> Result<EventClass, String> {
        match decode_event(bytes).map_err(|e| e.to_string())? {
            Event::InstanceStarted { .. } => Ok(EventClass::Started),
            Event::InstanceCompleted
            | Event::InstanceFailed { .. }
            | Event::InstanceTerminated { .. }
            | Event::InstanceCancelled { .. } => Ok(EventClass::Finished),
            _ => Ok(EventClass::Other),
        }
    }

    /// Replays the history (as recovery does) and counts the tokens
    /// waiting for a job that was asked for (a job held while the instance
    /// is suspended has no outbox row yet).
    fn open_jobs(&self, events: &[Vec<u8>]) -> Result<usize, String> {
        let mut state = InstanceState::default();
        for (i, bytes) in events.iter().enumerate() {
            let event = decode_event(bytes).map_err(|e| format!("event {}: {e}", i + 1))?;
            apply(&mut state, &event).map_err(|e| format!("event {}: {e}", i + 1))?;
        }
        Ok(state
            .tokens
            .iter()
            .filter(|t| match t.wait {
                Wait::Job { attempt } => !state.held.iter().any(|h| {
                    matches!(h, Held::Job { key, .. } if key.token == t.id && key.attempt == attempt)
                }),
                _ => false,
            })
            .count())
    }
}

fn print_report(r: &CheckReport, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return print_json(&CheckJson {
            path: &r.path,
            clean: r.is_clean(),
            instances: r.instances,
            history_rows: r.history_rows,
            events: r.events,
            outbox_rows: r.outbox_rows,
            problem_count: r.problem_count,
            problems: r
                .problems
                .iter()
                .map(|p| ProblemJson {
                    rule: p.rule,
                    detail: &p.detail,
                })
                .collect(),
        });
    }
    println!("database: {}", r.path);
    println!(
        "checked:  {} instance(s), {} history row(s) with {} event(s), {} outbox row(s)",
        r.instances, r.history_rows, r.events, r.outbox_rows
    );
    if r.is_clean() {
        println!("result:   clean (integrity check ok, histories and index consistent)");
        return Ok(());
    }
    println!("result:   {} problem(s)", r.problem_count);
    for p in &r.problems {
        println!("  [{}] {}", p.rule, p.detail);
    }
    let unlisted = r.problem_count.saturating_sub(r.problems.len() as u64);
    if unlisted > 0 {
        println!("  ... and {unlisted} more");
    }
    Ok(())
}
