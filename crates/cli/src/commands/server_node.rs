//! How `windlass server --node NAME` runs as one of several servers writing
//! one PostgreSQL database at once, each the instance partitions it owns
//! (`windlass_store_postgres`'s `node_lease.rs`; `docs/postgres.md`,
//! "Partitioned ownership").
//!
//! - At start the node joins under its name and claims `--partitions`
//!   (those no live node owns); its runtime serves what it got.
//! - A supervisor, every third of the lease (its first round one lease
//!   after the start when no other live node owns partitions, so that
//!   nodes starting a cluster together claim their own first), takes over
//!   what no live node serves and evens out the shares
//!   (`server_balance.rs`): the partitions of dead nodes (died, or stalled
//!   past their lease) at once, partitions nobody owns once they stayed so
//!   for a whole lease (a node starting meanwhile claims its own first; a
//!   node that stopped gracefully gave its partitions up), and an even
//!   share between the live nodes — a node with more gives partitions up
//!   (`RuntimeHandle::release`, then the store), a node with fewer claims
//!   them at once. The runtime adopts what was taken.
//! - API calls about instances of other nodes are forwarded to their owner
//!   (`windlass_server::forward`), found in the owners table per call.
//! - Wake-ups (`NOTIFY` sent by other nodes' batches that leave
//!   call-activity rows in this node's partitions) wake the runtime's
//!   delivery task, which otherwise looks every second.
//! - Fenced (another node took its partitions while it stalled), the node
//!   stops with an error, as a single writer that lost its lease does.

use super::server_balance;
use anyhow::Context as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use windlass_runtime::CancellationToken;
use windlass_runtime::RuntimeHandle;
use windlass_server::forward::OwnerLookup;
use windlass_server::peers::PeerLookup;
use windlass_store_any::{AnyStore, DbLocation};
use windlass_store_api::{Partition, PartitionSet, StoreError};
use windlass_store_postgres::{LeaseOptions, LeaseState, PgOptions, PgStore, WakeListener};

/// A joined node.
pub struct Joined {
    /// The node's name.
    pub name: String,
    /// The store, joined as the node.
    pub store: PgStore,
    /// The partitions claimed at start.
    pub partitions: PartitionSet,
    /// The lease's duration (the supervisor's pace).
    pub lease: Duration,
}

/// Joins the database at `url` as node `name` advertising `address` and
/// claims `wanted`; retries for one lease while an earlier process under
/// the name is still seen alive (it was just killed, say).
pub async fn join(
    url: &str,
    name: &str,
    address: &str,
    lease: Duration,
    wanted: &PartitionSet,
) -> anyhow::Result<Joined> {
    let where_ = || {
        format!(
            "joining {} as node '{name}'",
            DbLocation::Postgres(url.into())
        )
    };
    let store = PgStore::connect_with(PgOptions::new(url))
        .await
        .with_context(where_)?;
    let options = LeaseOptions::new(name).address(address).duration(lease);
    let deadline = Instant::now() + lease;
    let store = loop {
        match store.join_as_node(options.clone()).await {
            Ok(s) => break s,
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e).with_context(where_),
        }
    };
    let partitions = store
        .claim_partitions(wanted)
        .await
        .context("claiming --partitions")?;
    Ok(Joined {
        name: name.to_string(),
        store,
        partitions,
        lease,
    })
}

/// Where each partition's live owner listens, read from the owners table
/// per call.
pub fn owner_lookup(store: PgStore) -> OwnerLookup {
    Arc::new(move |partition| {
        let store = store.clone();
        Box::pin(async move {
            let owners = store.partition_owners().await.ok()?;
            owners
                .into_iter()
                .find(|o| o.partition == Partition(partition) && o.live)
                .and_then(|o| o.address)
        })
    })
}

/// Where the other live nodes' APIs listen (not node `me`), read from the
/// owners table per call: the nodes a worker's activation asks for jobs
/// this node lacks (`windlass_server::peers`).
pub fn peer_lookup(store: PgStore, me: String) -> PeerLookup {
    Arc::new(move || {
        let (store, me) = (store.clone(), me.clone());
        Box::pin(async move {
            let owners = store.partition_owners().await.unwrap_or_default();
            let mut peers: Vec<String> = owners
                .into_iter()
                .filter(|o| o.live && o.node != me)
                .filter_map(|o| o.address)
                .collect();
            peers.sort();
            peers.dedup();
            peers
        })
    })
}

/// The supervisor's tasks: one takes over what no live node serves (see
/// the module docs), one wakes the runtime's delivery task when another
/// node's batch left rows in this node's partitions; both until cancelled.
pub struct Supervisor {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    wakes: JoinHandle<()>,
}

impl Supervisor {
    /// Starts supervising `joined` for `runtime`, waking `wake` (the
    /// runtime's `RuntimeOptions::delivery_wake`) on wake-ups.
    pub fn run(
        joined: &Joined,
        runtime: RuntimeHandle<AnyStore>,
        wake: Arc<tokio::sync::Notify>,
    ) -> Supervisor {
        let cancel = CancellationToken::new();
        let wakes = tokio::spawn(relay_wakes(
            joined.store.clone(),
            runtime.clone(),
            wake,
            joined.name.clone(),
            cancel.clone(),
        ));
        let stop = cancel.clone();
        let store = joined.store.clone();
        let (name, lease, own_start) = (joined.name.clone(), joined.lease, joined.partitions);
        let task = tokio::spawn(async move {
            let mut unowned_since: HashMap<Partition, Instant> = HashMap::new();
            // A whole lease first when the cluster starts cold (no other
            // live node owns partitions): every node's old row is dead, and
            // the nodes starting with it claim their own --partitions
            // meanwhile instead of the first one up taking everything.
            // Joining a running cluster, the others give this node its
            // share at once: it claims it from its first round on.
            let warm = store
                .partition_owners()
                .await
                .is_ok_and(|owners| owners.iter().any(|o| o.live && o.node != name));
            let first = if warm { lease / 3 } else { lease };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(first) => {}
            }
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(lease / 3) => {}
                }
                let node = Node {
                    store: &store,
                    runtime: &runtime,
                    name: &name,
                    own_start,
                };
                if let Err(e) = node.round(lease, &mut unowned_since).await {
                    eprintln!("node {name}: balancing partitions failed (trying again): {e:#}");
                }
            }
        });
        Supervisor {
            cancel,
            task,
            wakes,
        }
    }

    /// Stops it.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
        let _ = self.wakes.await;
    }
}

/// Listens for wake-ups of the partitions `runtime` serves (`NOTIFY`
/// sent inside other nodes' batches that leave rows in them) and wakes
/// `wake` for each, until `stop`. Without a listener (it could not be set
/// up, or its session is gone) the runtime still looks every
/// `delivery_poll`, and a new listener is tried every second.
async fn relay_wakes(
    store: PgStore,
    runtime: RuntimeHandle<AnyStore>,
    wake: Arc<tokio::sync::Notify>,
    name: String,
    stop: CancellationToken,
) {
    let mut listener = None;
    let mut failed = false;
    loop {
        let usable = listener
            .as_ref()
            .is_some_and(|l: &WakeListener| !l.is_closed());
        if !usable {
            // No session (yet, or it ended): listen on a new one, and look
            // at once for what may have come meanwhile.
            match store.wake_listener().await {
                Ok(l) => {
                    if failed || listener.is_some() {
                        eprintln!("node {name}: listening for wake-ups again");
                    }
                    listener = Some(l);
                    failed = false;
                    wake.notify_one();
                }
                Err(e) => {
                    if !failed {
                        eprintln!(
                            "node {name}: not listening for wake-ups (looking every second \
                             instead, listening again when it can): {e}"
                        );
                    }
                    failed = true;
                    listener = None;
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
            continue;
        }
        let Some(l) = listener.as_mut() else {
            continue;
        };
        l.set_partitions(runtime.partitions());
        tokio::select! {
            () = stop.cancelled() => return,
            woken = l.wait(Duration::from_secs(1)) => {
                if !woken.is_empty() {
                    wake.notify_one();
                }
            }
        }
    }
}

/// What a supervisor round works on.
struct Node<'a> {
    store: &'a PgStore,
    runtime: &'a RuntimeHandle<AnyStore>,
    name: &'a str,
    /// The partitions claimed at start (given up last).
    own_start: PartitionSet,
}

impl Node<'_> {
    /// One round (`server_balance.rs`): gives up what the store says this
    /// node owns but its runtime does not serve (an adoption that failed),
    /// gives up its excess over an even share when another node is short
    /// (the runtime lets go first, then the store), and claims the
    /// partitions of dead nodes, those unowned for a whole lease, and, when
    /// short of its share, unowned ones at once; the runtime adopts what
    /// was got.
    async fn round(
        &self,
        lease: Duration,
        unowned_since: &mut HashMap<Partition, Instant>,
    ) -> anyhow::Result<()> {
        let (store, runtime, name) = (self.store, self.runtime, self.name);
        let stray = store.owned_partitions().difference(&runtime.partitions());
        if !stray.is_empty() {
            store.release_partitions(&stray).await?;
            eprintln!("node {name}: gave up partitions {stray}, which it owned but did not serve");
        }
        let owners = store.partition_owners().await?;
        let live = store.live_nodes().await?;
        let mut owned = PartitionSet::none();
        for o in &owners {
            owned.insert(o.partition);
        }
        let now = Instant::now();
        let unowned = PartitionSet::all().difference(&owned);
        unowned_since.retain(|p, _| unowned.contains(*p));
        let (mut unowned_long, mut unowned_stale) = (PartitionSet::none(), PartitionSet::none());
        for p in unowned.iter() {
            let since = *unowned_since.entry(p).or_insert(now);
            let unowned_for = now.duration_since(since);
            if unowned_for >= lease {
                unowned_long.insert(p);
            }
            if unowned_for >= lease * server_balance::STALE_LEASES {
                unowned_stale.insert(p);
            }
        }
        let plan = server_balance::plan(&server_balance::Round {
            me: name,
            owners: &owners,
            live: &live,
            unowned_long,
            unowned_stale,
            own_start: self.own_start,
        });
        if !plan.release.is_empty() {
            let report = runtime.release(plan.release).await?;
            store.release_partitions(&plan.release).await?;
            eprintln!(
                "node {name}: gave partitions {} up to even out {} live nodes: let go of {} \
                 instance(s), {} schedule(s)",
                plan.release,
                live.len(),
                report.instances,
                report.schedules
            );
        }
        if plan.claim.is_empty() {
            return Ok(());
        }
        let got = store.claim_partitions(&plan.claim).await?;
        let new = got.difference(&runtime.partitions());
        if new.is_empty() {
            return Ok(());
        }
        let report = runtime.adopt(new).await?;
        eprintln!(
            "node {name}: took over partitions {new}: resumed {} instance(s), {} pending job(s)",
            report.instances, report.outbox_rows
        );
        for skipped in &report.skipped {
            eprintln!("  not resumed: {skipped}");
        }
        Ok(())
    }
}

/// Resolves with why, once the node was fenced (another node took its
/// partitions while it stalled); never while it holds its lease.
pub async fn fenced(store: &PgStore) -> String {
    let Some(mut rx) = store.node_state() else {
        return std::future::pending().await;
    };
    loop {
        if let LeaseState::Lost { holder } = &*rx.borrow_and_update() {
            return format!("its node lease ({holder} took its partitions over)");
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}
