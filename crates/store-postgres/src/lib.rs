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
//! - A writing process holds the schema's writer lock
//!   ([`PgOptions::writer_lock`], `writer_lock.rs`): one writer per
//!   database schema, as with a SQLite file.
//!
//! Not yet here: TLS connections (`sslmode=require` is refused at connect),
//! partition leases with fencing so several nodes write one database,
//! LISTEN/NOTIFY wake-ups.

mod batch_ops;
mod check;
mod commit;
mod convert;
mod errors;
mod options;
mod reads;
mod schema;
mod table_reads;
mod writer_lock;

pub use options::PgOptions;
pub use schema::{SCHEMA_VERSION, SchemaState};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use errors::{map_pg, map_pool};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;
use windlass_store_api::{
    Batch, DedupRead, DedupRow, DefinitionRead, DefinitionRow, HistoryEvent, HistoryRead,
    InstanceId, InstanceIndex, InstanceQuery, InstanceRef, InstanceRow, MessageRead, MessageRow,
    OutboxRead, OutboxRow, RecoveredInstance, Recovery, ScheduleRead, ScheduleRow, StoreError,
    StoreResult, StoreWrite, TimerRead, TimerRow, Timestamp,
};

/// A store in a PostgreSQL database. Cheap to clone (a handle on one
/// connection pool).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// `host:port/database`, for messages (never the password).
    target: String,
    schema: SchemaState,
    /// Held when the options asked for it (see [`PgOptions::writer_lock`]).
    lock: writer_lock::SharedWriterLock,
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
        if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Invalid(format!(
                "database {}: sslmode=require is not supported yet (TLS to PostgreSQL is \
                 not built in); connect over a trusted network or a local proxy",
                options.target(&config)
            )));
        }
        let target = options.target(&config);
        // The lock first: a second writer is refused before it migrates.
        let lock = if options.writer_lock {
            let lock = writer_lock::WriterLock::acquire(config.clone(), &target).await?;
            Some(std::sync::Arc::new(lock))
        } else {
            None
        };
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
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
        Ok(PgStore {
            pool,
            target,
            schema,
            lock,
        })
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
        if let Some(lock) = &self.lock {
            lock.ensure(&self.target).await?;
        }
        let mut conn = self.conn().await?;
        commit::commit(&mut conn, batch, &self.target).await
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
}

impl OutboxRead for PgStore {
    async fn pending_outbox(&self) -> StoreResult<Vec<OutboxRow>> {
        table_reads::pending_outbox(&*self.conn().await?, &self.target).await
    }

    async fn outbox_entry(&self, key: &str) -> StoreResult<Option<OutboxRow>> {
        table_reads::outbox_entry(&*self.conn().await?, key, &self.target).await
    }
}

impl TimerRead for PgStore {
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<TimerRow>> {
        table_reads::due_timers(&*self.conn().await?, until, limit, &self.target).await
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
        reads::load_unfinished(&mut conn, &self.target).await
    }
}

/// Maps a driver error of this store (for the modules' `map_err`).
pub(crate) fn pg(target: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |e| map_pg(e, target)
}
