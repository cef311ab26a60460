//! The database lease: which process writes the database, judged by the
//! database's clock, renewed while the process lives, taken over when it
//! dies or stalls, and checked inside every batch's transaction (fencing).
//!
//! One row of `windlass_leases` (key 0) holds the owner, where its API
//! listens (so other nodes can forward to it), an epoch that grows with
//! every change of owner, and when the lease expires: one node writes the
//! database, the others stand by and forward (`docs/postgres.md`).
//! Partitioned ownership, where several nodes write at once, has tables
//! of its own (`node_lease.rs`); the two exclude each other.
//!
//! - **Taking it** ([`Lease::acquire`]) succeeds when the row is missing,
//!   expired by the database's `now()`, or its holder's lease session is
//!   gone from `pg_stat_activity` (the process died: no need to wait for
//!   the expiry), and no node under partitioned ownership is live (it
//!   then fences the dead nodes and clears the partition owners). Each
//!   take increments the epoch.
//! - **Renewing** runs on a connection of its own (outside the pool, so a
//!   busy pool cannot starve it) every third of the duration. It matches
//!   on the epoch, so a lease taken over is never renewed; an expired
//!   lease nobody took is renewed (nobody else wrote meanwhile: a take
//!   would have moved the epoch).
//! - **Fencing**: every batch first reads the row `FOR SHARE` in its own
//!   transaction and is refused with [`StoreError::Fenced`] unless the
//!   epoch is still this process's. The share lock makes a take-over wait
//!   for the batches in flight, and every batch after it sees the new
//!   epoch: a paused old owner, resumed, writes nothing.
//! - **Releasing** ([`Lease::release`]) on a graceful shutdown expires the
//!   row and sends `NOTIFY windlass_lease` in the same statement, which
//!   wakes the standbys listening ([`ReleaseListener`]) at once; they also
//!   poll, in case a notification is lost with a connection.

use crate::batch_ops::{Check, Op};
use crate::errors::map_pg;
use crate::holding::Holding;
use crate::tls::Dial;
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_postgres::Client;
use windlass_store_api::{StoreError, StoreResult};

/// The key of the database lease's row (the table's key column is named
/// `partition` for history; partitioned ownership does not use it).
pub(crate) const PARTITION: i32 = 0;

/// The channel releases are announced on.
const CHANNEL: &str = "windlass_lease";

/// How a process holds the database's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOptions {
    /// Who holds it, as other processes' messages name it (e.g.
    /// "windlass server pid 42 on host-a").
    pub owner: String,
    /// Where the holder's API listens (`http://host:port`), for nodes that
    /// forward requests to it; `None` for processes without an API.
    pub address: Option<String>,
    /// How long the lease lasts without a renewal (default 15 s): a
    /// stalled holder is taken over this long after its last renewal.
    pub duration: Duration,
}

impl LeaseOptions {
    /// A lease for `owner`, without an address, lasting 15 s.
    pub fn new(owner: impl Into<String>) -> LeaseOptions {
        LeaseOptions {
            owner: owner.into(),
            address: None,
            duration: Duration::from_secs(15),
        }
    }

    /// With the holder's API address.
    pub fn address(mut self, address: impl Into<String>) -> LeaseOptions {
        self.address = Some(address.into());
        self
    }

    /// Lasting `duration` (at least 300 ms).
    pub fn duration(mut self, duration: Duration) -> LeaseOptions {
        self.duration = duration.max(Duration::from_millis(300));
        self
    }
}

/// The lease's row as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Who holds (or last held) it.
    pub owner: String,
    /// Where its API listens, if it has one.
    pub address: Option<String>,
    /// How many times the lease changed hands.
    pub epoch: i64,
    /// Whether it is held: not expired, and its holder's session lives.
    pub live: bool,
    /// Milliseconds until it expires by the database's clock (negative:
    /// expired that long ago).
    pub expires_in_ms: i64,
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}'", self.owner)?;
        if let Some(a) = &self.address {
            write!(f, " (API at {a})")?;
        }
        let secs = self.expires_in_ms as f64 / 1000.0;
        if self.expires_in_ms >= 0 {
            write!(f, ", lease epoch {}, expires in {secs:.1} s", self.epoch)
        } else {
            write!(
                f,
                ", lease epoch {}, expired {:.1} s ago",
                self.epoch, -secs
            )
        }
    }
}

/// Where this process stands with its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Held at this epoch.
    Held {
        /// The epoch every batch is checked against.
        epoch: i64,
    },
    /// Another process took it over (named): nothing more is written.
    Lost {
        /// Who holds it now.
        holder: String,
    },
    /// Given up on purpose ([`PgStore::release_lease`](crate::PgStore::release_lease)).
    Released,
}

const ACQUIRE: &str = "INSERT INTO windlass_leases AS l (partition, owner, address, epoch,
         backend_pid, acquired_at, renewed_at, expires_at)
     VALUES ($1, $2, $3, 1, pg_backend_pid(), now(), now(), now() + make_interval(secs => $4))
     ON CONFLICT (partition) DO UPDATE SET owner = EXCLUDED.owner, address = EXCLUDED.address,
         epoch = l.epoch + 1, backend_pid = EXCLUDED.backend_pid, acquired_at = now(),
         renewed_at = now(), expires_at = EXCLUDED.expires_at
     WHERE l.expires_at <= now()
        OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.backend_pid)
     RETURNING epoch";

const RENEW: &str = "UPDATE windlass_leases SET renewed_at = now(),
         expires_at = now() + make_interval(secs => $3), backend_pid = pg_backend_pid()
     WHERE partition = $1 AND epoch = $2 RETURNING epoch";

const RELEASE: &str = "WITH r AS (UPDATE windlass_leases SET expires_at = now(), renewed_at = now()
         WHERE partition = $1 AND epoch = $2 RETURNING partition)
     SELECT pg_notify('windlass_lease', partition::text) FROM r";

const HOLDER: &str = "SELECT owner, address, epoch,
         expires_at > now() AND EXISTS (SELECT 1 FROM pg_stat_activity a
                                        WHERE a.pid = l.backend_pid),
         (extract(epoch FROM expires_at - now()) * 1000)::bigint
     FROM windlass_leases l WHERE partition = $1";

/// The fencing read every batch starts with (see the module docs).
const FENCE: &str =
    "SELECT epoch, owner, address FROM windlass_leases WHERE partition = $1 FOR SHARE";

/// Moves the database lease's epoch on and expires it, naming `$2` as
/// its owner: a paused holder that resumes is refused (partitioned
/// ownership takes over from a dead single writer, `node_lease.rs`).
pub(crate) const FENCE_OUT: &str = "UPDATE windlass_leases SET epoch = epoch + 1, owner = $2,
         address = NULL, expires_at = LEAST(expires_at, now())
     WHERE partition = $1";

/// Fences every (dead) node and forgets who owned which partition: the
/// single writer owns them all.
const END_PARTITIONED: &str = "UPDATE windlass_nodes SET epoch = epoch + 1,
         expires_at = LEAST(expires_at, now());
     DELETE FROM windlass_partition_owners";

/// Who holds the lease of `partition`, read through `client`.
pub(crate) async fn holder(
    client: &impl tokio_postgres::GenericClient,
    partition: i32,
    target: &str,
) -> StoreResult<Option<LeaseHolder>> {
    let row = client
        .query_opt(HOLDER, &[&partition])
        .await
        .map_err(|e| map_pg(e, target))?;
    let Some(r) = row else { return Ok(None) };
    let pg = |e| map_pg(e, target);
    Ok(Some(LeaseHolder {
        owner: r.try_get(0).map_err(pg)?,
        address: r.try_get(1).map_err(pg)?,
        epoch: r.try_get(2).map_err(pg)?,
        live: r.try_get(3).map_err(pg)?,
        expires_in_ms: r.try_get(4).map_err(pg)?,
    }))
}

/// The held database lease: its epoch and [`Holding`].
pub(crate) struct Lease {
    dial: Dial,
    options: LeaseOptions,
    epoch: i64,
    holding: Holding,
}

impl Lease {
    /// Takes the lease, or fails with [`StoreError::InUse`] naming the
    /// holder. The renewing task starts at once.
    pub(crate) async fn acquire(
        dial: Dial,
        target: &str,
        options: LeaseOptions,
    ) -> StoreResult<std::sync::Arc<Lease>> {
        let pg = |e| map_pg(e, target);
        let mut client = dial.session(target, |_| true).await?;
        let tx = client.transaction().await.map_err(pg)?;
        crate::node_lease::lock_ownership(&tx, target).await?;
        let live_node = format!(
            "SELECT n.node, n.address FROM windlass_nodes n WHERE {} LIMIT 1",
            crate::node_lease::LIVE
        );
        if let Some(node) = tx.query_opt(live_node.as_str(), &[]).await.map_err(pg)? {
            let name: String = node.try_get(0).map_err(pg)?;
            let address: Option<String> = node.try_get(1).map_err(pg)?;
            let at = address
                .map(|a| format!(" (API at {a})"))
                .unwrap_or_default();
            return Err(StoreError::InUse {
                path: target.to_string(),
                holder: format!("node '{name}'{at} and the other nodes owning its partitions"),
            });
        }
        tx.batch_execute(END_PARTITIONED).await.map_err(pg)?;
        let secs = options.duration.as_secs_f64();
        let row = tx
            .query_opt(
                ACQUIRE,
                &[&PARTITION, &options.owner, &options.address, &secs],
            )
            .await
            .map_err(pg)?;
        let Some(row) = row else {
            let holder = match holder(&tx, PARTITION, target).await? {
                Some(h) => h.to_string(),
                None => "another process".into(),
            };
            return Err(StoreError::InUse {
                path: target.to_string(),
                holder,
            });
        };
        let epoch: i64 = row.try_get(0).map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let lease = std::sync::Arc::new(Lease {
            dial,
            options,
            epoch,
            holding: Holding::new(target, epoch),
        });
        let duration = lease.options.duration;
        let task = tokio::spawn(renew_loop(
            std::sync::Arc::downgrade(&lease),
            client,
            duration,
        ));
        lease.holding.renewed_by(task);
        tracing::info!(epoch, owner = %lease.options.owner, "took the database lease");
        Ok(lease)
    }

    /// The epoch batches are checked against.
    pub(crate) fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The read every batch starts with (see the module docs).
    pub(crate) fn fence(&self) -> Op {
        Op::new(
            FENCE,
            vec![Box::new(PARTITION)],
            Check::Fence {
                epoch: self.epoch,
                node: false,
            },
        )
    }

    /// A receiver of the lease's state.
    pub(crate) fn watch(&self) -> watch::Receiver<LeaseState> {
        self.holding.watch()
    }

    /// The error for a batch refused now, if the lease is no longer held.
    pub(crate) fn refused(&self) -> Option<StoreError> {
        self.holding.refused("nobody (this process released it)")
    }

    /// Records that a batch found the lease moved to `holder`.
    pub(crate) fn lost(&self, holder: String) {
        if self.holding.lose(holder.clone()) {
            tracing::error!(%holder, "lost the database lease");
        }
    }

    /// Expires the lease at once and wakes the standbys. Later batches are
    /// refused.
    pub(crate) async fn release(&self) -> StoreResult<()> {
        if !self.holding.give_up() {
            return Ok(());
        }
        let target = self.holding.target();
        let client = self.dial.session(target, |_| true).await?;
        client
            .query(RELEASE, &[&PARTITION, &self.epoch])
            .await
            .map_err(|e| map_pg(e, target))?;
        tracing::info!(epoch = self.epoch, "released the database lease");
        Ok(())
    }
}

/// A lease a [`renew_loop`] keeps alive: the database lease, or a node's
/// lease under partitioned ownership (`node_lease.rs`).
pub(crate) trait Renewable: Send + Sync + 'static {
    /// How to open a new session when the renewing one broke.
    fn dial(&self) -> &Dial;
    /// The database, for messages.
    fn target(&self) -> &str;
    /// Renews on `client`: `Ok(false)` when the lease moved on.
    fn renew(
        &self,
        client: &Client,
    ) -> impl Future<Output = Result<bool, tokio_postgres::Error>> + Send;
    /// Who holds it now (after a failed renewal), for the lost state.
    fn holder_now(&self, client: &Client) -> impl Future<Output = String> + Send;
    /// Records that it moved to `holder`.
    fn lost(&self, holder: String);
}

impl Renewable for Lease {
    fn dial(&self) -> &Dial {
        &self.dial
    }

    fn target(&self) -> &str {
        self.holding.target()
    }

    async fn renew(&self, client: &Client) -> Result<bool, tokio_postgres::Error> {
        let secs = self.options.duration.as_secs_f64();
        let row = client
            .query_opt(RENEW, &[&PARTITION, &self.epoch, &secs])
            .await?;
        Ok(row.is_some())
    }

    async fn holder_now(&self, client: &Client) -> String {
        match holder(client, PARTITION, self.holding.target()).await {
            Ok(Some(h)) => h.to_string(),
            _ => "another process".into(),
        }
    }

    fn lost(&self, holder: String) {
        Lease::lost(self, holder);
    }
}

/// Renews every third of `duration` until the lease is dropped or lost.
/// A failed renewal (the database unreachable) is tried again each second
/// on a new session; the fence keeps batches safe meanwhile.
pub(crate) async fn renew_loop<L: Renewable>(
    lease: std::sync::Weak<L>,
    client: Client,
    duration: Duration,
) {
    let mut client = Some(client);
    let period = duration / 3;
    let mut wait = period;
    loop {
        tokio::time::sleep(wait).await;
        let Some(lease) = lease.upgrade() else { return };
        if client.as_ref().is_none_or(Client::is_closed) {
            client = lease.dial().session(lease.target(), |_| true).await.ok();
        }
        let Some(c) = &client else {
            wait = Duration::from_secs(1).min(period);
            continue;
        };
        match lease.renew(c).await {
            Ok(true) => wait = period,
            Ok(false) => {
                let holder = lease.holder_now(c).await;
                lease.lost(holder);
                return;
            }
            Err(e) => {
                tracing::warn!("renewing the lease failed (trying again): {e}");
                client = None;
                wait = Duration::from_secs(1).min(period);
            }
        }
    }
}

/// Wakes a standby when a holder releases the lease (`NOTIFY`), on a
/// session of its own.
pub struct ReleaseListener {
    notes: mpsc::UnboundedReceiver<()>,
    _client: Client,
}

impl ReleaseListener {
    /// Listens on `config`'s database.
    pub(crate) async fn listen(dial: &Dial, target: &str) -> StoreResult<ReleaseListener> {
        let (tx, notes) = mpsc::unbounded_channel();
        let client = dial
            .listen(target, CHANNEL, move |_| tx.send(()).is_ok())
            .await?;
        Ok(ReleaseListener {
            notes,
            _client: client,
        })
    }

    /// Waits until a release is announced (`true`) or `timeout` passes
    /// (`false`); try to take the lease either way, as a notification is
    /// lost with a broken session. Once the listening session is gone this
    /// only sleeps out `timeout`: the caller then relies on polling alone.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        match tokio::time::timeout(timeout, self.notes.recv()).await {
            Ok(Some(())) => true,
            Ok(None) => {
                tokio::time::sleep(timeout).await;
                false
            }
            Err(_) => false,
        }
    }
}
