//! `windlass run FILE...`: deploys the files (a folder stands for its
//! `*.bpmn` files) and runs one instance of the process named by
//! `--process` (else the first executable process of the first file) on the
//! runtime (SQLite file or memory) to completion or to its first wait
//! state; call activities find their callees in any of the files. Then it
//! prints the
//! instance id, status, executed tasks and final variables. It runs only
//! its own instance: other unfinished instances in the file are left to
//! `windlass recover`. It holds the database's writer lock while it runs.
//!
//! It returns as soon as nothing in the instance tree can move: the instance
//! and every running child of its call activities wait for the outside
//! world. `executed` counts the tasks of called processes too, and their
//! open incidents are listed (prefixed with the child's instance id).
//!
//! Exit codes: 0 completed; 1 failed (or terminated / cancelled); 3 waiting
//! (a person, an external worker) or an incident anywhere in the instance
//! tree (e.g. "no handler");
//! 2 bad input; 130 interrupted by SIGINT / SIGTERM.

use crate::mocks::MockTable;
use crate::output::{Format, outln, print_json};
use crate::runtime_glue::{self, EXIT_INTERRUPTED};
use crate::store_open;
use anyhow::Context as _;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_runtime::{
    Handlers, InstanceOutcome, OnConflict, Runtime, RuntimeError, RuntimeOptions, ShutdownSignal,
    StartRequest,
};
use windlass_scenario::load_set::load_set;
use windlass_store_api::Store;
use windlass_store_memory::MemoryStore;
use windlass_types::Vars;

/// Arguments of `windlass run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 completed; 1 failed (or terminated/cancelled); 3 waiting or in an incident; 2 bad input or error; 130 interrupted by SIGINT/SIGTERM (committed progress is kept)."
)]
pub struct Args {
    /// The BPMN files deployed together (a folder: its `*.bpmn` files); the
    /// process runs from the first one unless `--process` names another.
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// The process to run, from whichever file has it (default: the first
    /// executable process of the first file).
    #[arg(long)]
    pub process: Option<String>,
    /// Initial variables: a JSON object, or @file.json.
    #[arg(long)]
    pub input: Option<String>,
    /// The database file (default: ./windlass.db, created if missing).
    #[arg(long, conflicts_with = "memory")]
    pub db: Option<PathBuf>,
    /// With --db: when another process writes the database, wait up to this many
    /// seconds for it to finish (default: fail at once, naming it).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_lock: u64,
    /// Keep everything in memory (nothing is written to disk).
    #[arg(long)]
    pub memory: bool,
    /// Mock a task: TASK=JSON, TASK an element id or task name (split at the
    /// last `=` before a JSON value), JSON {"output":{..}}, {"error":"CODE"}
    /// or an object of outputs without the keys "output" and "error". Repeatable.
    #[arg(long = "mock", value_name = "TASK=JSON")]
    pub mocks: Vec<String>,
    /// The cluster of the Kubernetes tasks.
    #[command(flatten)]
    pub cluster: crate::cluster_args::ClusterArgs,
    /// The instance id (default: the process's windlass:instanceId template
    /// rendered from --input, else a generated UUID).
    #[arg(long, visible_alias = "instance-id")]
    pub id: Option<String>,
    /// When the instance id already has a running instance in the database:
    /// reject (exit 2, naming it), use-existing (report that instance) or
    /// terminate-existing (terminate it and start a new run).
    #[arg(long, value_enum, default_value_t = OnConflictArg::Reject)]
    pub on_conflict: OnConflictArg,
    /// A business key for look-ups.
    #[arg(long)]
    pub business_key: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--on-conflict`: the runtime's [`OnConflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflictArg {
    /// Refuse the start.
    Reject,
    /// Report the running instance instead of starting one.
    UseExisting,
    /// Terminate the running instance, then start a new run.
    TerminateExisting,
}

impl From<OnConflictArg> for OnConflict {
    fn from(a: OnConflictArg) -> Self {
        match a {
            OnConflictArg::Reject => OnConflict::Reject,
            OnConflictArg::UseExisting => OnConflict::UseExisting,
            OnConflictArg::TerminateExisting => OnConflict::TerminateExisting,
        }
    }
}

/// What `run` prints with `--format json`.
#[derive(Debug, Serialize)]
struct RunJson<'a> {
    instance: &'a str,
    run: &'a str,
    status: &'static str,
    executed: &'a BTreeMap<String, u32>,
    variables: &'a Vars,
    incidents: &'a [String],
    failure: Option<&'a str>,
    db: Option<String>,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (rt, mut signal) = runtime_glue::tokio_with_signals()?;
    check_ids(&args)?;
    let set = load_set(&args.files, args.process.as_deref())?;
    let mocks = MockTable::from_args(&args.mocks)?;
    let handlers = runtime_glue::handlers_running(&mocks, &args.cluster.options());
    let documents = set.documents();
    mocks
        .check_used(&documents)
        .map_err(|e| anyhow::anyhow!("--mock: {}: {e}", set.main_path.display()))?;
    let vars = runtime_glue::parse_input(args.input.as_deref())?;
    // The other files first, the process's own last: its document's
    // processes are then the latest versions.
    let xmls: Vec<String> = set
        .others
        .iter()
        .map(|(_, d)| d.xml().to_string())
        .chain(std::iter::once(set.main.definitions.xml().to_string()))
        .collect();
    let process_id = set.main.graph.id.clone();
    let db = (!args.memory).then(|| store_open::location(args.db.as_deref()));
    let req = StartRequest {
        definition: process_id,
        vars,
        instance_id: args.id.clone(),
        business_key: args.business_key.clone(),
        on_conflict: args.on_conflict.into(),
        start_event: None,
    };
    let outcome = match &db {
        Some(path) => {
            match rt.block_on(store_open::open_writer(
                path,
                args.wait_for_lock,
                &mut signal,
            ))? {
                Some(store) => rt.block_on(run_on(store, &xmls, req, handlers, signal))?,
                None => {
                    eprintln!("interrupted while waiting for the database's writer lock");
                    return Ok(ExitCode::from(EXIT_INTERRUPTED));
                }
            }
        }
        None => rt.block_on(run_on(MemoryStore::new(), &xmls, req, handlers, signal))?,
    };
    let Some(outcome) = outcome else {
        crate::output::error_line("interrupted: the instance's committed progress is kept");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    print_outcome(&outcome, db.map(|d| d.to_string()), args.format)?;
    Ok(ExitCode::from(runtime_glue::exit_code_for(outcome.status)))
}

/// `--id` and `--business-key` within their length limits, checked before
/// anything is opened or written.
fn check_ids(args: &Args) -> anyhow::Result<()> {
    if let Some(id) = &args.id {
        windlass_types::limits::check_instance_id(id).context("--id")?;
    }
    if let Some(key) = &args.business_key {
        windlass_types::limits::check_business_key(key).context("--business-key")?;
    }
    Ok(())
}

/// Deploys, starts and waits; `None` when a signal came first.
async fn run_on<S: Store>(
    store: S,
    xmls: &[String],
    mut req: StartRequest,
    handlers: Handlers,
    mut signal: ShutdownSignal,
) -> anyhow::Result<Option<InstanceOutcome>> {
    // Only this instance runs: other unfinished instances of the file are
    // `windlass recover`'s job, and schedules (timer start events, cron
    // sources) are written by the deployment but not fired.
    let options = RuntimeOptions {
        resume_unfinished: false,
        fire_schedules: false,
        ..RuntimeOptions::default()
    };
    let handle = Runtime::start(options, store, handlers).await?;
    let work = async {
        let mut deployment = None;
        for xml in xmls {
            deployment = Some(handle.deploy(xml).await?);
        }
        let deployment = deployment.context("no file to deploy")?;
        if let Some((_, key, _)) = deployment
            .processes
            .iter()
            .find(|(p, _, _)| *p == req.definition)
        {
            req.definition = key.clone();
        }
        let instance = handle.start_instance(req).await.map_err(|e| match e {
            RuntimeError::InstanceExists(_) => anyhow::anyhow!(
                "{e} (--on-conflict use-existing reports it, terminate-existing replaces it)"
            ),
            e => e.into(),
        })?;
        // Settled means nothing in the instance tree can move (a child's
        // incident or wait included); the outcome counts the called
        // processes' tasks as `windlass test` does.
        handle.wait_settled_through_timers(&instance).await?;
        anyhow::Ok(handle.outcome_with_children(&instance).await?)
    };
    let result = tokio::select! {
        r = work => r.map(Some),
        s = signal.recv() => s.map(|()| None).map_err(anyhow::Error::from),
    };
    handle.shutdown().await?;
    result
}

fn print_outcome(o: &InstanceOutcome, db: Option<String>, format: Format) -> anyhow::Result<()> {
    let status = runtime_glue::status_word(o.status);
    // Shown to a person (or a script's log): secret names masked, as in
    // every view of instance data.
    let variables = windlass_engine::secret_names::mask_vars(&o.variables);
    if format == Format::Json {
        return print_json(&RunJson {
            instance: o.instance.id.as_str(),
            run: o.instance.run.as_str(),
            status,
            executed: &o.executed,
            variables: &variables,
            incidents: &o.incidents,
            failure: o.failure.as_deref(),
            db,
        });
    }
    outln!("instance: {}", o.instance.id.as_str())?;
    outln!("status:   {status}")?;
    if let Some(f) = &o.failure {
        outln!("failure:  {f}")?;
    }
    for i in &o.incidents {
        outln!("incident: {i}")?;
    }
    outln!("executed:")?;
    if o.executed.is_empty() {
        outln!("  (no task completed)")?;
    }
    for (name, count) in &o.executed {
        outln!("  {count:>4}  {name}")?;
    }
    let vars = serde_json::to_string_pretty(&serde_json::Value::Object(variables))?;
    outln!("variables:")?;
    for line in vars.lines() {
        outln!("  {line}")?;
    }
    if let Some(db) = db {
        outln!(
            "stored in: {db} (see `windlass instances show {} --db {db}`)",
            o.instance.id.as_str()
        )?;
    }
    Ok(())
}
