//! What shards receive: messages from the handle and from other shards,
//! and their own follow-up inputs (job outcomes, fired retry timers).

use crate::definitions::ProcessDef;
use crate::error::RuntimeResult;
use crate::job::JobOutcome;
use std::sync::Arc;
use tokio::sync::oneshot;
use windlass_engine::{Command, JobKey, JobRequest};
use windlass_store_api::{InstanceRef, InstanceStatus, OutboxRow, StoreError};
use windlass_types::Vars;

/// Start a new instance.
pub(crate) struct StartMsg {
    /// The id and the proposed run (the shard may give the run a fresh id
    /// when the proposed one does not sort after the id's latest run).
    pub instance: InstanceRef,
    /// The id was chosen (by the request or the `windlass:instanceId`
    /// template), so it may clash: the shard applies `on_conflict`. False
    /// for generated ids and children (ids nobody else can name).
    pub chosen: bool,
    /// What to do when the id has a live run.
    pub on_conflict: crate::start::OnConflict,
    pub def: Arc<ProcessDef>,
    pub vars: Vars,
    pub business_key: Option<String>,
    /// The calling instance (call activity), if any.
    pub parent: Option<InstanceRef>,
    /// Answered after the commit.
    pub reply: Option<oneshot::Sender<RuntimeResult<InstanceRef>>>,
    /// An outbox row completed in the same commit (a pending child start).
    pub outbox_done: Option<String>,
    /// The top-level start event to start at (`Command::Start`).
    pub start_event: Option<String>,
    /// Message rows written with the creation (a message start's consumed
    /// message id).
    pub messages: Vec<windlass_store_api::MessageChange>,
    /// Schedule rows written with the creation (a schedule's fire: its
    /// next fire time moves on in the same commit).
    pub schedules: Vec<windlass_store_api::ScheduleChange>,
    /// Outbox rows inserted with the creation (a broadcast's start marker,
    /// `outbox/broadcast_seen.rs`).
    pub outbox: Vec<OutboxRow>,
}

/// Reset a run to an event of its history (`shard/reset.rs`).
pub(crate) struct ResetMsg {
    /// The run to reset.
    pub instance: InstanceRef,
    /// The last of its events the new run carries over.
    pub to_event: u64,
    /// Why, as the operator said.
    pub reason: String,
    /// Send the signals the run received after the point to the new run.
    pub reapply_signals: bool,
    /// Answered with the new run after the commit.
    pub reply: oneshot::Sender<RuntimeResult<InstanceRef>>,
}

/// A message for an open message subscription, from the correlator
/// (`messages/service.rs`).
pub(crate) struct Delivery {
    pub instance: InstanceRef,
    pub sub: windlass_engine::ids::SubId,
    pub message_id: Option<String>,
    pub vars: Vars,
    /// Written in the same batch as `MessageCorrelated` (consume the
    /// buffered row, or record the fresh message's id).
    pub changes: Vec<windlass_store_api::MessageChange>,
    /// The correlator's number for the answer.
    pub delivery: u64,
}

/// What a waiter learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitAnswer {
    /// The instance's last group commit failed: its work since the last
    /// good commit is lost from memory (its outbox rows stay pending for the
    /// next start), so it would wait forever.
    StoreFailed(Arc<StoreError>),
    /// The shard does not hold the instance (finished earlier or unknown):
    /// ask the store.
    NotLive,
    /// The instance's partition was given up (`shard/release.rs`):
    /// another node serves it now.
    Moved,
    /// It finished with this status.
    Finished(InstanceStatus),
    /// Nothing of its own is in flight: it waits for the outside world or
    /// for the children of its call activities (listed, to be waited on in
    /// turn: they may live on other shards).
    Settled {
        /// Its index status.
        status: InstanceStatus,
        /// Its last sequence number: unchanged on a later answer means
        /// nothing happened to it meanwhile.
        seq: u64,
        /// The children its call activities wait for.
        children: Vec<InstanceRef>,
    },
}

/// A message to a shard.
pub(crate) enum ShardMsg {
    Start(Box<StartMsg>),
    /// A command for a live instance.
    Command {
        instance: InstanceRef,
        cmd: Command,
        reply: Option<oneshot::Sender<RuntimeResult<()>>>,
        /// An outbox row completed in the same commit (a child's notice).
        outbox_done: Option<String>,
        /// Counted in the instance's in-flight work (a child's notice).
        counted: bool,
    },
    /// Reset a run (`shard/reset.rs`).
    Reset(Box<ResetMsg>),
    /// Re-dispatch a recovered outbox row.
    Dispatch(OutboxRow),
    /// Deliver a message (`Command::CorrelateMessage`), answered to the
    /// correlator after the commit.
    Deliver(Box<Delivery>),
    /// Signal the live run of the start's id, or start it and signal the
    /// new run (`shard/start.rs`).
    SignalWithStart {
        start: Box<StartMsg>,
        /// `Command::Signal`.
        signal: Command,
        reply: oneshot::Sender<RuntimeResult<InstanceRef>>,
    },
    /// An order of the dedup owner (`Command::GrantDedup` or
    /// `Command::Supersede`) for a claim of the instance under the entry
    /// key `scope`; a refused grant is released back to the owner.
    Dedup {
        instance: InstanceRef,
        scope: String,
        cmd: Command,
    },
    /// A sign of life from the external worker of a job: its deadline
    /// starts again (answered at once; nothing is written).
    Heartbeat {
        instance: InstanceRef,
        job: JobKey,
        reply: oneshot::Sender<RuntimeResult<()>>,
    },
    /// Deliver a BPMN broadcast signal to every live instance of the shard
    /// with an open subscription to it; answered with how many took it.
    Broadcast {
        name: String,
        vars: Vars,
        reply: oneshot::Sender<RuntimeResult<usize>>,
        /// Set for a thrown signal's broadcast: delivered at most once per
        /// partition (`outbox/broadcast_seen.rs`).
        once: Option<Arc<BroadcastOnce>>,
    },
    /// The publisher is done with a message `instance` threw (counted in
    /// its in-flight work): when `published`, the outbox row `key` is
    /// completed in the next commit — with `markers`, the broadcast's
    /// marker rows (`outbox/broadcast_seen.rs`) —; otherwise it stays
    /// pending.
    Published {
        instance: InstanceRef,
        key: String,
        published: bool,
        markers: Vec<String>,
    },
    /// Take over the instances of partitions the runtime adopted while
    /// running (`shard/adopt.rs`).
    Adopt(Box<Adopted>),
    /// Let go of the instances of partitions the runtime gives up
    /// (`shard/release.rs`): answered, with how many instances it let go,
    /// after the commit of the group it came in.
    Release {
        partitions: windlass_types::PartitionSet,
        reply: oneshot::Sender<usize>,
    },
    /// Answer when the instance finished (`settled` = false) or has nothing
    /// of its own in flight (`settled` = true; running children aside).
    Wait {
        instance: InstanceRef,
        settled: bool,
        reply: oneshot::Sender<WaitAnswer>,
    },
}

/// One unit of a shard's work.
pub(crate) enum Input {
    Msg(ShardMsg),
    /// A handler's answer (counted in-flight work).
    Outcome {
        instance: InstanceRef,
        job: JobKey,
        outcome: JobOutcome,
        /// From a spawned handler future (tracked in `Shard::running`).
        spawned: bool,
    },
    /// A timer's due time has come: fire it (`Command::FireTimer`).
    Timer {
        instance: InstanceRef,
        sub: windlass_engine::ids::SubId,
    },
    /// The deadline of an external worker's job passed (its `generation`-th
    /// arming: a heartbeat re-arms it): fail the attempt.
    Expired {
        instance: InstanceRef,
        job: JobKey,
        generation: u64,
    },
    /// A retry's `not_before` has come: dispatch the job now.
    Due {
        instance: InstanceRef,
        request: Box<JobRequest>,
        /// A recovered (interrupted) job: see `Done::recovered`.
        recovered: bool,
    },
    /// Pending work of a failed group commit, taken again (see
    /// `shard/redrive.rs`).
    Redrive(super::redrive::Redrive),
}

/// A shard's part of adopted partitions: their recovered instances and
/// the re-dispatch of their pending outbox rows.
pub(crate) struct Adopted {
    /// The partitions adopted (served again, should the shard have let
    /// them go before).
    pub partitions: windlass_types::PartitionSet,
    pub slots: super::SlotMap,
    pub queue: std::collections::VecDeque<Input>,
    /// Answered once the instances joined the shard.
    pub reply: oneshot::Sender<()>,
}

/// What makes a broadcast exactly once on a shard: its id (the broadcast
/// row's key) and the partitions that already have it (markers of an
/// earlier shard count, read by recovery).
#[derive(Debug)]
pub(crate) struct BroadcastOnce {
    /// The broadcast row's key.
    pub id: String,
    /// Partitions whose instances are skipped.
    pub covered: windlass_types::PartitionSet,
}
