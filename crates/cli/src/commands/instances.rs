//! `windlass instances list|show ID|history ID`: read instances from a
//! database file (read-only; the file is never created or changed).

use crate::history_view::Recorded;
use crate::instance_view;
use crate::output::{Format, print_json};
use crate::store_open;
use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use windlass_engine::Event;
use windlass_engine::replay::decode_stored;
use windlass_model::ProcessGraph;
use windlass_store_api::{
    DefinitionRead, HistoryRead, InstanceId, InstanceIndex, InstanceQuery, InstanceRow,
    InstanceStatus,
};
use windlass_store_sqlite::SqliteStore;

/// Arguments of `windlass instances`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (default: ./windlass.db).
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub format: Format,
    /// What to show.
    #[command(subcommand)]
    pub what: What,
}

/// The sub-verbs.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// List instances, oldest first.
    List {
        /// Only this status (running, incident, completed, terminated, cancelled, failed).
        #[arg(long)]
        status: Option<String>,
        /// Only this definition key.
        #[arg(long)]
        definition: Option<String>,
        /// Only this business key.
        #[arg(long)]
        business_key: Option<String>,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Where an instance is now: tokens, open jobs, incidents, variables.
    Show {
        /// Instance id.
        id: String,
        /// Run id (default: the latest run).
        #[arg(long)]
        run: Option<String>,
    },
    /// The story of an instance, event by event.
    History {
        /// Instance id.
        id: String,
        /// Run id (default: the latest run).
        #[arg(long)]
        run: Option<String>,
    },
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = store_open::db_path(args.db.as_deref());
    let store = store_open::open_existing_read_only(&path)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match args.what {
            What::List {
                status,
                definition,
                business_key,
                limit,
            } => {
                let status = status.as_deref().map(parse_status).transpose()?;
                let query = InstanceQuery {
                    status,
                    definition_key: definition,
                    business_key,
                    limit,
                    ..Default::default()
                };
                list(&store, &query, args.format).await
            }
            What::Show { id, run } => show(&store, &id, run.as_deref(), args.format).await,
            What::History { id, run } => history(&store, &id, run.as_deref(), args.format).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn parse_status(s: &str) -> anyhow::Result<InstanceStatus> {
    InstanceStatus::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| {
            let all: Vec<_> = InstanceStatus::ALL.iter().map(|s| s.as_str()).collect();
            anyhow!("unknown status '{s}'; one of: {}", all.join(", "))
        })
}

/// One row of `list --format json`.
#[derive(Debug, Serialize)]
struct RowJson<'a> {
    id: &'a str,
    run: &'a str,
    status: &'a str,
    definition: &'a str,
    business_key: Option<&'a str>,
    parent: Option<String>,
    created_at: String,
    updated_at: String,
    events: u64,
}

fn row_json(r: &InstanceRow) -> RowJson<'_> {
    RowJson {
        id: r.instance.id.as_str(),
        run: r.instance.run.as_str(),
        status: r.status.as_str(),
        definition: &r.definition_key,
        business_key: r.business_key.as_deref(),
        parent: r
            .parent
            .as_ref()
            .map(|p| format!("{}/{}", p.id.as_str(), p.run.as_str())),
        created_at: crate::time_text::iso(r.created_at.0),
        updated_at: crate::time_text::iso(r.updated_at.0),
        events: r.last_seq,
    }
}

async fn list(store: &SqliteStore, query: &InstanceQuery, format: Format) -> anyhow::Result<()> {
    let rows = store.query_instances(query).await?;
    if format == Format::Json {
        let out: Vec<_> = rows.iter().map(row_json).collect();
        return print_json(&out);
    }
    let rows: Vec<RowJson<'_>> = rows.iter().map(row_json).collect();
    let width = |f: &dyn Fn(&RowJson<'_>) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let wi = width(&|r| r.id.len(), "ID");
    let wd = width(&|r| r.definition.len(), "DEFINITION");
    let wb = width(&|r| r.business_key.map_or(1, str::len), "BUSINESS KEY");
    println!(
        "{:<wi$}  {:<10}  {:<wd$}  {:<wb$}  {:>7}  CREATED",
        "ID", "STATUS", "DEFINITION", "BUSINESS KEY", "EVENTS"
    );
    for j in &rows {
        println!(
            "{:<wi$}  {:<10}  {:<wd$}  {:<wb$}  {:>7}  {}",
            j.id,
            j.status,
            j.definition,
            j.business_key.unwrap_or("-"),
            j.events,
            j.created_at
        );
    }
    println!("{} instance(s)", rows.len());
    Ok(())
}

/// The row of `id` (the given run, or the latest).
async fn find_row(store: &SqliteStore, id: &str, run: Option<&str>) -> anyhow::Result<InstanceRow> {
    let query = InstanceQuery {
        id: Some(InstanceId::new(id)),
        ..Default::default()
    };
    let rows = store.query_instances(&query).await?;
    let row = match run {
        Some(r) => rows.into_iter().find(|row| row.instance.run.as_str() == r),
        None => rows.into_iter().last(),
    };
    row.ok_or_else(|| match run {
        Some(r) => anyhow!("no instance '{id}' with run '{r}' in the database"),
        None => anyhow!("no instance '{id}' in the database"),
    })
}

/// Decoded history of a row, with each event's sequence number and time.
async fn recorded_of(store: &SqliteStore, row: &InstanceRow) -> anyhow::Result<Vec<Recorded>> {
    let stored = store.history(&row.instance).await?;
    stored
        .into_iter()
        .map(|e| {
            let event = decode_stored(e.seq, &e.payload).with_context(|| {
                format!("history of {} cannot be decoded", row.instance.id.as_str())
            })?;
            Ok(Recorded {
                seq: e.seq,
                recorded_at: e.recorded_at,
                event,
            })
        })
        .collect()
}

/// Decoded history of a row.
async fn events_of(store: &SqliteStore, row: &InstanceRow) -> anyhow::Result<Vec<Event>> {
    Ok(recorded_of(store, row)
        .await?
        .into_iter()
        .map(|r| r.event)
        .collect())
}

/// The process graph the row's definition key names, when it is stored.
async fn graph_of(
    store: &SqliteStore,
    row: &InstanceRow,
) -> anyhow::Result<Option<Arc<ProcessGraph>>> {
    let Some(def) = store.definition(&row.definition_key).await? else {
        return Ok(None);
    };
    let outcome = windlass_model::load(&def.source);
    Ok(outcome
        .definitions
        .and_then(|d| d.process(&def.process_id).cloned()))
}

async fn show(
    store: &SqliteStore,
    id: &str,
    run: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let row = find_row(store, id, run).await?;
    let events = events_of(store, &row).await?;
    let state = windlass_engine::replay(&events)
        .map_err(|e| anyhow!("history of {id} does not replay: {e}"))?;
    let graph = graph_of(store, &row).await?;
    let view = instance_view::build(&row, &state, &events, graph.as_deref());
    if format == Format::Json {
        return print_json(&view);
    }
    print!("{}", instance_view::render_text(&view));
    Ok(())
}

async fn history(
    store: &SqliteStore,
    id: &str,
    run: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let row = find_row(store, id, run).await?;
    let events = recorded_of(store, &row).await?;
    let Some(graph) = graph_of(store, &row).await? else {
        bail!(
            "the definition '{}' of instance {id} is not in the database",
            row.definition_key
        );
    };
    crate::history_view::print(&row, &events, &graph, format)
}
