//! `windlass bench FILE --instances N --store memory|sqlite|postgres`: runs N
//! instances on the runtime with every task answered by a synchronous mock
//! and prints one JSON object (see [`crate::bench_report::BenchReport`]).
//!
//! At most `--concurrency` instances are in flight at once; latency is each
//! instance's time from its start request to its final commit. Executed
//! counts and `completed` are read back from the stored histories after the
//! clock stops. With `--id-prefix P` the instances are named `P0..P{N-1}`
//! and a second run on the same database resumes: recovery finishes the
//! started ones, the missing ones are started (the crash test uses this).

use crate::bench_report::{self, BenchReport};
use crate::definition::load_file;
use crate::mocks::MockTable;
use crate::output::{Format, outln};
use crate::runtime_glue::{self, EXIT_INTERRUPTED};
use crate::store_open;
use anyhow::{Context as _, bail};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use windlass_runtime::{Runtime, RuntimeHandle, RuntimeOptions, ShutdownSignal, StartRequest};
use windlass_store_any::DbLocation;
use windlass_store_api::{InstanceQuery, InstanceRef, InstanceStatus, Store};
use windlass_store_memory::MemoryStore;
use windlass_types::Vars;

/// Which store to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// In memory (nothing durable).
    Memory,
    /// A SQLite file, every group commit fsync'd.
    Sqlite,
    /// A PostgreSQL database (`--db postgres://…`), as its server is
    /// configured to commit.
    Postgres,
}

/// Arguments of `windlass bench`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "With --format json prints one JSON object: engine, store, workload, instances, seconds, throughput, latency_us {p50, p99}, peak_rss_kib, executed, completed. Exit codes: 0 all completed; 1 some did not complete; 2 error; 130 interrupted (rerun with the same --id-prefix to resume)."
)]
pub struct Args {
    /// The BPMN file (the workload is its stem).
    pub file: PathBuf,
    /// How many instances (1 to 100,000,000).
    #[arg(long, value_parser = bounded(1, MAX_INSTANCES))]
    pub instances: u64,
    /// The store.
    #[arg(long, value_enum)]
    pub store: StoreKind,
    /// The SQLite file (with --store sqlite) or PostgreSQL URL (with --store
    /// postgres); required with either.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Mock a task (TASK=JSON); every other task completes with no output.
    #[arg(long = "mock", value_name = "TASK=JSON")]
    pub mocks: Vec<String>,
    /// Initial variables of every instance: a JSON object, or @file.json.
    #[arg(long)]
    pub input: Option<String>,
    /// The process (default: the first executable one).
    #[arg(long)]
    pub process: Option<String>,
    /// Instances in flight at once (1 to 1,000,000).
    #[arg(long, default_value_t = 1024, value_parser = bounded_usize(1, MAX_CONCURRENCY))]
    pub concurrency: usize,
    /// Name instances PREFIX0..PREFIX{N-1} and resume an earlier run on the
    /// same database (start only the missing ones).
    #[arg(long)]
    pub id_prefix: Option<String>,
    /// Give up waiting after this many seconds (1 to 31,536,000: a year).
    #[arg(long, default_value_t = 600, value_parser = bounded(1, MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The most instances one `bench` runs.
const MAX_INSTANCES: u64 = 100_000_000;
/// The most instances in flight at once.
const MAX_CONCURRENCY: u64 = 1_000_000;
/// The longest `--timeout-seconds` (a year).
const MAX_TIMEOUT_SECONDS: u64 = 31_536_000;

/// A parser of whole numbers within `min..=max`, with an error that says so.
fn bounded(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |s: &str| {
        let n: u64 = s
            .parse()
            .map_err(|_| format!("'{s}' is not a whole number from {min} to {max}"))?;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "{n} is out of range: at least {min} and at most {max}"
            ))
        }
    }
}

/// [`bounded`] for a `usize` flag.
fn bounded_usize(min: u64, max: u64) -> impl Fn(&str) -> Result<usize, String> + Clone {
    let parse = bounded(min, max);
    move |s: &str| usize::try_from(parse(s)?).map_err(|e| e.to_string())
}

/// What the finish listener records.
#[derive(Default)]
struct Tracker {
    starts: Mutex<HashMap<String, Instant>>,
    latencies_us: Mutex<Vec<f64>>,
    /// Ids of every finished instance; kept only when resuming (`--id-prefix`).
    finished: Option<Mutex<HashSet<String>>>,
    /// Every finish seen.
    finished_count: AtomicU64,
    /// Finishes of instances this run started.
    mine_finished: AtomicU64,
    notify: Notify,
}

impl Tracker {
    fn on_finished(&self, instance: &InstanceRef, window: &Semaphore) {
        let started = self
            .starts
            .lock()
            .ok()
            .and_then(|mut s| s.remove(instance.id.as_str()));
        if let (Some(t), Ok(mut l)) = (started, self.latencies_us.lock()) {
            l.push(t.elapsed().as_secs_f64() * 1e6);
            window.add_permits(1);
            self.mine_finished.fetch_add(1, Ordering::Release);
        }
        if let Some(Ok(mut f)) = self.finished.as_ref().map(Mutex::lock) {
            f.insert(instance.id.as_str().to_string());
        }
        self.finished_count.fetch_add(1, Ordering::Release);
        self.notify.notify_one();
    }
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.instances == 0 {
        bail!("--instances must be at least 1");
    }
    let (rt, signal) = runtime_glue::tokio_with_signals()?;
    let loaded = load_file(&args.file, args.process.as_deref())?;
    let mocks = MockTable::from_args(&args.mocks)?;
    let vars = runtime_glue::parse_input(args.input.as_deref())?;
    let workload = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("workload")
        .trim_end_matches(".bpmn")
        .to_string();
    let job = BenchJob {
        xml: loaded.definitions.xml().to_string(),
        process_id: loaded.graph.id.clone(),
        vars,
        mocks,
        n: args.instances,
        concurrency: args.concurrency.max(1),
        id_prefix: args.id_prefix.clone(),
        timeout: Duration::from_secs(args.timeout_seconds),
    };
    let result = match args.store {
        StoreKind::Memory => rt.block_on(job.run(MemoryStore::new(), signal))?,
        StoreKind::Sqlite | StoreKind::Postgres => {
            let db = match (&args.db, args.store) {
                (None, StoreKind::Sqlite) => bail!("--store sqlite needs --db PATH"),
                (None, _) => bail!("--store postgres needs --db postgres://…"),
                (Some(db), StoreKind::Sqlite) => DbLocation::Sqlite(db.clone()),
                (Some(db), _) => match DbLocation::parse(db) {
                    pg @ DbLocation::Postgres(_) => pg,
                    DbLocation::Sqlite(_) => {
                        bail!("--store postgres needs --db postgres://… (a URL, not a file)")
                    }
                },
            };
            let store = rt.block_on(store_open::open_read_write(&db))?;
            rt.block_on(job.run(store, signal))?
        }
    };
    let Some(measured) = result else {
        crate::output::error_line(
            "interrupted: committed progress is kept; run the same command again to resume",
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    let seconds = measured.elapsed.as_secs_f64();
    let report = BenchReport {
        engine: "windlass",
        store: match args.store {
            StoreKind::Memory => "memory".into(),
            StoreKind::Sqlite => "sqlite".into(),
            StoreKind::Postgres => "postgres".into(),
        },
        workload,
        instances: args.instances,
        seconds,
        throughput: if seconds > 0.0 {
            measured.finished as f64 / seconds
        } else {
            0.0
        },
        latency_us: bench_report::latency_of(measured.latencies_us),
        peak_rss_kib: bench_report::peak_rss_kib(),
        executed: measured.executed,
        completed: measured.completed,
    };
    if args.format == Format::Json {
        crate::output::print_json_line(&report)?;
    } else {
        outln!(
            "{} instances of {} on {} in {:.3} s: {:.0}/s, p50 {:.0} µs, p99 {:.0} µs, {} completed",
            report.instances,
            report.workload,
            report.store,
            report.seconds,
            report.throughput,
            report.latency_us.p50,
            report.latency_us.p99,
            report.completed
        )?;
        for (name, count) in &report.executed {
            outln!("  {count:>8}  {name}")?;
        }
    }
    Ok(if report.completed == args.instances {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

struct BenchJob {
    xml: String,
    process_id: String,
    vars: Vars,
    mocks: MockTable,
    n: u64,
    concurrency: usize,
    id_prefix: Option<String>,
    timeout: Duration,
}

struct Measured {
    elapsed: Duration,
    finished: u64,
    latencies_us: Vec<f64>,
    executed: BTreeMap<String, u64>,
    completed: u64,
}

impl BenchJob {
    /// Runs the benchmark; `None` when interrupted by a signal.
    async fn run<S: Store>(
        self,
        store: S,
        mut signal: ShutdownSignal,
    ) -> anyhow::Result<Option<Measured>> {
        let tracker = Arc::new(Tracker {
            finished: self.id_prefix.is_some().then(|| Mutex::new(HashSet::new())),
            ..Tracker::default()
        });
        let window = Arc::new(Semaphore::new(self.concurrency));
        let options = RuntimeOptions {
            on_finished: Some({
                let (tracker, window) = (tracker.clone(), window.clone());
                Arc::new(move |i: &InstanceRef, _: InstanceStatus| tracker.on_finished(i, &window))
            }),
            ..RuntimeOptions::default()
        };
        let handlers = runtime_glue::handlers_completing_everything(&self.mocks);
        let handle = Runtime::start(options, store, handlers).await?;
        let result = tokio::select! {
            r = self.drive(&handle, &tracker, &window) => r.map(Some),
            s = signal.recv() => s.map(|()| None).map_err(anyhow::Error::from),
        };
        handle.shutdown().await?;
        result
    }

    async fn drive<S: Store>(
        &self,
        handle: &RuntimeHandle<S>,
        tracker: &Tracker,
        window: &Semaphore,
    ) -> anyhow::Result<Measured> {
        let deployment = handle.deploy(&self.xml).await?;
        let key = deployment
            .processes
            .iter()
            .find(|(p, _, _)| *p == self.process_id)
            .map(|(_, k, _)| k.clone())
            .with_context(|| format!("process '{}' was not deployed", self.process_id))?;
        // Resume: ids already in the store are not started again.
        let mut done_before: HashSet<String> = HashSet::new();
        // Each id's latest run (the run order: UUIDv7 runs by creation).
        let mut present: HashMap<String, InstanceRef> = HashMap::new();
        if self.id_prefix.is_some() {
            for row in handle
                .store()
                .query_instances(&InstanceQuery::default())
                .await?
            {
                if row.status.is_finished() {
                    done_before.insert(row.instance.id.as_str().to_string());
                }
                let id = row.instance.id.as_str().to_string();
                let newer = present
                    .get(&id)
                    .is_none_or(|r| r.run.run_order() < row.instance.run.run_order());
                if newer {
                    present.insert(id, row.instance.clone());
                }
            }
        }
        let began = Instant::now();
        let mut targets: Vec<InstanceRef> = Vec::new();
        let mut started_now: u64 = 0;
        for i in 0..self.n {
            let id = self.id_prefix.as_ref().map(|p| format!("{p}{i}"));
            if let Some(r) = id.as_ref().and_then(|id| present.get(id)) {
                targets.push(r.clone());
                continue;
            }
            // A slot frees when an instance finishes; a failed commit or
            // the timeout ends the wait (instances stuck behind a storage
            // error never finish).
            let deadline = tokio::time::Instant::from_std(began + self.timeout);
            tokio::select! {
                permit = window.acquire() => permit?.forget(),
                e = handle.storage_failure() => bail!("storage failed: {e}"),
                () = tokio::time::sleep_until(deadline) => bail!(
                    "only {} of {} instances finished within {} s",
                    tracker.finished_count.load(Ordering::Acquire),
                    self.n,
                    self.timeout.as_secs()
                ),
            }
            let req = StartRequest {
                definition: key.clone(),
                vars: self.vars.clone(),
                instance_id: id,
                business_key: None,
                on_conflict: Default::default(),
                start_event: None,
            };
            let instance = handle.start_detached(req).await?;
            if let Ok(mut s) = tracker.starts.lock() {
                s.insert(instance.id.as_str().to_string(), Instant::now());
            }
            targets.push(instance);
            started_now += 1;
        }
        let all_done = || match &tracker.finished {
            None => tracker.mine_finished.load(Ordering::Acquire) >= started_now,
            Some(set) => {
                let seen = tracker.finished_count.load(Ordering::Acquire) as usize;
                seen + done_before.len() >= targets.len()
                    && set.lock().is_ok_and(|f| {
                        targets.iter().all(|t| {
                            f.contains(t.id.as_str()) || done_before.contains(t.id.as_str())
                        })
                    })
            }
        };
        loop {
            if all_done() {
                break;
            }
            if let Some(e) = handle.storage_failed() {
                bail!("storage failed: {e}");
            }
            if began.elapsed() > self.timeout {
                bail!(
                    "only {} of {} instances finished within {} s",
                    tracker.finished_count.load(Ordering::Acquire),
                    self.n,
                    self.timeout.as_secs()
                );
            }
            tokio::select! {
                () = tracker.notify.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        let elapsed = began.elapsed();
        let latencies_us = tracker
            .latencies_us
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        let mut executed = BTreeMap::new();
        let mut completed = 0;
        for t in &targets {
            let o = handle.outcome(t).await?;
            if o.status == InstanceStatus::Completed {
                completed += 1;
            }
            for (name, count) in o.executed {
                *executed.entry(name).or_insert(0) += u64::from(count);
            }
        }
        // Throughput counts only what finished in this run, not a resumed
        // run's earlier work.
        let finished = targets
            .iter()
            .filter(|t| !done_before.contains(t.id.as_str()))
            .count() as u64;
        Ok(Measured {
            elapsed,
            finished,
            latencies_us,
            executed,
            completed,
        })
    }
}
