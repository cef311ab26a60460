//! Effects: what the engine asks the outside world to do, as data.

use crate::event::{Event, JobPurpose};
use crate::ids::{IncidentId, JobKey, SubId, TokenId};
use std::collections::BTreeMap;
use windlass_model::TaskType;
use windlass_types::{Timestamp, Vars};

/// Everything a runtime needs to run one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    /// Instance-agnostic idempotency key parts (node, token, attempt).
    pub key: JobKey,
    /// The node's element id.
    pub node_id: String,
    /// The resolved, whitespace-normalised task name (`None` when unnamed).
    pub name: Option<String>,
    /// The BPMN task type (`None` for a complex gateway decision).
    pub task_type: Option<TaskType>,
    /// What the job is for.
    pub purpose: JobPurpose,
    /// `windlass:task kind` / Zeebe job type.
    pub kind: Option<String>,
    /// Kind settings rendered from the variables.
    pub settings: BTreeMap<String, String>,
    /// Visible variables (innermost scope wins) plus input mappings.
    pub inputs: Vars,
    /// Do not run before this time (retry backoff).
    pub not_before: Option<Timestamp>,
    /// Attempts allowed in total before an incident.
    pub max_attempts: u32,
    /// Per-attempt timeout, ms.
    pub timeout_millis: Option<u64>,
}

/// How an instance ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// No token left; final root variables.
    Completed(Vars),
    /// An uncaught error or a failure.
    Failed {
        /// Uncaught BPMN error code, if any.
        code: Option<String>,
        /// Why.
        reason: String,
    },
    /// Terminated by `Command::Terminate`: the parent, if any, is not
    /// notified (its call activity was interrupted; see `docs/engine.md`).
    Terminated {
        /// Why.
        reason: String,
    },
    /// Cancelled by `Command::Cancel`: like a terminated instance, the
    /// parent, if any, is not notified (it cancelled this child).
    Cancelled {
        /// The reason given with the cancel.
        reason: String,
    },
    /// Replaced by a newer claim for the dedup key it waited for
    /// (`Command::Supersede`).
    Superseded {
        /// The key.
        key: String,
        /// The id of the instance that replaced it.
        by: String,
    },
}

/// One effect.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a job.
    RunJob(Box<JobRequest>),
    /// A job is no longer wanted (its activity was interrupted).
    CancelJob(JobKey),
    /// Start a child instance for a call activity; answer with
    /// `ChildCompleted` / `ChildFailed` for `token`, or `ChildNotStarted`
    /// when no deployed process fits.
    StartChild {
        /// The call activity's token.
        token: TokenId,
        /// The called process id.
        process_id: String,
        /// Which deployed version of it.
        binding: windlass_model::CallBinding,
        /// The child's input variables.
        vars: Vars,
    },
    /// Cancel a child instance (its call activity was interrupted).
    CancelChild {
        /// The call activity's token.
        token: TokenId,
    },
    /// An incident was raised; a person must act.
    IncidentRaised {
        /// The incident.
        incident: IncidentId,
        /// Why.
        message: String,
    },
    /// The instance finished; notify a parent if there is one.
    InstanceFinished(Finish),
    /// An escalation nothing in this instance caught goes on to the call
    /// activity of its parent (only for an instance with a parent; the
    /// runtime delivers it as `Command::ChildEscalated`): the `number`-th
    /// the instance sent, so a delivery made twice is recognised.
    EscalateToParent {
        /// Its number among the escalations the instance sent up.
        number: u32,
        /// The escalation code, if any.
        code: Option<String>,
    },
    /// Publish a message thrown by a message throw or end event
    /// (`Event::MessageThrown`): the `number`-th of the instance, so a
    /// runtime can give it a message id that makes publishing it again
    /// after a crash a duplicate.
    PublishMessage {
        /// Its number among the instance's thrown messages.
        number: u32,
        /// The message name.
        name: String,
        /// The correlation key.
        correlation_key: Option<String>,
        /// Its variables.
        vars: Vars,
        /// How long it stays buffered when nothing waits, in milliseconds
        /// (the event's `windlass:publish ttl`); `None`: until consumed.
        ttl_millis: Option<u64>,
    },
    /// Broadcast a signal thrown by a signal throw or end event
    /// (`Event::SignalThrown`, the `number`-th of the instance) to every
    /// waiting subscription and signal start event, this instance's
    /// included.
    BroadcastSignal {
        /// Its number among the instance's thrown signals.
        number: u32,
        /// The signal name.
        name: String,
        /// Its variables.
        vars: Vars,
    },
}

/// What a runtime does about timers after a decision's events are
/// committed: arm a timer, or forget one. Derived from the events
/// ([`timer_effects`]) rather than carried in [`Effect`], so every consumer
/// of effects keeps working unchanged; a runtime checks them against the
/// state after commit (a timer opened and closed in one group is never
/// armed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerEffect {
    /// Arm timer `sub`: fire it with `Command::FireTimer` once `due_at`
    /// has come.
    ScheduleTimer {
        /// The subscription.
        sub: SubId,
        /// When it is due.
        due_at: Timestamp,
    },
    /// Timer `sub` fired or was closed: forget it.
    CancelTimer {
        /// The subscription.
        sub: SubId,
    },
}

/// The timer effects of `events`, in order: `TimerScheduled` arms,
/// `TimerFired`, `TimerCancelled` and `TimerSkipped` forget.
pub fn timer_effects(events: &[Event]) -> impl Iterator<Item = TimerEffect> + '_ {
    events.iter().filter_map(|e| match e {
        Event::TimerScheduled { sub, due_at, .. } => Some(TimerEffect::ScheduleTimer {
            sub: *sub,
            due_at: *due_at,
        }),
        Event::TimerFired { sub } | Event::TimerCancelled { sub } | Event::TimerSkipped { sub } => {
            Some(TimerEffect::CancelTimer { sub: *sub })
        }
        _ => None,
    })
}
