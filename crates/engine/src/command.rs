//! Commands: what the outside world asks of an instance.

use crate::event::{CompletedBy, JobFailure, Resolution};
use crate::ids::{IncidentId, JobKey, SubId, TokenId};
use windlass_types::Vars;

/// A request to change an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start the instance (first command of every history).
    Start {
        /// Input variables.
        vars: Vars,
        /// Business key, if any.
        business_key: Option<String>,
        /// Start at this start event (by element id) instead of the none
        /// start events.
        start_event: Option<String>,
        /// True when a call activity of a parent instance starts it.
        has_parent: bool,
    },
    /// A job finished successfully.
    CompleteJob {
        /// Which job.
        job: JobKey,
        /// Its output variables.
        outputs: Vars,
        /// Who completed it.
        by: CompletedBy,
    },
    /// A job attempt failed.
    FailJob {
        /// Which job.
        job: JobKey,
        /// How it failed.
        failure: JobFailure,
    },
    /// The child instance of a call activity completed.
    ChildCompleted {
        /// The call activity's token.
        token: TokenId,
        /// The child's final variables.
        outputs: Vars,
    },
    /// The child instance of a call activity failed.
    ChildFailed {
        /// The call activity's token.
        token: TokenId,
        /// The uncaught error code, if an error ended the child.
        code: Option<String>,
        /// Why, for people.
        message: String,
    },
    /// The child instance of a call activity could not be started (no
    /// deployed process fits the call): an incident on the call activity,
    /// naming why; retrying it (once the process is deployed) asks for the
    /// child again.
    ChildNotStarted {
        /// The call activity's token.
        token: TokenId,
        /// Why, naming the called process.
        message: String,
    },
    /// The child instance of a call activity threw an escalation that
    /// nothing in it caught, its `number`-th to this parent (0-based): the
    /// escalation is looked for from the call activity outward. A number
    /// already taken (a notice delivered twice) is refused.
    ChildEscalated {
        /// The call activity's token.
        token: TokenId,
        /// The child's running number of escalations sent to its parent.
        number: u32,
        /// The escalation code, if any.
        code: Option<String>,
    },
    /// An operator resolves an incident.
    ResolveIncident {
        /// Which incident.
        incident: IncidentId,
        /// Run the job again, or complete it with these variables.
        action: IncidentAction,
    },
    /// End the instance now: cancel every token (with its jobs, child
    /// instances and scopes), record `InstanceTerminated` and finish with
    /// status terminated. No handler runs; nothing is caught.
    Terminate {
        /// Why, for people.
        reason: String,
    },
    /// A timer subscription is due (its `due_at` has come). Refused with
    /// [`crate::DecideError::UnknownSubscription`] unless the subscription
    /// is open, so a stale or duplicate fire decides nothing.
    FireTimer {
        /// Which timer subscription.
        sub: SubId,
    },
    /// A published message correlated to an open message subscription (the
    /// caller matched its name and correlation key, see
    /// [`crate::InstanceState::message_subscriptions`]). Refused with
    /// [`crate::DecideError::UnknownSubscription`] unless `sub` is an open
    /// message subscription.
    CorrelateMessage {
        /// Which message subscription.
        sub: SubId,
        /// The message's id, when the publisher gave one (recorded).
        message_id: Option<String>,
        /// The message's variables: the catching event's output mappings
        /// read them, or, without mappings, they are set as they are.
        vars: Vars,
    },
    /// A signal sent to this instance (as Cadence / Temporal signal a
    /// workflow): the oldest open signal subscription with this name takes
    /// it; when none waits, it is kept in the instance
    /// ([`crate::InstanceState::signals`]) until one opens, oldest first.
    Signal {
        /// The signal name.
        name: String,
        /// Its variables (through the catching node's output mappings).
        vars: Vars,
    },
    /// A BPMN broadcast signal reaching this instance: every open signal
    /// subscription with this name takes it at once; nothing is kept when
    /// none waits.
    BroadcastSignal {
        /// The signal name.
        name: String,
        /// Its variables.
        vars: Vars,
    },
    /// A timer subscription is due, but so late that the runtime's catch-up
    /// window says not to run it: a repeating timer (a non-interrupting
    /// cycle boundary event) records `TimerSkipped` and re-arms at its next
    /// occurrence without spawning a token; a one-shot timer (a catch event,
    /// a date, a duration, an interrupting boundary) fires as with
    /// [`Command::FireTimer`], since it has no later occurrence to wait for.
    /// Refused like `FireTimer` unless the subscription is open.
    SkipTimer {
        /// Which timer subscription.
        sub: SubId,
    },
    /// Cancel the instance: `CancelRequested` is recorded and the cancel is
    /// thrown as the error [`crate::CANCEL_CODE`] at every waiting token.
    /// Error boundary events and error event sub-processes naming exactly
    /// that code catch it and run as cleanup; every token nothing catches
    /// is cancelled with what runs under it. Once no token is left the
    /// instance ends `Cancelled`. Refused on a finished instance
    /// ([`crate::DecideError::NotRunning`]) and while an earlier cancel's
    /// cleanup runs ([`crate::DecideError::AlreadyCancelling`]).
    Cancel {
        /// Why, for people.
        reason: String,
    },
    /// Suspend the instance: what arrives is still recorded, but jobs and
    /// child instances asked for meanwhile are held (no `RunJob` /
    /// `StartChild` effect) and timers do not fire (`FireTimer` /
    /// `SkipTimer` are refused with [`crate::DecideError::Suspended`]).
    /// Refused when already suspended.
    Suspend {
        /// Why, for people.
        reason: String,
    },
    /// Resume a suspended instance: the held jobs and child instances are
    /// asked for now. Refused when not suspended.
    Resume,
    /// The state is run `from_run`'s history up to its event `at_seq`,
    /// carried into a new run of the same instance: record
    /// [`Event::RunReset`](crate::Event::RunReset) and ask again for the
    /// jobs and child instances open at that point (held instead when the
    /// instance was suspended there). Refused when the point is inside one
    /// decision.
    Reset {
        /// The run whose history was carried over.
        from_run: String,
        /// The last event carried over.
        at_seq: u64,
        /// Why, as the operator said.
        reason: String,
    },
    /// The key's owner grants dedup key `key` to this instance: every open
    /// claim for it ([`crate::Event::DedupClaimed`]) closes and its token
    /// acts at its node. Refused with [`crate::DecideError::NoDedupClaim`]
    /// when no claim for the key is open (the owner releases the key).
    GrantDedup {
        /// The key.
        key: String,
    },
    /// A newer claim for dedup key `key` replaced this instance's, which
    /// was waiting: every token is cancelled and the instance ends
    /// superseded. Refused with [`crate::DecideError::NoDedupClaim`] when
    /// no claim for the key is open (it was granted or withdrawn meanwhile).
    Supersede {
        /// The key.
        key: String,
        /// The id of the instance whose claim replaced this one's.
        by: String,
    },
}

/// What an operator does about an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentAction {
    /// Run the job again.
    Retry,
    /// Complete the job with these output variables.
    Skip(Vars),
}

impl IncidentAction {
    /// The event-level resolution.
    pub fn resolution(&self) -> Resolution {
        match self {
            IncidentAction::Retry => Resolution::Retry,
            IncidentAction::Skip(_) => Resolution::Skip,
        }
    }
}
