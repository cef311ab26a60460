//! `windlass instances list|show ID|history ID`: read instances from a
//! database file (read-only; the file is never created or changed). The
//! views come from the `windlass-views` crate; this verb only opens the
//! store and renders them.

use crate::client::{Client, ServerArgs, segment};
use crate::history_view;
use crate::instance_view;
use crate::output::{Format, fit, outln, print_json, write_text};
use crate::store_open;
use anyhow::anyhow;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_store_api::{InstanceQuery, InstanceStatus};
use windlass_views::{Cursor, HistoryView, InstanceSummary, InstanceView, MAX_PAGE, Page, Views};

/// Arguments of `windlass instances`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file (default: ./windlass.db); not with --server.
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// Read from a running server instead of a database file.
    #[command(flatten)]
    pub server: ServerArgs,
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
        /// Only this definition key (a database file only).
        #[arg(long)]
        definition: Option<String>,
        /// Only instances of this process id (any version).
        #[arg(long)]
        process: Option<String>,
        /// Only instances whose id starts with this.
        #[arg(long)]
        id_prefix: Option<String>,
        /// Only this business key.
        #[arg(long)]
        business_key: Option<String>,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<usize>,
        /// Continue behind this row: the `cursor` of a listed row (the
        /// text listing prints the one to continue with).
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
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
    if let Some(client) = args.server.client()? {
        if args.db.is_some() {
            anyhow::bail!("give --db or --server, not both");
        }
        return crate::client::block_on(remote(client, args.what, args.format));
    }
    let db = store_open::location(args.db.as_deref());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = rt.block_on(store_open::open_existing_read_only(&db))?;
    let views = Views::new(&store);
    rt.block_on(async move {
        match args.what {
            What::List {
                status,
                definition,
                process,
                id_prefix,
                business_key,
                limit,
                after,
            } => {
                let status = status.as_deref().map(parse_status).transpose()?;
                let after = after.as_deref().map(Cursor::parse).transpose()?;
                let filter = InstanceQuery {
                    status,
                    definition_key: definition,
                    definition_prefix: process.map(|p| format!("{p}:")),
                    id_prefix,
                    business_key,
                    ..Default::default()
                };
                let page = views.list_up_to(&filter, after, limit).await?;
                print_list(&page, args.format)
            }
            What::Show { id, run } => {
                let view = views.instance(&id, run.as_deref()).await?;
                if args.format == Format::Json {
                    return print_json(&view);
                }
                write_text(&instance_view::render_text(&view))?;
                Ok(())
            }
            What::History { id, run } => {
                let view = views.history(&id, run.as_deref()).await?;
                history_view::print(&view, args.format)
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The verb against a server: the same views, read through the API page
/// by page, rendered by the same code.
async fn remote(client: Client, what: What, format: Format) -> anyhow::Result<ExitCode> {
    match what {
        What::List {
            status,
            definition,
            process,
            id_prefix,
            business_key,
            limit,
            after,
        } => {
            if definition.is_some() {
                anyhow::bail!("--definition reads a database file; with --server use --process");
            }
            let mut query: Vec<(&str, String)> = Vec::new();
            let set = |q: &mut Vec<(&str, String)>, k, v: Option<String>| {
                if let Some(v) = v {
                    q.push((k, v));
                }
            };
            set(&mut query, "status", status);
            set(&mut query, "processId", process);
            set(&mut query, "idPrefix", id_prefix);
            set(&mut query, "businessKey", business_key);
            let mut items = Vec::new();
            let mut after = after;
            let next = loop {
                let want = limit.map_or(MAX_PAGE, |l| l.saturating_sub(items.len()).min(MAX_PAGE));
                let mut q = query.clone();
                q.push(("limit", want.to_string()));
                if let Some(a) = &after {
                    q.push(("after", a.clone()));
                }
                let page: Page<InstanceSummary> = client.get_query("/instances", &q).await?;
                items.extend(page.items);
                match page.next {
                    Some(n) if limit.is_none_or(|l| items.len() < l) => after = Some(n.token()),
                    n => break n,
                }
            };
            print_list(&Page { items, next }, format)?;
        }
        What::Show { id, run } => {
            let mut q = Vec::new();
            if let Some(r) = run {
                q.push(("run", r));
            }
            let view: InstanceView = client
                .get_query(&format!("/instances/{}", segment(&id)), &q)
                .await?;
            if format == Format::Json {
                print_json(&view)?;
            } else {
                write_text(&instance_view::render_text(&view))?;
            }
        }
        What::History { id, run } => {
            let path = format!("/instances/{}/history", segment(&id));
            let mut after = 0u64;
            let mut whole: Option<HistoryView> = None;
            loop {
                let mut q = vec![
                    ("after", after.to_string()),
                    ("limit", MAX_PAGE.to_string()),
                ];
                if let Some(r) = &run {
                    q.push(("run", r.clone()));
                }
                let page: HistoryView = client.get_query(&path, &q).await?;
                let next = page.next_after;
                match &mut whole {
                    Some(w) => w.events.extend(page.events),
                    None => whole = Some(page),
                }
                match next {
                    Some(n) => after = n,
                    None => break,
                }
            }
            if let Some(mut view) = whole {
                view.next_after = None;
                history_view::print(&view, format)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses a `--status` word.
pub fn parse_status(s: &str) -> anyhow::Result<InstanceStatus> {
    InstanceStatus::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| {
            let all: Vec<_> = InstanceStatus::ALL.iter().map(|s| s.as_str()).collect();
            anyhow!("unknown status '{s}'; one of: {}", all.join(", "))
        })
}

/// The widest a text column gets; longer values are cut with an ellipsis.
const MAX_COLUMN: usize = 40;

fn print_list(page: &Page<InstanceSummary>, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return print_json(&page.items);
    }
    let rows = &page.items;
    let width = |f: &dyn Fn(&InstanceSummary) -> usize, title: &str| {
        rows.iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .clamp(title.len(), MAX_COLUMN)
    };
    let wi = width(&|r| r.id.chars().count(), "ID");
    let wd = width(&|r| r.definition.chars().count(), "DEFINITION");
    let wb = width(
        &|r| r.business_key.as_deref().map_or(1, |b| b.chars().count()),
        "BUSINESS KEY",
    );
    outln!(
        "{:<wi$}  {:<10}  {:<wd$}  {:<wb$}  {:>7}  CREATED",
        "ID",
        "STATUS",
        "DEFINITION",
        "BUSINESS KEY",
        "EVENTS"
    )?;
    for r in rows {
        outln!(
            "{:<wi$}  {:<10}  {:<wd$}  {:<wb$}  {:>7}  {}",
            fit(&r.id, wi),
            r.status,
            fit(&r.definition, wd),
            fit(r.business_key.as_deref().unwrap_or("-"), wb),
            r.events,
            r.created_at
        )?;
    }
    outln!("{} instance(s)", rows.len())?;
    if let Some(next) = &page.next {
        outln!("more: continue with --after {}", next.token())?;
    }
    Ok(())
}
