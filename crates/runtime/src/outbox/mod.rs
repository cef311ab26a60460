//! The runtime's outbox entries: one typed [`OutboxEntry`] (a job attempt, a
//! pending child start, a finished child's notice, a pending child
//! termination) with one key, kind, encoding and decoding. The row formats
//! are stored and read back after a crash, so they never change: keys
//! `{instance}/{run}/{node}/{token}/{attempt}`, `start-child:{child}/{run}`,
//! `child-done:{child}/{run}` and `cancel-child:{child}/{run}`; kinds `job`
//! (or `job:{kind}`), `start-child`, `child-done` and `cancel-child`; a
//! binary job payload (legacy JSON still read) and JSON child payloads.
//! A thrown message's row: `publish.rs`; a thrown signal's: `broadcast.rs`,
//! with the markers that make its broadcast exactly once: `broadcast_seen.rs`;
//! a child's escalation for its parent: `escalation.rs`; a broadcast's part
//! for one partition (on nodes): `signal_to.rs`; which rows are deliveries
//! between instances, and their senders: `delivery.rs`.

mod broadcast;
pub(crate) mod broadcast_seen;
pub(crate) mod delivery;
mod escalation;
mod job;
mod keys;
mod publish;
pub(crate) mod signal_to;

use crate::error::{RuntimeError, RuntimeResult};
pub use broadcast::{ThrownSignal, broadcast_key};
pub use escalation::{ChildEscalation, child_escalated_key};
pub use job::{decode_job, encode_job};
pub use keys::{
    cancel_child_key, child_done_key, child_id, child_ref, job_key, parent_token, parse_job_key,
    start_child_key,
};
pub use publish::{ThrownMessage, publish_key};
use serde::{Deserialize, Serialize};
pub use signal_to::{SignalTo, signal_to_key};
use windlass_engine::JobRequest;
use windlass_engine::ids::TokenId;
use windlass_store_api::{InstanceRef, OutboxRow};
use windlass_types::{Timestamp, Vars};

/// Outbox row kind of a job (followed by `:kind` when the task has one).
const KIND_JOB: &str = "job";
/// Outbox row kind of a pending child start.
const KIND_START_CHILD: &str = "start-child";

/// True for an outbox row kind that creates the instance the row belongs
/// to (a call activity's pending child start), so that instance need not
/// exist yet (`windlass db check`).
pub fn creates_its_instance(kind: &str) -> bool {
    kind == KIND_START_CHILD
}
/// Outbox row kind of a finished child's notice to its parent.
const KIND_CHILD_DONE: &str = "child-done";
/// Outbox row kind of a pending child termination.
const KIND_CANCEL_CHILD: &str = "cancel-child";

/// A call activity's request for a child instance (the JSON payload of a
/// `start-child` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartChild {
    /// The parent's instance id.
    pub parent_id: String,
    /// The parent's run id.
    pub parent_run: String,
    /// The parent's definition key (the child runs a process of the same
    /// deployed document).
    pub parent_definition: String,
    /// The called process id.
    pub process_id: String,
    /// Which deployed version of it. Rows written before bindings existed
    /// have none: they run the caller's document's version, as then.
    #[serde(default = "deployment_binding")]
    pub binding: windlass_model::CallBinding,
    /// The call activity's token in the parent.
    pub token: TokenId,
    /// The child's input variables.
    pub vars: Vars,
}

/// The binding of a `start-child` row written without one.
fn deployment_binding() -> windlass_model::CallBinding {
    windlass_model::CallBinding::Deployment
}

impl StartChild {
    /// The calling instance.
    pub fn parent(&self) -> InstanceRef {
        InstanceRef::new(self.parent_id.clone(), self.parent_run.clone())
    }
}

/// A finished child's notice to its parent (the JSON payload of a
/// `child-done` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildDone {
    /// The parent's call activity token.
    pub token: TokenId,
    /// Completed (true) or failed.
    pub completed: bool,
    /// Final variables (completed).
    pub outputs: Vars,
    /// Uncaught error code (failed).
    pub code: Option<String>,
    /// Why it failed.
    pub message: String,
    /// The child never started: its process cannot be found on the child's
    /// node (the parent's call activity gets an incident, as when the
    /// parent's node cannot find it; written only when the child's node is
    /// another node). Absent in rows written before it existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_started: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The termination of a child whose call activity was interrupted (the JSON
/// payload of a `cancel-child` row): the child's shard applies
/// `Command::Terminate { reason }` to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelChild {
    /// Why, for people: names the parent.
    pub reason: String,
}

impl CancelChild {
    /// The termination of a child of `parent` whose call activity was
    /// interrupted.
    pub fn interrupted_in(parent: &InstanceRef) -> CancelChild {
        CancelChild {
            reason: format!("its call activity in {parent} was interrupted"),
        }
    }
}

/// One outbox entry of the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxEntry {
    /// A job attempt of `instance`.
    Job {
        /// The instance the job belongs to.
        instance: InstanceRef,
        /// The job.
        request: Box<JobRequest>,
    },
    /// A pending start of the child instance `child`.
    StartChild {
        /// The child to start.
        child: InstanceRef,
        /// What to start.
        start: Box<StartChild>,
    },
    /// The notice of the finished child `child` to its parent `parent`.
    ChildDone {
        /// The child that finished.
        child: InstanceRef,
        /// The calling instance.
        parent: InstanceRef,
        /// How it ended.
        done: Box<ChildDone>,
    },
    /// The pending termination of the child `child`.
    CancelChild {
        /// The child to terminate.
        child: InstanceRef,
        /// Why.
        cancel: CancelChild,
    },
    /// A message thrown by `instance`, to publish.
    Publish {
        /// The throwing instance.
        instance: InstanceRef,
        /// The message.
        message: Box<ThrownMessage>,
    },
    /// A signal thrown by `instance`, to broadcast.
    Broadcast {
        /// The throwing instance.
        instance: InstanceRef,
        /// The signal.
        signal: Box<ThrownSignal>,
    },
    /// An escalation a child sent up, for its parent `parent`.
    ChildEscalated {
        /// The calling instance.
        parent: InstanceRef,
        /// The escalation (naming the child).
        escalation: Box<ChildEscalation>,
    },
    /// A broadcast signal for the waiting instances of one partition.
    SignalTo {
        /// The partition's anchor (`signal_to.rs`).
        anchor: InstanceRef,
        /// The signal and its partition.
        signal: Box<SignalTo>,
    },
}

impl OutboxEntry {
    /// The row key (a job's idempotency key, or the child row's key).
    pub fn key(&self) -> String {
        match self {
            OutboxEntry::Job { instance, request } => job_key(instance, &request.key),
            OutboxEntry::StartChild { child, .. } => start_child_key(child),
            OutboxEntry::ChildDone { child, .. } => child_done_key(child),
            OutboxEntry::CancelChild { child, .. } => cancel_child_key(child),
            OutboxEntry::Publish { instance, message } => publish_key(instance, message.number),
            OutboxEntry::Broadcast { instance, signal } => broadcast_key(instance, signal.number),
            OutboxEntry::ChildEscalated { escalation, .. } => {
                child_escalated_key(&escalation.child(), escalation.number)
            }
            OutboxEntry::SignalTo { signal, .. } => {
                signal_to_key(&signal.broadcast, signal.partition())
            }
        }
    }

    /// The row kind.
    pub fn kind(&self) -> String {
        match self {
            OutboxEntry::Job { request, .. } => job_kind(request),
            OutboxEntry::StartChild { .. } => KIND_START_CHILD.to_string(),
            OutboxEntry::ChildDone { .. } => KIND_CHILD_DONE.to_string(),
            OutboxEntry::CancelChild { .. } => KIND_CANCEL_CHILD.to_string(),
            OutboxEntry::Publish { .. } => publish::KIND_PUBLISH.to_string(),
            OutboxEntry::Broadcast { .. } => broadcast::KIND_BROADCAST.to_string(),
            OutboxEntry::ChildEscalated { .. } => escalation::KIND_CHILD_ESCALATED.to_string(),
            OutboxEntry::SignalTo { .. } => signal_to::KIND_SIGNAL_TO.to_string(),
        }
    }

    /// The instance whose shard carries the entry out: the job's instance,
    /// the child to start, the parent to notify, the child to terminate,
    /// the instance that threw the message or signal, the parent a child's
    /// escalation goes to, the anchor of a broadcast's partition.
    pub fn target(&self) -> &InstanceRef {
        match self {
            OutboxEntry::Job { instance, .. } => instance,
            OutboxEntry::StartChild { child, .. } => child,
            OutboxEntry::ChildDone { parent, .. } => parent,
            OutboxEntry::CancelChild { child, .. } => child,
            OutboxEntry::Publish { instance, .. } => instance,
            OutboxEntry::Broadcast { instance, .. } => instance,
            OutboxEntry::ChildEscalated { parent, .. } => parent,
            OutboxEntry::SignalTo { anchor, .. } => anchor,
        }
    }

    /// The row payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            OutboxEntry::Job { request, .. } => encode_job(request),
            OutboxEntry::StartChild { start, .. } => encode_json(start),
            OutboxEntry::ChildDone { done, .. } => encode_json(done),
            OutboxEntry::CancelChild { cancel, .. } => encode_json(cancel),
            OutboxEntry::Publish { message, .. } => encode_json(message),
            OutboxEntry::Broadcast { signal, .. } => encode_json(signal),
            OutboxEntry::ChildEscalated { escalation, .. } => encode_json(escalation),
            OutboxEntry::SignalTo { signal, .. } => encode_json(signal),
        }
    }

    /// The row to insert, due at `due_at` (a job's `not_before` wins).
    pub fn to_row(&self, due_at: Timestamp) -> OutboxRow {
        if let OutboxEntry::Job { instance, request } = self {
            return job_row(instance, request, due_at);
        }
        OutboxRow {
            key: self.key(),
            kind: self.kind(),
            instance: Some(self.target().clone()),
            payload: self.encode(),
            due_at,
            attempt: 1,
            lease: None,
        }
    }

    /// Reads a stored row (written by this or an older build).
    pub fn decode(row: &OutboxRow) -> RuntimeResult<OutboxEntry> {
        let what = || format!("outbox row {}", row.key);
        let corrupt = |detail: String| RuntimeError::Corrupt {
            what: what(),
            detail,
        };
        let target = row
            .instance
            .clone()
            .ok_or_else(|| corrupt("the row names no instance".into()))?;
        if row.kind == KIND_JOB || row.kind.starts_with("job:") {
            let request = decode_job(&row.payload, &what())?;
            Ok(OutboxEntry::Job {
                instance: target,
                request: Box::new(request),
            })
        } else if row.kind == KIND_START_CHILD {
            Ok(OutboxEntry::StartChild {
                child: target,
                start: Box::new(decode_json(&row.payload, &what())?),
            })
        } else if row.kind == KIND_CHILD_DONE {
            let child = keys::parse_child_done_key(&row.key)
                .ok_or_else(|| corrupt("a child-done key must name the child".into()))?;
            Ok(OutboxEntry::ChildDone {
                child,
                parent: target,
                done: Box::new(decode_json(&row.payload, &what())?),
            })
        } else if row.kind == KIND_CANCEL_CHILD {
            Ok(OutboxEntry::CancelChild {
                child: target,
                cancel: decode_json(&row.payload, &what())?,
            })
        } else if row.kind == publish::KIND_PUBLISH {
            Ok(OutboxEntry::Publish {
                instance: target,
                message: Box::new(decode_json(&row.payload, &what())?),
            })
        } else if row.kind == broadcast::KIND_BROADCAST {
            Ok(OutboxEntry::Broadcast {
                instance: target,
                signal: Box::new(decode_json(&row.payload, &what())?),
            })
        } else if row.kind == escalation::KIND_CHILD_ESCALATED {
            Ok(OutboxEntry::ChildEscalated {
                parent: target,
                escalation: Box::new(decode_json(&row.payload, &what())?),
            })
        } else if row.kind == signal_to::KIND_SIGNAL_TO {
            Ok(OutboxEntry::SignalTo {
                anchor: target,
                signal: Box::new(decode_json(&row.payload, &what())?),
            })
        } else {
            Err(corrupt(format!("unknown kind '{}'", row.kind)))
        }
    }
}

/// Whether `row` is a pending child termination (recovery queues those
/// last).
pub fn is_cancel_child(row: &OutboxRow) -> bool {
    row.kind == KIND_CANCEL_CHILD
}

/// Whether `row` is an escalation a child sent up (recovery queues those
/// first).
pub fn is_child_escalated(row: &OutboxRow) -> bool {
    row.kind == escalation::KIND_CHILD_ESCALATED
}

/// The row of a job attempt (the hot path of [`OutboxEntry::to_row`]: no
/// copy of the request).
pub fn job_row(instance: &InstanceRef, request: &JobRequest, now: Timestamp) -> OutboxRow {
    OutboxRow {
        key: job_key(instance, &request.key),
        kind: job_kind(request),
        instance: Some(instance.clone()),
        payload: encode_job(request),
        due_at: request.not_before.unwrap_or(now),
        attempt: request.key.attempt,
        lease: None,
    }
}

/// The outbox kind of a job: `job` or `job:{kind}`.
fn job_kind(req: &JobRequest) -> String {
    match &req.kind {
        Some(k) => format!("{KIND_JOB}:{k}"),
        None => KIND_JOB.to_string(),
    }
}

/// Encodes a child payload as JSON.
fn encode_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings, numbers and JSON values cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a child payload; `what` names the row.
fn decode_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> RuntimeResult<T> {
    serde_json::from_slice(bytes).map_err(|e| RuntimeError::Corrupt {
        what: what.to_string(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
