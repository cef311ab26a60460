//! The PostgreSQL store backend: the store API over a PostgreSQL database,
//! on a server users already run, replicate and back up (operating it:
//! `docs/postgres.md`).
//!
//! - Connections come from a pool (deadpool-postgres); a connection that
//!   broke is dropped and replaced on the next checkout.
//! - Each [`Batch`] is one transaction (`commit.rs`). An append checks and
//!   moves the run's last sequence number in one conditional `UPDATE`, so
//!   two writers of one run cannot both succeed: the second gets
//!   [`StoreError::Conflict`].
//! - Errors carry the store API's classes (`errors.rs`): a connection lost
//!   during COMMIT is [`StoreError::Ambiguous`].
//! - [`PgStore::connect`] checks the schema and migrates it (`schema.rs`,
//!   [`SCHEMA_VERSION`]).
//! - A writing process holds the database's lease ([`PgOptions::lease`],
//!   `lease.rs`): judged by the database's clock, renewed, taken over when
//!   its holder dies or stalls, and checked inside every batch's
//!   transaction, so a stalled old holder writes nothing once another
//!   process took over. Other nodes stand by and forward to the holder.
//! - Or several processes write at once, each the partitions it owns
//!   (`node_lease.rs`, [`PgStore::join_as_node`]): node leases, partition
//!   owners, fencing per node, and partition-scoped recovery reads. The
//!   runtime does not run this way yet.
//!
//! - TLS (`tls.rs`): the URL's `sslmode` and `sslrootcert`, over rustls;
//!   the server's certificate is always verified.

mod batch_ops;
mod check;
mod commit;
mod convert;
mod errors;
mod holding;
mod lease;
mod node_lease;
mod node_store;
mod options;
mod reads;
mod schema;
mod table_reads;
mod tls;
mod wake;

pub use lease::{LeaseHolder, LeaseOptions, LeaseState, ReleaseListener};
pub use node_store::PartitionOwner;
pub use options::PgOptions;
pub use schema::{SCHEMA_VERSION, SchemaState};
pub use wake::WakeListener;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use errors::{map_pg, map_pool};
use std::sync::Arc;
use tokio_postgres::NoTls;
use windlass_store_api::{
    Batch, DedupRead, DedupRow, DefinitionRead, DefinitionRow, HistoryEvent, HistoryRead,
    InstanceId, InstanceIndex, InstanceQuery, InstanceRef, InstanceRow, LatestDefinition,
    MessageRead, MessageRow, OutboxRead, OutboxRow, PartitionSet, RecoveredInstance, Recovery,
    ScheduleRead, ScheduleRow, StoreError, StoreResult, StoreWrite, TimerRead, TimerRow, Timestamp,
};

/// A store in a PostgreSQL database. Cheap to clone (a handle on one
/// connection pool).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// `host:port/database`, for messages (never the password).
    target: String,
    schema: SchemaState,
    /// The driver configuration, for sessions outside the pool.
    dial: Arc<tls::Dial>,
    /// Held when the options asked for it (see [`PgOptions::lease`]).
    lease: Option<Arc<lease::Lease>>,
    /// Held after [`PgStore::join_as_node`].
    node: Option<Arc<node_lease::NodeLease>>,
    /// Which Windlass database its wake-ups are for: the schema (empty for
    /// the default), as every schema of a database shares one channel.
    wake_scope: Arc<str>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// or a `key=value` connection string) with default options, checks
    /// its schema and migrates it.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        PgStore::connect_with(PgOptions::new(url)).await
    }

    /// Connects with `options`.
    pub async fn connect_with(options: PgOptions) -> StoreResult<PgStore> {
        let config = options.config()?;
        let target = options.target(&config);
        let tls = options
            .tls()?
            .connector()
            .map_err(|e| StoreError::Invalid(format!("database {target}: {e}")))?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            None => Manager::from_config(config.clone(), NoTls, manager_config),
            Some(tls) => Manager::from_config(config.clone(), tls.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| StoreError::Invalid(format!("database {target}: {e}")))?;
        let mut conn = pool.get().await.map_err(|e| map_pool(e, &target))?;
        let schema = schema::prepare(&mut conn, &target, options.migrate).await?;
        drop(conn);
        let store = PgStore {
            pool,
            target,
            schema,
            dial: Arc::new(tls::Dial { config, tls }),
            lease: None,
            node: None,
            wake_scope: options.schema.clone().unwrap_or_default().into(),
        };
        match options.lease {
            // After migrating, which creates the lease table; concurrent
            // migrations are safe (see `schema.rs`).
            Some(lease) => store.with_lease(lease).await,
            None => Ok(store),
        }
    }

    /// This store holding the database's lease (sharing its pool), or
    /// [`StoreError::InUse`] naming the process that holds it
    /// ([`StoreError::Invalid`] for a store that already holds a lease).
    pub async fn with_lease(&self, options: LeaseOptions) -> StoreResult<PgStore> {
        if self.lease.is_some() || self.node.is_some() {
            return Err(StoreError::Invalid(format!(
                "database {}: this store already holds a lease (the database's, or a node's)",
                self.target
            )));
        }
        let lease = lease::Lease::acquire((*self.dial).clone(), &self.target, options).await?;
        Ok(PgStore {
            lease: Some(lease),
            ..self.clone()
        })
    }

    /// The state of the lease this store holds (`None`: it holds none):
    /// a process learns from it that another one took over.
    pub fn lease_state(&self) -> Option<tokio::sync::watch::Receiver<LeaseState>> {
        self.lease.as_ref().map(|l| l.watch())
    }

    /// The epoch of the lease this store holds, if it holds one.
    pub fn lease_epoch(&self) -> Option<i64> {
        self.lease.as_ref().map(|l| l.epoch())
    }

    /// Gives the lease up at once (a graceful shutdown, after the last
    /// batch) and wakes the standbys; later batches are refused. Does
    /// nothing when the store holds no lease or lost it.
    pub async fn release_lease(&self) -> StoreResult<()> {
        match &self.lease {
            Some(lease) => lease.release().await,
            None => Ok(()),
        }
    }

    /// Who holds (or last held) the database's lease.
    pub async fn lease_holder(&self) -> StoreResult<Option<LeaseHolder>> {
        let conn = self.conn().await?;
        lease::holder(&**conn, lease::PARTITION, &self.target).await
    }

    /// Listens for lease releases, to take over at once (see
    /// [`ReleaseListener`]).
    pub async fn release_listener(&self) -> StoreResult<ReleaseListener> {
        ReleaseListener::listen(&self.dial, &self.target).await
    }

    /// `host:port/database` of the store, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The schema version found at connect and the one the database has now.
    pub fn schema_state(&self) -> SchemaState {
        self.schema
    }

    /// Closes the pool: connections are closed as they come back.
    pub fn close(&self) {
        self.pool.close();
    }

    async fn conn(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|e| map_pool(e, &self.target))
    }
}

impl StoreWrite for PgStore {
    async fn commit(&self, batch: Batch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let _in_flight = match &self.node {
            Some(node) => Some(node.batch_guard().await),
            None => None,
        };
        let lead = match (&self.lease, &self.node) {
            (Some(lease), _) => {
                if let Some(refused) = lease.refused() {
                    return Err(refused);
                }
                vec![lease.fence()]
            }
            (None, Some(node)) => {
                if let Some(refused) = node.refuse(&batch) {
                    return Err(refused);
                }
                let wake = wake::notify_op(&batch, &node.owned(), &self.wake_scope);
                std::iter::once(node.fence()).chain(wake).collect()
            }
            (None, None) => Vec::new(),
        };
        let mut conn = self.conn().await?;
        let result = commit::commit(&mut conn, batch, &self.target, lead).await;
        if let Err(StoreError::Fenced { holder, .. }) = &result {
            if let Some(lease) = &self.lease {
                lease.lost(holder.clone());
            } else if let Some(node) = &self.node {
                node.lost(holder.clone());
            }
        }
        result
    }
}

impl HistoryRead for PgStore {
    async fn history(&self, instance: &InstanceRef) -> StoreResult<Vec<HistoryEvent>> {
        reads::history(&*self.conn().await?, instance, 0, &self.target).await
    }

    async fn history_after(
        &self,
        instance: &InstanceRef,
        after_seq: u64,
    ) -> StoreResult<Vec<HistoryEvent>> {
        reads::history(&*self.conn().await?, instance, after_seq, &self.target).await
    }
}

impl InstanceIndex for PgStore {
    async fn instance(&self, instance: &InstanceRef) -> StoreResult<Option<InstanceRow>> {
        reads::instance(&*self.conn().await?, instance, &self.target).await
    }

    async fn query_instances(&self, query: &InstanceQuery) -> StoreResult<Vec<InstanceRow>> {
        reads::query_instances(&*self.conn().await?, query, &self.target).await
    }

    async fn latest_run(&self, id: &InstanceId) -> StoreResult<Option<InstanceRow>> {
        reads::latest_run(&*self.conn().await?, id.as_str(), &self.target).await
    }
}

impl DefinitionRead for PgStore {
    async fn definition(&self, key: &str) -> StoreResult<Option<DefinitionRow>> {
        table_reads::definition(&*self.conn().await?, key, &self.target).await
    }

    async fn definitions(&self) -> StoreResult<Vec<DefinitionRow>> {
        table_reads::definitions(&*self.conn().await?, &self.target).await
    }

    async fn latest_definitions(&self) -> StoreResult<Vec<LatestDefinition>> {
        table_reads::latest_definitions(&*self.conn().await?, &self.target).await
    }
}

impl OutboxRead for PgStore {
    async fn pending_outbox(&self) -> StoreResult<Vec<OutboxRow>> {
        table_reads::pending_outbox(&*self.conn().await?, &self.target).await
    }

    async fn pending_outbox_in(&self, partitions: &PartitionSet) -> StoreResult<Vec<OutboxRow>> {
        let parts = convert::partition_columns(partitions);
        table_reads::pending_outbox_in(&*self.conn().await?, &parts, &self.target).await
    }

    async fn pending_outbox_of_kinds_in(
        &self,
        partitions: &PartitionSet,
        kinds: &[&str],
    ) -> StoreResult<Vec<OutboxRow>> {
        let parts = convert::partition_columns(partitions);
        let conn = self.conn().await?;
        table_reads::pending_outbox_of_kinds_in(&conn, &parts, kinds, &self.target).await
    }

    async fn outbox_entry(&self, key: &str) -> StoreResult<Option<OutboxRow>> {
        table_reads::outbox_entry(&*self.conn().await?, key, &self.target).await
    }
}

impl TimerRead for PgStore {
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<TimerRow>> {
        table_reads::due_timers(&*self.conn().await?, until, limit, &self.target).await
    }

    async fn due_timers_in(
        &self,
        partitions: &PartitionSet,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<TimerRow>> {
        let parts = convert::partition_columns(partitions);
        let conn = self.conn().await?;
        table_reads::due_timers_in(&conn, &parts, until, limit, &self.target).await
    }

    async fn timers_of(&self, instance: &InstanceRef) -> StoreResult<Vec<TimerRow>> {
        table_reads::timers_of(&*self.conn().await?, instance, &self.target).await
    }
}

impl MessageRead for PgStore {
    async fn messages_for(
        &self,
        name: &str,
        correlation_key: &str,
        now: Timestamp,
    ) -> StoreResult<Vec<MessageRow>> {
        let conn = self.conn().await?;
        table_reads::messages_for(&conn, name, correlation_key, now, &self.target).await
    }

    async fn live_messages(&self, now: Timestamp) -> StoreResult<Vec<MessageRow>> {
        table_reads::live_messages(&*self.conn().await?, now, &self.target).await
    }
}

impl DedupRead for PgStore {
    async fn dedup_entry(&self, key: &str) -> StoreResult<Option<DedupRow>> {
        table_reads::dedup_entry(&*self.conn().await?, key, &self.target).await
    }

    async fn dedup_entries(&self) -> StoreResult<Vec<DedupRow>> {
        table_reads::dedup_entries(&*self.conn().await?, &self.target).await
    }
}

impl ScheduleRead for PgStore {
    async fn schedule(&self, id: &str) -> StoreResult<Option<ScheduleRow>> {
        table_reads::schedule(&*self.conn().await?, id, &self.target).await
    }

    async fn schedules(&self) -> StoreResult<Vec<ScheduleRow>> {
        table_reads::schedules(&*self.conn().await?, &self.target).await
    }
}

impl Recovery for PgStore {
    async fn load_unfinished(&self) -> StoreResult<Vec<RecoveredInstance>> {
        let mut conn = self.conn().await?;
        reads::load_unfinished(&mut conn, None, &self.target).await
    }

    async fn load_unfinished_in(
        &self,
        partitions: &PartitionSet,
    ) -> StoreResult<Vec<RecoveredInstance>> {
        let parts = convert::partition_columns(partitions);
        let mut conn = self.conn().await?;
        reads::load_unfinished(&mut conn, Some(&parts), &self.target).await
    }
}

/// Maps a driver error of this store (for the modules' `map_err`).
pub(crate) fn pg(target: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| map_pg(e, target)
}
