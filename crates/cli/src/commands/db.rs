//! `windlass db`: the database itself.
//!
//! - `db check --db PATH`: verifies a SQLite database file (SQLite's
//!   integrity check plus the store's consistency rules, see
//!   [`windlass_store_sqlite::check`]) and reports what it finds.
//!   Read-only: it takes no writer lock and can run beside a writer. Exit
//!   codes: 0 clean; 1 problems found; 2 error (no such file, not a Windlass
//!   database). On PostgreSQL the same consistency rules run over one
//!   snapshot (PostgreSQL's own page checks are the server's business).
//! - `db migrate --db PATH|URL`: brings the schema to this build's version
//!   (SQLite file or PostgreSQL database; an empty one gets the whole
//!   schema) and says from which version. It takes the writer lock, so it
//!   waits for no writer: stop the server first.

use crate::output::{Format, print_json};
use crate::store_open;
use anyhow::{Context as _, bail};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_engine::codec::decode_event;
use windlass_engine::state::{Held, Wait};
use windlass_engine::{Event, InstanceState, apply};
use windlass_store_any::{AnyStore, DbLocation};
use windlass_store_api::StoreError;
use windlass_store_sqlite::check::{CheckReport, EventClass, EventRules, check};
use windlass_store_sqlite::schema as sqlite_schema;
use windlass_store_sqlite::{SqliteOptions, SqliteStore};

/// Arguments of `windlass db`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database: a SQLite file or a `postgres://` URL (default:
    /// `WINDLASS_DB`, else ./windlass.db).
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
    /// Bring the schema to this build's version (creating it in an empty
    /// database).
    Migrate,
}

/// What `db migrate --format json` prints.
#[derive(Debug, Serialize)]
struct MigrateJson {
    database: String,
    backend: &'static str,
    from_version: i64,
    to_version: i64,
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
    let db = store_open::location(args.db.as_deref());
    match args.what {
        What::Check => {
            store_open::require_existing(&db)?;
            let Some(path) = db.sqlite_path() else {
                return check_postgres(&db, args.format);
            };
            let report = check(path, &EngineRules)?;
            print_report(&report, args.format, true)?;
            Ok(ExitCode::from(u8::from(!report.is_clean())))
        }
        What::Migrate => migrate(&db, args.format),
    }
}

/// `db migrate`.
fn migrate(db: &DbLocation, format: Format) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (backend, from, to) = match db {
        DbLocation::Sqlite(path) => {
            // The version before: a read-only open says it (or that it
            // needs migrating); a missing file has none.
            let from = if path.is_file() {
                let mut opts = SqliteOptions::new(path);
                opts.read_only = true;
                match SqliteStore::open_with(opts) {
                    Ok(_) => sqlite_schema::SCHEMA_VERSION,
                    Err(StoreError::NeedsMigration { found, .. }) => found,
                    Err(e) => return Err(e).with_context(|| format!("opening {db}")),
                }
            } else {
                0
            };
            rt.block_on(store_open::open_read_write(db))?;
            ("sqlite", from, sqlite_schema::SCHEMA_VERSION)
        }
        DbLocation::Postgres(_) => {
            let AnyStore::Postgres(store) = rt.block_on(store_open::open_read_write(db))? else {
                bail!("{db}: expected a PostgreSQL store");
            };
            let state = store.schema_state();
            ("postgres", state.found, state.now)
        }
    };
    if format == Format::Json {
        print_json(&MigrateJson {
            database: db.to_string(),
            backend,
            from_version: from,
            to_version: to,
        })?;
    } else if from == to {
        println!("{db}: schema at version {to}, nothing to migrate");
    } else {
        println!("{db}: schema migrated from version {from} to {to}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `db check` on PostgreSQL: the consistency rules over one snapshot (the
/// schema's version is checked on connecting).
fn check_postgres(db: &DbLocation, format: Format) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let AnyStore::Postgres(store) = rt.block_on(store_open::open_existing_read_only(db))? else {
        bail!("{db}: expected a PostgreSQL store");
    };
    let report = rt.block_on(store.check(&EngineRules))?;
    print_report(&report, format, false)?;
    Ok(ExitCode::from(u8::from(!report.is_clean())))
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

    /// A call activity's pending child start names its child before the
    /// child exists.
    fn creates_its_instance(&self, kind: &str) -> bool {
        windlass_runtime::creates_its_instance(kind)
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

/// Prints `r`; `integrity` says whether the backend's own integrity check
/// ran (SQLite's).
fn print_report(r: &CheckReport, format: Format, integrity: bool) -> anyhow::Result<()> {
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
        if integrity {
            println!("result:   clean (integrity check ok, histories and index consistent)");
        } else {
            println!("result:   clean (histories and index consistent)");
        }
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
