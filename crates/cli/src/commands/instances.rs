//! `windlass instances list|show ID|history ID`: read instances from a
//! database file (read-only; the file is never created or changed). The
//! views come from the `windlass-views` crate; this verb only opens the
//! store and renders them.

use crate::history_view;
use crate::instance_view;
use crate::output::{Format, fit, outln, print_json, write_text};
use crate::store_open;
use anyhow::anyhow;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_store_api::{InstanceQuery, InstanceStatus};
use windlass_views::{Cursor, InstanceSummary, Page, Views};

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
    let path = store_open::db_path(args.db.as_deref());
    let store = store_open::open_existing_read_only(&path)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let views = Views::new(&store);
    rt.block_on(async move {
        match args.what {
            What::List {
                status,
                definition,
                business_key,
                limit,
                after,
            } => {
                let status = status.as_deref().map(parse_status).transpose()?;
                let after = after.as_deref().map(Cursor::parse).transpose()?;
                let filter = InstanceQuery {
                    status,
                    definition_key: definition,
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
