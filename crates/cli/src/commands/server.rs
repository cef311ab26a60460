//! `windlass server`: the long-running service. Opens (or creates) the
//! database, recovers unfinished instances, deploys the processes folder,
//! and serves the REST API (`windlass_server`) until SIGINT / SIGTERM.
//!
//! SIGUSR1 writes the state dump (`windlass dump`) to stderr.
//!
//! The `windlass:kubernetesWatch` sources of deployed processes are
//! watched (`windlass_k8s::watch`) on the cluster of `--kubeconfig` /
//! `--context` (else `KUBECONFIG`, `~/.kube/config`, the service account);
//! `run`, `recover` and `test` do not watch.
//!
//! On PostgreSQL several servers may run on one database: the one holding
//! the database's lease writes it, the others stand by and forward API
//! calls to it, and one of them takes over when it stops, dies or stalls
//! (`server_lease.rs`). A server that loses its lease (it stalled and
//! another took over) stops with an error: its work goes on at the new
//! holder, and whatever supervises it starts it again as a standby.
//!
//! Shutdown: the first signal stops accepting requests, lets those in
//! flight finish within `--shutdown-grace`, then drains the runtime's
//! commits (open jobs stay open and are dispatched again at the next
//! start); a second signal exits at once (130).
//!
//! Jobs: the built-in kinds (`shell`, `http`, `script`) run in the server;
//! a task of any other kind waits on the job board for a remote worker of
//! that kind (`POST /api/v1/jobs/activate`, `windlass_server::board`); user
//! and manual tasks without a kind wait for `POST /api/v1/jobs/complete` (a
//! person); any other task without a kind follows the engine's rule (an
//! abstract task is a no-op, the rest an incident naming it).

use crate::commands::{server_lease, server_node};
use crate::runtime_glue::EXIT_INTERRUPTED;
use crate::store_open;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use windlass_k8s::definition::DefinitionHandle;
use windlass_k8s::secrets::{SecretRef, SecretWatch};
use windlass_k8s::{ClusterOptions, KubernetesJobs, LazyClient, WatchOptions, WatchService};
use windlass_model::TaskType;
use windlass_runtime::{HandlerResult, Handlers, Job, Runtime, RuntimeOptions, ShutdownSignal};
use windlass_server::process_dir::{self, FileOutcome, ProcessDirWatch};
use windlass_server::{BoardHandler, JobBoard, Server, ServerOptions, Token};
use windlass_store_any::{AnyStore, DbLocation};
use windlass_store_postgres::{LeaseState, PgStore};

/// Arguments of `windlass server`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 stopped by a signal after draining; 2 error; 130 a second signal."
)]
pub struct Args {
    /// The database: a SQLite file (created when missing) or a
    /// `postgres://` URL (migrated when needed). Default: `WINDLASS_DB`, else
    /// ./windlass.db.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The address to listen on (loopback by default; port 0 picks a free
    /// port, printed at start).
    #[arg(long, default_value = windlass_server::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Also serve the gRPC worker service (`windlass.worker.v1.Worker`) on
    /// this address (default: no gRPC).
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<SocketAddr>,
    /// Deploy every BPMN file under this folder at start and whenever one
    /// changes.
    #[arg(long, value_name = "DIR")]
    pub processes: Option<PathBuf>,
    /// The bearer token file (default: the SQLite database's path +
    /// `.token`; required with PostgreSQL); a missing file is created with a
    /// random token and mode 0600.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds a shutdown waits for requests in flight.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub shutdown_grace: u64,
    /// Milliseconds between scans of the processes folder.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub poll_ms: u64,
    /// The largest request body in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = windlass_server::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Runtime shards (parallel instance workers).
    #[arg(long, default_value_t = 1)]
    pub shards: usize,
    /// When another process writes the SQLite database, wait up to this
    /// many seconds for it (default: fail at once, naming it). On
    /// PostgreSQL a server stands by for as long as another one writes.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_lock: u64,
    /// PostgreSQL: the address other servers forward API calls to while
    /// this one holds the database's lease (default: http://LISTEN, when
    /// --listen names one address).
    #[arg(long, value_name = "URL")]
    pub advertise: Option<String>,
    /// PostgreSQL: seconds the database's lease lasts without renewal: a
    /// server that stalls this long is taken over (renewed every third of
    /// it; a server that dies is taken over at once).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    pub lease_seconds: f64,
    /// PostgreSQL: run as one of several servers writing the database at
    /// once, under this node name (unique among the live nodes), each
    /// serving the instance partitions it owns, instead of taking the
    /// database's lease or standing by. Calls about other nodes' instances
    /// are forwarded to them; a dead node's partitions are taken over
    /// within --lease-seconds. Processes with message events, dedup keys
    /// or message sources are refused in this mode (docs/postgres.md).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// With --node: the instance partitions (of 256) this node claims at
    /// start, e.g. `0-84` (default: every one no live node owns). The
    /// nodes even out their shares while running, giving these up last.
    #[arg(long, value_name = "SET", requires = "node")]
    pub partitions: Option<windlass_store_api::PartitionSet>,
    /// Read `secret:NAME` settings from this Kubernetes Secret
    /// (NAMESPACE/NAME; repeatable, the first with the key wins), watched
    /// for changes, before `WINDLASS_SECRETS_DIR` and the environment.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub secrets_from: Vec<String>,
    /// The cluster of the Kubernetes tasks.
    #[command(flatten)]
    pub cluster: crate::cluster_args::ClusterArgs,
}

/// The most instances a SIGUSR1 dump lists.
const DUMP_LIMIT: usize = 10_000;

/// The handlers of the server: built-in and Kubernetes kinds; other kinds
/// go to the job board for remote workers; user and manual tasks wait for
/// a person.
fn server_handlers(
    board: &Arc<JobBoard>,
    cluster: &ClusterOptions,
    secrets: &windlass_jobs::SecretSource,
) -> Handlers {
    let wait = |_: &Job| HandlerResult::External;
    let k8s = KubernetesJobs::new(LazyClient::new(cluster.clone())).with_secrets(secrets.clone());
    k8s.bind(windlass_jobs::builtin_with(
        Handlers::new(),
        secrets.clone(),
    ))
    .on_task_type(TaskType::User, wait)
    .on_task_type(TaskType::Manual, wait)
    .fallback(BoardHandler(board.clone()))
}

/// The token file's default: beside a SQLite database. A PostgreSQL
/// database has no place on this machine to put it beside.
pub(crate) fn default_token_file(db: &DbLocation) -> anyhow::Result<PathBuf> {
    match db.sqlite_path() {
        Some(path) => {
            let mut name = path.as_os_str().to_owned();
            name.push(".token");
            Ok(PathBuf::from(name))
        }
        None => anyhow::bail!("with a PostgreSQL --db, give --token-file FILE"),
    }
}

/// Where `secret:NAME` settings come from: the Secrets of
/// `--secrets-from` (watched; each read once before this returns), then
/// `WINDLASS_SECRETS_DIR` and the environment.
async fn secret_source(
    args: &Args,
) -> anyhow::Result<(windlass_jobs::SecretSource, Option<SecretWatch>)> {
    let source = windlass_jobs::SecretSource::from_env();
    if args.secrets_from.is_empty() {
        return Ok((source, None));
    }
    let refs = args
        .secrets_from
        .iter()
        .map(|s| SecretRef::parse(s).map_err(|e| anyhow::anyhow!("--secrets-from {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let watched = windlass_jobs::WatchedSecrets::new(refs.iter().map(SecretRef::label));
    let watch = SecretWatch::run(
        Arc::new(LazyClient::new(args.cluster.options())),
        refs,
        watched.clone(),
        Duration::from_secs(30),
    )
    .await
    .context("--secrets-from")?;
    Ok((source.with_watched(watched), Some(watch)))
}

/// Resolves with the new holder's name when the lease in `state` is lost;
/// never without a lease.
async fn lease_lost(state: &mut Option<watch::Receiver<LeaseState>>) -> String {
    let Some(rx) = state else {
        return std::future::pending().await;
    };
    loop {
        if let LeaseState::Lost { holder } = &*rx.borrow_and_update() {
            return holder.clone();
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let signal = {
        let _entered = rt.enter();
        ShutdownSignal::install()?
    };
    rt.block_on(serve(args, signal))
}

async fn serve(args: Args, mut signal: ShutdownSignal) -> anyhow::Result<ExitCode> {
    let db = store_open::location(args.db.as_deref());
    if args.node.is_some() && db.sqlite_path().is_some() {
        anyhow::bail!(
            "--node needs a PostgreSQL --db (several servers write one database at once)"
        );
    }
    let token_path = match &args.token_file {
        Some(path) => path.clone(),
        None => default_token_file(&db)?,
    };
    let token = windlass_server::token::read_or_create(&token_path)?;
    if token.created {
        eprintln!(
            "wrote a new API token to {} (mode 0600)",
            token_path.display()
        );
    }
    let bind = || -> anyhow::Result<Arc<std::net::TcpListener>> {
        Ok(Arc::new(
            std::net::TcpListener::bind(args.listen)
                .with_context(|| format!("cannot listen on {}", args.listen))?,
        ))
    };
    let metrics = windlass_server::api::metrics::install_prometheus();
    // PostgreSQL: bound first, a standby serves on it while another server
    // writes. SQLite: bound once the database is open (a server waiting for
    // the file's lock does not take connections it cannot answer).
    let (store, lease, announced, listener, node) = match &db {
        DbLocation::Postgres(url) if args.node.is_some() => {
            let name = args.node.as_deref().unwrap_or_default();
            let listener = bind()?;
            let address =
                server_lease::advertised(args.advertise.as_deref(), listener.local_addr()?)?;
            let wanted = args
                .partitions
                .unwrap_or_else(windlass_store_api::PartitionSet::all);
            let joined =
                server_node::join(url, name, &address, lease_duration(&args)?, &wanted).await?;
            eprintln!(
                "node {name}: serving partitions {} of the database (calls about other nodes' \
                 instances are forwarded to them)",
                joined.partitions
            );
            let store = AnyStore::from(joined.store.clone());
            (store, None, false, listener, Some(joined))
        }
        DbLocation::Postgres(url) => {
            let listener = bind()?;
            let bound = listener.local_addr()?;
            let address = server_lease::advertised(args.advertise.as_deref(), bound)?;
            let options = server_lease::lease_options(&address, lease_duration(&args)?);
            let taken = server_lease::take_or_stand_by(
                url,
                &listener,
                options,
                metrics.clone(),
                &mut signal,
            )
            .await?;
            let Some(taken) = taken else {
                eprintln!("stopped while standing by");
                return Ok(ExitCode::SUCCESS);
            };
            let lease = taken.store.clone();
            let store = AnyStore::from(taken.store);
            (store, Some(lease), taken.stood_by, listener, None)
        }
        DbLocation::Sqlite(_) => {
            let Some(store) = store_open::open_writer(&db, args.wait_for_lock, &mut signal).await?
            else {
                eprintln!("interrupted while waiting for the database's writer lock");
                return Ok(ExitCode::from(EXIT_INTERRUPTED));
            };
            (store, None, false, bind()?, None)
        }
    };
    let writer = Writer {
        db,
        store,
        pg_lease: lease,
        announced,
        listener,
        token: token.token,
        token_path,
        metrics,
        node,
    };
    serve_writer(&args, writer, signal, |_| None, std::future::pending()).await
}

/// `--lease-seconds` as a duration.
fn lease_duration(args: &Args) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(args.lease_seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .context("--lease-seconds must be a positive number")
}

/// A node that holds its database: what [`serve_writer`] runs on.
pub(crate) struct Writer {
    /// Where the database is.
    pub db: DbLocation,
    /// The database, open for writing.
    pub store: AnyStore,
    /// On PostgreSQL, the store holding the database's lease.
    pub pg_lease: Option<PgStore>,
    /// Whether the `listening on` line was printed already (by a standby).
    pub announced: bool,
    /// The bound API socket.
    pub listener: Arc<std::net::TcpListener>,
    /// The API token.
    pub token: String,
    /// Where the token is.
    pub token_path: PathBuf,
    /// The metrics recorder.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// On PostgreSQL with `--node`: the joined node (`server_node.rs`).
    pub node: Option<server_node::Joined>,
}

/// Runs the writing node until a signal (drained, exit 0), the server's
/// failure, a lost lease (the database's or `lost`'s: an error) — with
/// what `extra` starts once the runtime runs (the operator's
/// ProcessDefinition controller), stopped before the runtime.
pub(crate) async fn serve_writer(
    args: &Args,
    writer: Writer,
    mut signal: ShutdownSignal,
    extra: impl FnOnce(&windlass_runtime::RuntimeHandle<AnyStore>) -> Option<DefinitionHandle>,
    lost: impl std::future::Future<Output = String>,
) -> anyhow::Result<ExitCode> {
    let Writer {
        db,
        store,
        pg_lease: lease,
        announced,
        listener,
        token,
        token_path,
        metrics,
        node,
    } = writer;
    let mut lease_state = lease.as_ref().and_then(PgStore::lease_state);
    // A node is woken for deliveries other nodes leave in its partitions.
    let wake = node.as_ref().map(|_| Arc::new(tokio::sync::Notify::new()));
    let options = RuntimeOptions {
        shards: args.shards.max(1),
        partitions: node.as_ref().map(|n| n.partitions),
        delivery_wake: wake.clone(),
        ..RuntimeOptions::default()
    };
    let (secrets, secret_watch) = secret_source(args).await?;
    let board = JobBoard::new();
    let runtime = Runtime::start(
        options,
        store,
        server_handlers(&board, &args.cluster.options(), &secrets),
    )
    .await?;
    let report = runtime.recovery();
    eprintln!(
        "database {}: recovered {} unfinished instance(s), {} pending job(s)",
        db, report.instances, report.outbox_rows
    );
    for skipped in &report.skipped {
        eprintln!("  not resumed: {skipped}");
    }
    // The Kubernetes watch sources of the deployed processes (a process
    // folder deployed below starts its watches as it is deployed).
    let mut cluster_watch = Some(WatchService::run(
        Arc::new(LazyClient::new(args.cluster.options())),
        Arc::new(runtime.clone()),
        runtime.message_sources(),
        WatchOptions::default(),
    ));
    let mut watch = match &args.processes {
        Some(dir) => {
            let outcomes = process_dir::deploy_all(&runtime, dir)
                .await
                .with_context(|| format!("--processes {}", dir.display()))?;
            for (path, outcome) in &outcomes {
                match outcome {
                    FileOutcome::Deployed(list) => {
                        for (process, version) in list {
                            eprintln!(
                                "deployed {process} version {version} from {}",
                                path.display()
                            );
                        }
                    }
                    FileOutcome::Refused(lines) => {
                        eprintln!("not deployed: {}", path.display());
                        for line in lines {
                            eprintln!("  {line}");
                        }
                    }
                }
            }
            let interval = Duration::from_millis(args.poll_ms.max(100));
            Some(ProcessDirWatch::start(
                runtime.clone(),
                dir.clone(),
                interval,
            ))
        }
        None => None,
    };
    let mut definitions = extra(&runtime);
    let supervisor = node
        .as_ref()
        .zip(wake)
        .map(|(n, wake)| server_node::Supervisor::run(n, runtime.clone(), wake));
    let mut options = ServerOptions::new(args.listen, Token::new(&token));
    options.body_limit = args.body_limit;
    options.grpc_listen = args.grpc_listen;
    options.shutdown_grace = Duration::from_secs(args.shutdown_grace);
    options.metrics = metrics;
    options.listener = Some(listener);
    options.board = Some(board);
    if let Some(n) = &node {
        let owners = server_node::owner_lookup(n.store.clone());
        let forwarding =
            windlass_server::forward::Forwarding::new(&n.name, owners, args.body_limit)?;
        options.forward = Some(Arc::new(forwarding));
        let peers = server_node::peer_lookup(n.store.clone(), n.name.clone());
        options.peers = Some(Arc::new(windlass_server::peers::Peers::new(
            &n.name, peers,
        )?));
    }
    let mut server = Server::run(options, runtime.clone()).await?;
    let addr = server.local_addr();
    if !announced {
        // The one line scripts wait for (stdout): where the API is.
        crate::output::outln!("listening on http://{addr}")?;
    }
    eprintln!(
        "API: http://{addr}/api/v1 (OpenAPI: /api/openapi.json); token in {}",
        token_path.display()
    );
    if windlass_server::ui::is_built() {
        eprintln!("web UI: http://{addr}/ (log in with the token)");
    } else {
        eprintln!("web UI: {}", windlass_server::ui::NOT_BUILT.trim_end());
    }
    if let Some(grpc) = server.grpc_addr() {
        eprintln!("gRPC workers: http://{grpc} (windlass.worker.v1.Worker)");
    }
    eprintln!(
        "start an instance: curl -H \"Authorization: Bearer $(cat {})\" -H 'Content-Type: application/json' \
         -d '{{\"processId\":\"PROCESS\"}}' http://{addr}/api/v1/instances",
        token_path.display()
    );
    // SIGUSR1 writes the state dump to stderr (the log) and goes on.
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    let node_fenced = async {
        match &node {
            Some(n) => server_node::fenced(&n.store).await,
            None => std::future::pending().await,
        }
    };
    let lost_any = async {
        tokio::select! {
            holder = lease_lost(&mut lease_state) => format!("the database's lease to {holder}"),
            why = node_fenced => why,
            why = lost => why,
        }
    };
    tokio::pin!(lost_any);
    let failed = loop {
        tokio::select! {
            s = signal.recv() => { s?; break None; }
            r = server.stopped() => break Some(r),
            what = &mut lost_any => {
                eprintln!("lost {what}: another node writes the database now; stopping");
                if let Some(s) = supervisor {
                    s.stop().await;
                }
                if let Some(d) = definitions.take() {
                    d.shutdown().await;
                }
                if let Some(w) = watch.take() {
                    w.stop().await;
                }
                if let Some(w) = cluster_watch.take() {
                    w.shutdown().await;
                }
                server.shutdown().await?;
                // Its commits are refused now; what it had not committed
                // is redone by the new holder.
                let _ = runtime.shutdown().await;
                anyhow::bail!("lost {what}");
            }
            _ = usr1.recv() => match windlass_server::api::dump::take(&runtime, DUMP_LIMIT).await {
                Ok(d) => eprint!("{}", crate::dump_view::render_text(&d)),
                Err(e) => eprintln!("state dump failed: {}", e.body.message),
            },
        }
    };
    let supervisor = match supervisor {
        Some(s) => {
            s.stop().await;
            true
        }
        None => false,
    };
    if let Some(result) = failed {
        if let Some(d) = definitions.take() {
            d.shutdown().await;
        }
        if let Some(w) = cluster_watch.take() {
            w.shutdown().await;
        }
        runtime.shutdown().await?;
        result?;
        anyhow::bail!("the server stopped by itself");
    }
    eprintln!("shutting down: draining requests and commits (a second signal exits at once)");
    let second = tokio::spawn(async move {
        if signal.recv().await.is_ok() {
            eprintln!("second signal: exiting at once");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    if let Some(w) = watch {
        w.stop().await;
    }
    if let Some(d) = definitions.take() {
        d.shutdown().await;
    }
    if let Some(w) = cluster_watch.take() {
        w.shutdown().await;
    }
    server.shutdown().await?;
    runtime.shutdown().await?;
    if let Some(n) = node.as_ref().filter(|_| supervisor) {
        // After the last commit: the other nodes take the partitions over.
        if let Err(e) = n.store.leave().await {
            eprintln!("leaving failed (the node's lease expires by itself): {e}");
        }
    }
    if let Some(store) = &lease {
        // After the last commit: a standby takes over at once.
        if let Err(e) = store.release_lease().await {
            eprintln!("releasing the database's lease failed (it expires by itself): {e}");
        }
    }
    if let Some(w) = secret_watch {
        w.shutdown().await;
    }
    second.abort();
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}
