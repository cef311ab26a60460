//! [`RuntimeOptions`]: shards, group commit size, intake bound, the injected clock and an
//! optional listener told about every finished instance.

use std::sync::Arc;
use windlass_store_api::{InstanceRef, InstanceStatus};
use windlass_types::{Clock, PartitionSet, SystemClock};

/// Told about every instance that finishes (after its final commit).
pub type FinishListener = Arc<dyn Fn(&InstanceRef, InstanceStatus) + Send + Sync>;

/// How to run.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Number of shard tasks instances are hashed onto (at least 1).
    pub shards: usize,
    /// At most this many inputs (commands, job outcomes) per group commit.
    pub group_cap: usize,
    /// Messages (starts, commands, waits) that may queue for one shard
    /// before senders wait: back-pressure instead of unbounded memory.
    pub intake_capacity: usize,
    /// The clock (tests inject `MockClock`).
    pub clock: Arc<dyn Clock>,
    /// Called for every finished instance, on the shard task: keep it cheap.
    pub on_finished: Option<FinishListener>,
    /// Resume every unfinished instance of the store on start (and dispatch
    /// its pending outbox rows). True by default; `windlass run` turns it
    /// off so it runs only its own instance (resuming is `recover`'s job).
    pub resume_unfinished: bool,
    /// The catch-up window of repeating timers: an occurrence of a cycle
    /// (a non-interrupting cycle boundary event) that fires later than
    /// this after its due time — typically after the runtime was down — is
    /// skipped (`TimerSkipped` in the history, counted in
    /// `RuntimeHandle::timer_stats`) and the cycle re-arms at its next
    /// occurrence. One-shot timers always fire, however late. `None` (the
    /// default): no limit, a late cycle fires once.
    pub timer_catch_up: Option<std::time::Duration>,
    /// How long the id of a consumed message is remembered, so publishing
    /// it again is answered `Duplicate` (at least until the message's own
    /// expiry, if that is later). A day by default.
    pub message_id_retention: std::time::Duration,
    /// Fire schedules (timer start events, `windlass:cron` sources). True
    /// by default; off, deployments still write their schedules but
    /// nothing fires (`windlass run` runs only its own instance).
    pub fire_schedules: bool,
    /// How long work whose commits fail with a transient or ambiguous store
    /// error (a database restarting or failing over, a lost connection)
    /// keeps being re-driven, about once a second after the first quick
    /// tries, before it is given up until the next start. A minute by
    /// default; at least `MAX_REDRIVES` (5) tries are made either way, and
    /// conflicts get only those.
    pub transient_retry_window: std::time::Duration,
    /// `None` (the default): the single node of its store, serving every
    /// instance partition. `Some(set)`: one of several writing nodes on one
    /// database, serving the partitions its node owns — even when that is
    /// every one, as other nodes may take some over later: it recovers and
    /// drives only their instances, generates ids inside them, refuses
    /// requests for instances elsewhere and refuses what is not yet
    /// partitioned (see `partitions.rs`). More are taken with
    /// `RuntimeHandle::adopt`.
    pub partitions: Option<PartitionSet>,
    /// On a node (`partitions` set): how often it looks for the deliveries
    /// left in its partitions — call-activity rows from other nodes'
    /// instances, broadcast signals' parts (`deliveries.rs`) — whether
    /// woken or not, and reads the latest version of every process (a
    /// version deployed through another node). A second by default.
    pub delivery_poll: std::time::Duration,
    /// On a node: woken when another node may have left deliveries in its
    /// partitions (with PostgreSQL, a `LISTEN` for the wake-ups their
    /// batches send), so it looks at once. `None`: it looks every
    /// `delivery_poll` only.
    pub delivery_wake: Option<Arc<tokio::sync::Notify>>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            shards: 1,
            group_cap: 4096,
            intake_capacity: 8192,
            clock: Arc::new(SystemClock),
            on_finished: None,
            resume_unfinished: true,
            timer_catch_up: None,
            message_id_retention: std::time::Duration::from_secs(24 * 3600),
            fire_schedules: true,
            transient_retry_window: std::time::Duration::from_secs(60),
            partitions: None,
            delivery_poll: std::time::Duration::from_secs(1),
            delivery_wake: None,
        }
    }
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("shards", &self.shards)
            .field("group_cap", &self.group_cap)
            .field("intake_capacity", &self.intake_capacity)
            .field("on_finished", &self.on_finished.is_some())
            .field("resume_unfinished", &self.resume_unfinished)
            .field("timer_catch_up", &self.timer_catch_up)
            .field("message_id_retention", &self.message_id_retention)
            .field("fire_schedules", &self.fire_schedules)
            .field("transient_retry_window", &self.transient_retry_window)
            .field("partitions", &self.partitions.map(|p| p.to_string()))
            .field("delivery_poll", &self.delivery_poll)
            .field("delivery_wake", &self.delivery_wake.is_some())
            .finish()
    }
}
