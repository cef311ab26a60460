//! [`AnyStore`]: one store type over every durable backend, so the server
//! and the CLI verbs run unchanged on a SQLite file or a PostgreSQL
//! database, chosen at run time by a `--db` value ([`DbLocation`]).
//!
//! Each call is a `match` on the backend and then the backend's own call;
//! no boxing, no dynamic dispatch beyond that branch.

mod location;

pub use location::{DB_ENV, DbLocation};

use windlass_store_api::{
    Batch, DedupRead, DedupRow, DefinitionRead, DefinitionRow, HistoryEvent, HistoryRead,
    InstanceId, InstanceIndex, InstanceQuery, InstanceRef, InstanceRow, LatestDefinition,
    MessageRead, MessageRow, OutboxRead, OutboxRow, PartitionSet, RecoveredInstance, Recovery,
    ScheduleRead, ScheduleRow, StoreResult, StoreWrite, TimerRead, TimerRow, Timestamp,
};
use windlass_store_postgres::PgStore;
use windlass_store_sqlite::SqliteStore;

/// A store on one of the durable backends.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// A SQLite database file (one writing process).
    Sqlite(SqliteStore),
    /// A PostgreSQL database (several nodes may share it).
    Postgres(PgStore),
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> Self {
        AnyStore::Sqlite(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        AnyStore::Postgres(s)
    }
}

impl AnyStore {
    /// Where the store is, for messages: the file's path, or
    /// `host:port/database` (never a password).
    pub fn describe(&self) -> String {
        match self {
            AnyStore::Sqlite(s) => s.path().to_string(),
            AnyStore::Postgres(s) => format!("postgres {}", s.target()),
        }
    }

    /// The backend's name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

/// Runs `$call` on whichever store `$self` holds.
macro_rules! on_backend {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl StoreWrite for AnyStore {
    async fn commit(&self, batch: Batch) -> StoreResult<()> {
        on_backend!(self, s => s.commit(batch).await)
    }
}

impl HistoryRead for AnyStore {
    async fn history(&self, instance: &InstanceRef) -> StoreResult<Vec<HistoryEvent>> {
        on_backend!(self, s => s.history(instance).await)
    }

    async fn history_after(
        &self,
        instance: &InstanceRef,
        after_seq: u64,
    ) -> StoreResult<Vec<HistoryEvent>> {
        on_backend!(self, s => s.history_after(instance, after_seq).await)
    }
}

impl InstanceIndex for AnyStore {
    async fn instance(&self, instance: &InstanceRef) -> StoreResult<Option<InstanceRow>> {
        on_backend!(self, s => s.instance(instance).await)
    }

    async fn query_instances(&self, query: &InstanceQuery) -> StoreResult<Vec<InstanceRow>> {
        on_backend!(self, s => s.query_instances(query).await)
    }

    async fn latest_run(&self, id: &InstanceId) -> StoreResult<Option<InstanceRow>> {
        on_backend!(self, s => s.latest_run(id).await)
    }
}

impl DefinitionRead for AnyStore {
    async fn definition(&self, key: &str) -> StoreResult<Option<DefinitionRow>> {
        on_backend!(self, s => s.definition(key).await)
    }

    async fn definitions(&self) -> StoreResult<Vec<DefinitionRow>> {
        on_backend!(self, s => s.definitions().await)
    }

    async fn latest_definitions(&self) -> StoreResult<Vec<LatestDefinition>> {
        on_backend!(self, s => s.latest_definitions().await)
    }
}

impl OutboxRead for AnyStore {
    async fn pending_outbox(&self) -> StoreResult<Vec<OutboxRow>> {
        on_backend!(self, s => s.pending_outbox().await)
    }

    async fn pending_outbox_in(&self, partitions: &PartitionSet) -> StoreResult<Vec<OutboxRow>> {
        on_backend!(self, s => s.pending_outbox_in(partitions).await)
    }

    async fn pending_outbox_of_kinds_in(
        &self,
        partitions: &PartitionSet,
        kinds: &[&str],
    ) -> StoreResult<Vec<OutboxRow>> {
        on_backend!(self, s => s.pending_outbox_of_kinds_in(partitions, kinds).await)
    }

    async fn outbox_entry(&self, key: &str) -> StoreResult<Option<OutboxRow>> {
        on_backend!(self, s => s.outbox_entry(key).await)
    }
}

impl TimerRead for AnyStore {
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<TimerRow>> {
        on_backend!(self, s => s.due_timers(until, limit).await)
    }

    async fn due_timers_in(
        &self,
        partitions: &PartitionSet,
        until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<TimerRow>> {
        on_backend!(self, s => s.due_timers_in(partitions, until, limit).await)
    }

    async fn timers_of(&self, instance: &InstanceRef) -> StoreResult<Vec<TimerRow>> {
        on_backend!(self, s => s.timers_of(instance).await)
    }
}

impl MessageRead for AnyStore {
    async fn messages_for(
        &self,
        name: &str,
        correlation_key: &str,
        now: Timestamp,
    ) -> StoreResult<Vec<MessageRow>> {
        on_backend!(self, s => s.messages_for(name, correlation_key, now).await)
    }

    async fn live_messages(&self, now: Timestamp) -> StoreResult<Vec<MessageRow>> {
        on_backend!(self, s => s.live_messages(now).await)
    }
}

impl DedupRead for AnyStore {
    async fn dedup_entry(&self, key: &str) -> StoreResult<Option<DedupRow>> {
        on_backend!(self, s => s.dedup_entry(key).await)
    }

    async fn dedup_entries(&self) -> StoreResult<Vec<DedupRow>> {
        on_backend!(self, s => s.dedup_entries().await)
    }
}

impl ScheduleRead for AnyStore {
    async fn schedule(&self, id: &str) -> StoreResult<Option<ScheduleRow>> {
        on_backend!(self, s => s.schedule(id).await)
    }

    async fn schedules(&self) -> StoreResult<Vec<ScheduleRow>> {
        on_backend!(self, s => s.schedules().await)
    }
}

impl Recovery for AnyStore {
    async fn load_unfinished(&self) -> StoreResult<Vec<RecoveredInstance>> {
        on_backend!(self, s => s.load_unfinished().await)
    }

    async fn load_unfinished_in(
        &self,
        partitions: &PartitionSet,
    ) -> StoreResult<Vec<RecoveredInstance>> {
        on_backend!(self, s => s.load_unfinished_in(partitions).await)
    }
}
