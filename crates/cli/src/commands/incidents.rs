//! `windlass incidents list|retry|skip`: the open incidents of a database
//! (a job failed after its retries; the instance waits for a person), and
//! resolving one: run the job again (`retry`, with `--mock` to bind the
//! task) or complete it with given outputs (`skip --output JSON`).
//!
//! `retry` and `skip` run the instance on the runtime until it settles
//! again, then print where it stands (as `instances show`). Exit codes as
//! for `windlass run`: 0 completed, 1 failed, 3 waiting or in an incident
//! again, 2 error (no such instance or incident), 130 interrupted.

use crate::instance_view;
use crate::mocks::MockTable;
use crate::output::{Format, fit, outln, print_json, write_text};
use crate::runtime_glue::{self, EXIT_INTERRUPTED};
use crate::store_open;
use anyhow::{Context as _, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_engine::IncidentAction;
use windlass_engine::ids::IncidentId;
use windlass_runtime::{Handlers, Runtime, RuntimeOptions, ShutdownSignal};
use windlass_store_any::DbLocation;
use windlass_store_api::{InstanceQuery, InstanceRef, Store};
use windlass_types::Vars;
use windlass_views::{Cursor, IncidentSummary, InstanceView, PageRequest, Views};

/// Arguments of `windlass incidents`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes of retry/skip: 0 the instance completed; 1 it failed; 3 it waits or is in an incident again; 2 error; 130 interrupted."
)]
pub struct Args {
    /// The database file (default: ./windlass.db); it must exist.
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// The cluster of the Kubernetes tasks that retries and later tasks run.
    #[command(flatten)]
    pub cluster: crate::cluster_args::ClusterArgs,
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
    /// Every open incident: instance, incident id, node, attempt, message.
    List {
        /// At most this many instances' incidents.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Run the failed job again (bind its task with --mock).
    Retry {
        /// Instance id.
        instance: String,
        /// Incident id (see `incidents list`).
        incident: u32,
        /// Run id (default: the latest run).
        #[arg(long)]
        run: Option<String>,
        /// Mock a task: TASK=JSON (as for `windlass run`). Repeatable.
        #[arg(long = "mock", value_name = "TASK=JSON")]
        mocks: Vec<String>,
    },
    /// Complete the failed job without running it, with these outputs.
    Skip {
        /// Instance id.
        instance: String,
        /// Incident id (see `incidents list`).
        incident: u32,
        /// The job's output variables: a JSON object (default: none).
        #[arg(long, value_name = "JSON")]
        output: Option<String>,
        /// Run id (default: the latest run).
        #[arg(long)]
        run: Option<String>,
        /// Mock a task: TASK=JSON, for the tasks that follow. Repeatable.
        #[arg(long = "mock", value_name = "TASK=JSON")]
        mocks: Vec<String>,
    },
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = store_open::location(args.db.as_deref());
    match args.what {
        What::List { limit } => list(&path, limit, args.format),
        What::Retry {
            instance,
            incident,
            run,
            mocks,
        } => {
            let target = Target {
                instance,
                run,
                incident,
            };
            let handlers = handlers(&mocks, &args.cluster)?;
            resolve(&path, target, IncidentAction::Retry, handlers, args.format)
        }
        What::Skip {
            instance,
            incident,
            output,
            run,
            mocks,
        } => {
            let outputs = parse_outputs(output.as_deref())?;
            let target = Target {
                instance,
                run,
                incident,
            };
            let action = IncidentAction::Skip(outputs);
            let handlers = handlers(&mocks, &args.cluster)?;
            resolve(&path, target, action, handlers, args.format)
        }
    }
}

/// `--output`: a JSON object.
fn parse_outputs(arg: Option<&str>) -> anyhow::Result<Vars> {
    let Some(text) = arg else {
        return Ok(Vars::new());
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => bail!("--output must be a JSON object, got {other}"),
        Err(e) => bail!("--output: not valid JSON: {e}"),
    }
}

fn list(path: &DbLocation, limit: Option<usize>, format: Format) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = rt.block_on(store_open::open_existing_read_only(path))?;
    let views = Views::new(&store);
    let items = rt.block_on(async {
        let mut items: Vec<IncidentSummary> = Vec::new();
        let mut after: Option<Cursor> = None;
        let mut instances = 0usize;
        loop {
            let want = limit.map_or(windlass_views::MAX_PAGE, |l| {
                l.saturating_sub(instances).min(windlass_views::MAX_PAGE)
            });
            let request = PageRequest {
                after: after.take(),
                limit: Some(want),
            };
            let page = views.incidents(&InstanceQuery::default(), &request).await?;
            instances += want;
            items.extend(page.items);
            match page.next {
                Some(next) if limit.is_none_or(|l| instances < l) => after = Some(next),
                _ => return anyhow::Ok(items),
            }
        }
    })?;
    if format == Format::Json {
        print_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    let wi = items
        .iter()
        .map(|i| i.instance.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("INSTANCE".len(), 40);
    let wn = items
        .iter()
        .map(|i| i.incident.node.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("NODE".len(), 32);
    outln!(
        "{:<wi$}  {:>8}  {:<wn$}  {:>7}  MESSAGE",
        "INSTANCE",
        "INCIDENT",
        "NODE",
        "ATTEMPT"
    )?;
    for i in &items {
        outln!(
            "{:<wi$}  {:>8}  {:<wn$}  {:>7}  {}",
            fit(&i.instance, wi),
            i.incident.incident,
            fit(&i.incident.node, wn),
            i.incident.attempt,
            windlass_types::normalize_whitespace(&i.incident.message)
        )?;
    }
    outln!("{} open incident(s)", items.len())?;
    Ok(ExitCode::SUCCESS)
}

/// Which incident to resolve.
struct Target {
    instance: String,
    run: Option<String>,
    incident: u32,
}

/// The handlers of a resolution: `--mock`s, the built-in and the
/// Kubernetes kinds.
fn handlers(
    mocks: &[String],
    cluster: &crate::cluster_args::ClusterArgs,
) -> anyhow::Result<Handlers> {
    let mocks = MockTable::from_args(mocks)?;
    Ok(runtime_glue::handlers_running(&mocks, &cluster.options()))
}

fn resolve(
    path: &DbLocation,
    target: Target,
    action: IncidentAction,
    handlers: Handlers,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let (rt, signal) = runtime_glue::tokio_with_signals()?;
    store_open::require_existing(path)?;
    let store = rt.block_on(store_open::open_read_write(path))?;
    let Some(view) = rt.block_on(resolve_on(store, target, action, handlers, signal))? else {
        crate::output::error_line("interrupted: the instance's committed progress is kept");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    let code = runtime_glue::exit_code_for(
        crate::commands::instances::parse_status(&view.status).context("the instance's status")?,
    );
    if format == Format::Json {
        print_json(&view)?;
    } else {
        write_text(&instance_view::render_text(&view))?;
    }
    Ok(ExitCode::from(code))
}

/// Resolves the incident on a runtime over `store`, waits until the
/// instance settles, and returns its view; `None` when a signal came first.
async fn resolve_on<S: Store>(
    store: S,
    target: Target,
    action: IncidentAction,
    handlers: Handlers,
    mut signal: ShutdownSignal,
) -> anyhow::Result<Option<InstanceView>> {
    // Only the incident's instance moves: schedules fire under a runtime
    // that keeps running (`recover`), not here.
    let options = RuntimeOptions {
        fire_schedules: false,
        ..RuntimeOptions::default()
    };
    let handle = Runtime::start(options, store, handlers).await?;
    let work = async {
        let views = Views::new(handle.store());
        let row = views.row(&target.instance, target.run.as_deref()).await?;
        let before = views.instance_of(&row).await?;
        if !before
            .incidents
            .iter()
            .any(|i| i.incident == target.incident)
        {
            let open: Vec<String> = before
                .incidents
                .iter()
                .map(|i| i.incident.to_string())
                .collect();
            bail!(
                "instance '{}' run '{}' has no open incident {} (open: {})",
                row.instance.id,
                row.instance.run,
                target.incident,
                if open.is_empty() {
                    "none".to_string()
                } else {
                    open.join(", ")
                }
            );
        }
        let instance: InstanceRef = row.instance.clone();
        let incident = IncidentId(target.incident);
        handle.resolve_incident(&instance, incident, action).await?;
        handle.wait_settled(&instance).await?;
        let after = views
            .row(instance.id.as_str(), Some(instance.run.as_str()))
            .await?;
        anyhow::Ok(views.instance_of(&after).await?)
    };
    let result = tokio::select! {
        r = work => r.map(Some),
        s = signal.recv() => s.map(|()| None).map_err(anyhow::Error::from),
    };
    handle.shutdown().await?;
    result
}
