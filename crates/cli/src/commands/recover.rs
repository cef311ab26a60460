//! `windlass recover --db PATH`: opens a database, resumes every unfinished
//! instance (pending jobs are dispatched again), fires the schedules that
//! fell due while nothing ran (once each, see `docs/runtime.md`,
//! Schedules), runs the resumed instances to completion or to a wait
//! state, and prints a summary. Exit code: the worst status, as
//! for `windlass run` (0 all completed, 1 any failed or not resumable,
//! 3 any waiting or in an incident, 130 interrupted).

use crate::mocks::MockTable;
use crate::output::{Format, outln, print_json};
use crate::runtime_glue::{self, EXIT_FAILED, EXIT_INTERRUPTED};
use crate::store_open;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use windlass_runtime::{Handlers, Runtime, RuntimeOptions, ShutdownSignal};
use windlass_store_any::AnyStore;
use windlass_store_api::{
    InstanceIndex, InstanceQuery, InstanceRef, InstanceStatus, ScheduleRead, Timestamp,
};

/// Arguments of `windlass recover`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 all resumed instances completed; 1 any failed or could not be resumed; 3 any waiting or in an incident; 2 error; 130 interrupted."
)]
pub struct Args {
    /// The database file (default: ./windlass.db); it must exist.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// When another process writes the database, wait up to this many
    /// seconds for it to finish (default: fail at once, naming it).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_lock: u64,
    /// Mock a task: TASK=JSON (as for `windlass run`). Repeatable.
    #[arg(long = "mock", value_name = "TASK=JSON")]
    pub mocks: Vec<String>,
    /// The cluster of the Kubernetes tasks.
    #[command(flatten)]
    pub cluster: crate::cluster_args::ClusterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The summary.
#[derive(Debug, Default, Serialize)]
struct Summary {
    /// Unfinished instances resumed.
    recovered: usize,
    /// Pending outbox rows (jobs, child starts) dispatched again.
    redispatched: usize,
    /// Instances that could not be resumed, with why.
    skipped: Vec<String>,
    /// Recovery time in milliseconds.
    recovery_ms: f64,
    /// Status of the resumed instances afterwards → count.
    after: BTreeMap<&'static str, usize>,
    /// Schedules that fired on start (missed fires caught up).
    schedules_fired: usize,
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (rt, mut signal) = runtime_glue::tokio_with_signals()?;
    let db = store_open::location(args.db.as_deref());
    store_open::require_existing(&db)?;
    let mocks = MockTable::from_args(&args.mocks)?;
    let store = rt.block_on(store_open::open_writer(
        &db,
        args.wait_for_lock,
        &mut signal,
    ))?;
    let Some(store) = store else {
        eprintln!("interrupted while waiting for the database's writer lock");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    let Some((summary, statuses)) = rt.block_on(recover(
        store,
        runtime_glue::handlers_running(&mocks, &args.cluster.options()),
        signal,
    ))?
    else {
        crate::output::error_line(
            "interrupted: committed progress is kept; run `windlass recover` again",
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    if args.format == Format::Json {
        print_json(&summary)?;
    } else {
        outln!(
            "recovered {} unfinished instance(s) in {:.1} ms, {} pending job(s) dispatched again",
            summary.recovered,
            summary.recovery_ms,
            summary.redispatched
        )?;
        for s in &summary.skipped {
            outln!("  not resumed: {s}")?;
        }
        if summary.schedules_fired > 0 {
            outln!(
                "fired {} schedule(s) that fell due meanwhile",
                summary.schedules_fired
            )?;
        }
        let after: Vec<String> = summary
            .after
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        outln!(
            "afterwards: {}",
            if after.is_empty() {
                "nothing to do".into()
            } else {
                after.join(", ")
            }
        )?;
    }
    if !summary.skipped.is_empty() {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    Ok(runtime_glue::worst_exit_code(statuses))
}

type Recovered = (Summary, Vec<InstanceStatus>);

async fn recover(
    store: AnyStore,
    handlers: Handlers,
    mut signal: ShutdownSignal,
) -> anyhow::Result<Option<Recovered>> {
    // The unfinished instances, read before the runtime starts moving them.
    let mut unfinished: Vec<InstanceRef> = Vec::new();
    for status in [InstanceStatus::Running, InstanceStatus::Incident] {
        let q = InstanceQuery {
            status: Some(status),
            ..Default::default()
        };
        unfinished.extend(
            store
                .query_instances(&q)
                .await?
                .into_iter()
                .map(|r| r.instance),
        );
    }
    // The schedules' last fires, to tell which fire on start.
    let last_fires: BTreeMap<String, Option<Timestamp>> = store
        .schedules()
        .await?
        .into_iter()
        .map(|s| (s.id, s.last_fire_at))
        .collect();
    let handle = Runtime::start(RuntimeOptions::default(), store, handlers).await?;
    let report = handle.recovery().clone();
    let mut summary = Summary {
        recovered: report.instances,
        redispatched: report.outbox_rows,
        skipped: report.skipped.clone(),
        recovery_ms: report.elapsed.as_secs_f64() * 1e3,
        after: BTreeMap::new(),
        schedules_fired: 0,
    };
    // Recovery names each instance it could not resume as "{instance}: why".
    let not_resumed = |i: &InstanceRef| {
        let prefix = format!("{i}:");
        report.skipped.iter().any(|s| s.starts_with(&prefix))
    };
    let work = async {
        // The schedule service fires what is due before it answers.
        let fired = handle
            .schedules()
            .await?
            .iter()
            .filter(|s| last_fires.get(&s.id).is_some_and(|l| *l != s.last_fire_at))
            .count();
        let mut statuses = Vec::new();
        for instance in &unfinished {
            if not_resumed(instance) {
                continue;
            }
            statuses.push(handle.wait_settled(instance).await?.status);
        }
        anyhow::Ok((statuses, fired))
    };
    let result = tokio::select! {
        r = work => r.map(Some),
        s = signal.recv() => s.map(|()| None).map_err(anyhow::Error::from),
    };
    handle.shutdown().await?;
    let Some((statuses, fired)) = result? else {
        return Ok(None);
    };
    summary.schedules_fired = fired;
    for s in &statuses {
        *summary
            .after
            .entry(runtime_glue::status_word(*s))
            .or_insert(0) += 1;
    }
    Ok(Some((summary, statuses)))
}
