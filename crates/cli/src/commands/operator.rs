//! `windlass operator`: `windlass server` run as a Kubernetes operator.
//! Beside the server (API, metrics, probes, the `--processes` folder, the
//! watch sources and Kubernetes tasks of deployed processes) it
//!
//! - deploys `ProcessDefinition` resources (`windlass.io/v1alpha1`) and
//!   writes their status (`windlass_k8s::definition`), so processes ship
//!   with kubectl or GitOps;
//! - elects a leader with a `coordination.k8s.io` Lease
//!   (`windlass_k8s::leader`): only the leader opens the database and runs
//!   instances; the other replicas stand by, serving the API by forwarding
//!   to the leader's announced address, and one takes over within the
//!   lease when the leader dies or stalls, at once when it shuts down (it
//!   releases the Lease after draining);
//! - prints the manifests that run it in a cluster (`--print-manifests`,
//!   `deploy/`).
//!
//! The Lease elects; the database fences: a new leader opens the database
//! only once the old one let go of it (SQLite's writer lock; PostgreSQL's
//! lease, whose epoch every batch checks), so a stalled old leader that
//! resumes cannot write (it stops, having lost the Lease).

use crate::commands::server::{self, Writer};
use crate::store_open;
use anyhow::Context as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use windlass_k8s::definition::{
    DefinitionOptions, DefinitionService, DeployOutcome, Deployer, resource::DeployedProcess,
};
use windlass_k8s::{LazyClient, LeaderElection, LeaderOptions, leader};
use windlass_runtime::{RuntimeHandle, ShutdownSignal};
use windlass_server::process_dir::{self, FileOutcome};
use windlass_server::standby::LeaderLookup;
use windlass_server::{Standby, StandbyOptions};
use windlass_store_any::AnyStore;

/// Arguments of `windlass operator`.
#[derive(Debug, clap::Args)]
#[group(id = "OperatorArgs")]
#[command(
    after_help = "Exit codes: 0 stopped by a signal after draining; 2 error (a lost Lease \
                  among them: the supervisor restarts it as a standby); 130 a second signal."
)]
pub struct Args {
    /// Print the manifests that run the operator in a cluster (namespace,
    /// CRD, RBAC, Deployment, Service: `deploy/`) and exit.
    #[arg(long)]
    pub print_manifests: bool,
    /// The leader-election Lease's name.
    #[arg(long, value_name = "NAME", default_value = "windlass-operator")]
    pub lease_name: String,
    /// The Lease's namespace (default: POD_NAMESPACE, else the namespace
    /// of the service account or kubeconfig context, else `default`).
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Seconds the Lease lasts without renewal: a leader that dies or
    /// stalls is taken over after at most this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub election_seconds: u64,
    /// This replica's name in the election (default: POD_NAME, else the
    /// host name and process id).
    #[arg(long, value_name = "NAME")]
    pub identity: Option<String>,
    /// Deploy the ProcessDefinitions of this namespace only (default:
    /// all namespaces).
    #[arg(long, value_name = "NAMESPACE")]
    pub definitions_namespace: Option<String>,
    /// What `windlass server` takes.
    #[command(flatten)]
    pub server: server::Args,
}

/// How long a standby that takes over waits for its forwarded calls.
const HANDOVER_GRACE: Duration = Duration::from_secs(2);

/// How long a shutdown waits to release the Lease.
const RELEASE_GRACE: Duration = Duration::from_secs(5);

/// Runs the verb.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.print_manifests {
        crate::output::outln!("{}", windlass_k8s::deploy::manifests_yaml().trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let signal = {
        let _entered = rt.enter();
        ShutdownSignal::install()?
    };
    rt.block_on(operate(args, signal))
}

/// The runtime as the ProcessDefinition controller's [`Deployer`].
struct RuntimeDeployer(RuntimeHandle<AnyStore>);

impl Deployer for RuntimeDeployer {
    fn deploy(
        &self,
        source: String,
        xml: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = DeployOutcome> + Send + '_>> {
        Box::pin(async move {
            match process_dir::deploy_document(&self.0, &source, xml.as_bytes()).await {
                Ok(FileOutcome::Deployed(list)) => DeployOutcome::Deployed(
                    list.into_iter()
                        .map(|(id, version)| DeployedProcess { id, version })
                        .collect(),
                ),
                Ok(FileOutcome::Refused(lines)) => DeployOutcome::Invalid(lines),
                Err(e) => DeployOutcome::Failed(e.to_string()),
            }
        })
    }
}

/// This replica's name: `--identity`, `POD_NAME`, else host and pid.
fn identity(args: &Args) -> String {
    args.identity
        .clone()
        .or_else(|| std::env::var("POD_NAME").ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(store_open::process_name)
}

/// The address standbys forward to: `--advertise`, else the pod's IP
/// (`POD_IP`) with the port, else the listening address when it names
/// one host; `None`: standbys answer 503 instead of forwarding.
fn advertised(args: &Args, bound: std::net::SocketAddr) -> Option<String> {
    if let Some(a) = &args.server.advertise {
        return Some(a.trim_end_matches('/').to_string());
    }
    if bound.ip().is_unspecified() {
        let ip = std::env::var("POD_IP").ok().filter(|ip| !ip.is_empty())?;
        let ip: std::net::IpAddr = ip.parse().ok()?;
        return Some(format!(
            "http://{}",
            std::net::SocketAddr::new(ip, bound.port())
        ));
    }
    Some(format!("http://{bound}"))
}

async fn operate(args: Args, mut signal: ShutdownSignal) -> anyhow::Result<ExitCode> {
    let db = store_open::location(args.server.db.as_deref());
    let token_path = match &args.server.token_file {
        Some(path) => path.clone(),
        None => server::default_token_file(&db)?,
    };
    let token = windlass_server::token::read_or_create(&token_path)?;
    if token.created {
        eprintln!(
            "wrote a new API token to {} (mode 0600)",
            token_path.display()
        );
    }
    let metrics = windlass_server::api::metrics::install_prometheus();
    let listener = Arc::new(
        std::net::TcpListener::bind(args.server.listen)
            .with_context(|| format!("cannot listen on {}", args.server.listen))?,
    );
    let address = advertised(&args, listener.local_addr()?);
    let cluster = Arc::new(LazyClient::new(args.server.cluster.options()));
    let client = cluster.get().await?;
    let namespace = args
        .lease_namespace
        .clone()
        .or_else(|| {
            std::env::var("POD_NAMESPACE")
                .ok()
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| client.default_namespace().to_string());
    let options = LeaderOptions {
        name: args.lease_name.clone(),
        namespace: namespace.clone(),
        identity: identity(&args),
        duration: Duration::from_secs(args.election_seconds.max(2)),
    };
    let lease = format!("the Lease {namespace}/{}", args.lease_name);
    let mut election = LeaderElection::start(client.clone(), options.clone()).await?;

    // Stand by until this replica leads.
    let lookup: LeaderLookup = {
        let client = client.clone();
        let (namespace, name) = (namespace.clone(), args.lease_name.clone());
        Arc::new(move || {
            let (client, namespace, name) = (client.clone(), namespace.clone(), name.clone());
            Box::pin(async move { leader::leader_address(&client, &namespace, &name).await })
        })
    };
    let standby = Standby::run(StandbyOptions {
        listener: listener.clone(),
        node: options.identity.clone(),
        leader: lookup,
        metrics: metrics.clone(),
    })?;
    // The one line scripts wait for (stdout): where the API is.
    crate::output::outln!("listening on http://{}", standby.local_addr())?;
    eprintln!(
        "standing by as {} for {lease} (API calls are forwarded to the leader)",
        options.identity
    );
    tokio::select! {
        r = election.acquired() => r?,
        s = signal.recv() => {
            s?;
            standby.shutdown(HANDOVER_GRACE).await;
            election.release(RELEASE_GRACE).await;
            eprintln!("stopped while standing by");
            return Ok(ExitCode::SUCCESS);
        }
    }
    eprintln!("leading: took {lease} as {}", options.identity);

    // The database lets go of the old leader only once it is gone (its
    // writer lock, its PostgreSQL lease): wait for it, however long.
    let opened = tokio::select! {
        opened = store_open::open_writer(&db, u64::MAX, &mut signal) => Ok(opened?),
        () = election.on_lost() => Err(()),
    };
    let store = match opened {
        Ok(Some(store)) => store,
        Ok(None) => {
            standby.shutdown(HANDOVER_GRACE).await;
            election.release(RELEASE_GRACE).await;
            eprintln!("stopped while waiting for the database");
            return Ok(ExitCode::SUCCESS);
        }
        Err(()) => anyhow::bail!("lost {lease} while waiting for the database"),
    };
    if let Some(a) = &address
        && let Err(e) = election.announce(a).await
    {
        eprintln!("could not write the leader's address on {lease} (standbys answer 503): {e}");
    }
    standby.shutdown(HANDOVER_GRACE).await;
    let pg_lease = match &store {
        AnyStore::Postgres(p) => Some(p.clone()),
        AnyStore::Sqlite(_) => None,
    };
    let writer = Writer {
        db,
        store,
        pg_lease,
        announced: true,
        listener,
        token: token.token,
        token_path,
        metrics,
        node: None,
    };
    let lost = {
        let lost = election.on_lost();
        let lease = lease.clone();
        async move {
            lost.await;
            lease
        }
    };
    let definitions = DefinitionOptions {
        namespace: args.definitions_namespace.clone(),
    };
    let extra = |rt: &RuntimeHandle<AnyStore>| {
        Some(DefinitionService::run(
            cluster.clone(),
            Arc::new(RuntimeDeployer(rt.clone())),
            definitions,
        ))
    };
    let result = server::serve_writer(&args.server, writer, signal, extra, lost).await;
    // After the last commit: a standby takes over at once.
    election.release(RELEASE_GRACE).await;
    result
}
