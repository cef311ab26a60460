//! History events: the only way an instance's state changes.
//!
//! # Rules for changing events
//! Stored histories are never rewritten, and postcard is not self-describing:
//! a reader must know exactly which fields a variant has. Hence:
//!
//! - **Tags are append-only.** The encoded form of an event starts with its
//!   tag (postcard writes the enum variant index as a varint): never reorder,
//!   remove or reuse a variant. [`Event::tag`] states each tag explicitly and
//!   a test checks it against the encoding.
//! - **The fields of a variant never change** — not their number, order nor
//!   type. One added field would make every stored event of that variant
//!   undecodable.
//! - **Nested enums are append-only too.** [`ScopeKind`], [`FlowReason`],
//!   [`CompletedBy`], [`JobFailure`], [`Resolution`], [`JobPurpose`] and
//!   [`IncidentSite`] are
//!   index-tagged inside an event's bytes in the same way; each states its
//!   tags in a `tag()` method that the same codec test checks.
//! - **A new field means a new variant** (e.g. `JobCreatedV2`, appended with
//!   the next free tag) **or a new format version**: bump
//!   [`crate::codec::FORMAT_VERSION`] and keep a frozen decoder for the old
//!   version that converts its events to the new ones.
//! - **No tag is reserved in advance.** A tag is assigned when its variant
//!   lands, so features may land in any order.
//!
//! The golden histories in `tests/golden/` (every tag of format version 1)
//! must keep decoding, replaying and — for today's engine — being decided
//! byte for byte.
//!
//! Node and flow references are graph indexes ([`NodeIdx`], [`FlowIdx`],
//! [`ScopeIdx`], encoded as bare `u32`s) into the definition the
//! instance runs (its `definition_key`), so a history is read together with
//! that definition.

use crate::ids::{IncidentId, ScopeId, SubId, TokenId};
use crate::json_text;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use windlass_model::{FlowIdx, NodeIdx, ScopeIdx};
use windlass_types::Vars;

mod incident_site;
mod tags;
pub use incident_site::IncidentSite;

/// What kind of scope instance a [`Event::ScopeEntered`] opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// The process itself (scope 0 of the graph).
    Process,
    /// A run of an embedded sub-process (graph scope index).
    SubProcess(ScopeIdx),
    /// A run of an event sub-process (graph scope index).
    EventSubProcess(ScopeIdx),
    /// One pass of a standard loop or one multi-instance element (0-based).
    Element(u32),
    /// A compensation run: the handlers of completed activities, one after
    /// the other. Its parent is the scope instance the activities ran in
    /// (their variables are read through it); its owner is the token that
    /// threw the compensation, or the token standing for a completed
    /// sub-process (or loop element) being compensated inside another run.
    Compensation,
}

/// Why a token took a sequence flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowReason {
    /// The flow has no condition (uncontrolled or parallel flow).
    Unconditioned,
    /// Its condition evaluated to true.
    ConditionTrue {
        /// The condition's source text.
        condition: String,
    },
    /// No condition was true and this is the (explicit or implicit) default.
    Default,
    /// A parallel gateway takes every flow regardless of conditions.
    Parallel,
}

/// Who completed a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompletedBy {
    /// A registered handler / executor.
    Handler,
    /// A test mock.
    Mock,
    /// An abstract `task` with nothing bound completed as a no-op.
    NoOp,
    /// An operator skipped it while resolving an incident.
    Skipped,
    /// Completed through the runtime's API by its job key (an external
    /// worker, a person, `RuntimeHandle::complete_job`).
    External,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobFailure {
    /// A BPMN error, caught by error boundary events / event sub-processes.
    Bpmn {
        /// The error code.
        code: String,
        /// A message for people.
        message: Option<String>,
    },
    /// A technical failure (exception, exit code, timeout).
    Technical {
        /// What happened.
        message: String,
        /// Whether another attempt may succeed.
        retryable: bool,
    },
}

/// How an incident was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    /// The job runs again (a new attempt).
    Retry,
    /// The job was completed by an operator with given variables.
    Skip,
}

/// Why a job was not created as a normal task job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobPurpose {
    /// A task's work.
    Task,
    /// A complex gateway without activation condition: the handler decides,
    /// its output variables feed the outgoing conditions.
    GatewayDecision,
}

/// One history event. See the module doc for the tag rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// Tag 0: the instance started.
    InstanceStarted {
        /// The `<process>` id.
        process_id: String,
        /// The stored definition (version) the history refers to.
        definition_key: String,
        /// Business key, if any.
        business_key: Option<String>,
        /// Input variables.
        #[serde(with = "json_text::vars")]
        vars: Vars,
        /// Whether a parent instance started it (call activity).
        has_parent: bool,
    },
    /// Tag 1: a scope instance opened.
    ScopeEntered {
        /// New scope instance id.
        scope: ScopeId,
        /// Enclosing scope instance.
        parent: Option<ScopeId>,
        /// What it is.
        kind: ScopeKind,
        /// The token waiting for it (sub-process node / loop body).
        owner: Option<TokenId>,
        /// Its initial local variables.
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 2: a scope instance closed (completed or cancelled).
    ScopeClosed {
        /// The scope instance.
        scope: ScopeId,
    },
    /// Tag 3: a token appeared at a node.
    TokenCreated {
        /// New token id.
        token: TokenId,
        /// Its scope instance.
        scope: ScopeId,
        /// The node.
        node: NodeIdx,
        /// True for the token running one loop/multi-instance element.
        inner: bool,
    },
    /// Tag 4: a token moved along a sequence flow.
    FlowTaken {
        /// The token.
        token: TokenId,
        /// The flow.
        flow: FlowIdx,
        /// The flow's target node.
        to: NodeIdx,
        /// Why.
        reason: FlowReason,
    },
    /// Tag 5: a token ended normally (end event, no outgoing flow, merged).
    TokenEnded {
        /// The token.
        token: TokenId,
    },
    /// Tag 6: a token waits at a joining gateway.
    JoinWaiting {
        /// The token.
        token: TokenId,
        /// The gateway node.
        gateway: NodeIdx,
        /// Incoming flows that still have no token.
        missing: Vec<FlowIdx>,
    },
    /// Tag 7: a join fired; `token` continues, `merged` ended.
    JoinFired {
        /// The gateway node.
        gateway: NodeIdx,
        /// The token that continues.
        token: TokenId,
        /// Tokens merged into it.
        merged: Vec<TokenId>,
    },
    /// Tag 8: an activity started (name resolved from variables).
    ActivityStarted {
        /// The token.
        token: TokenId,
        /// The node.
        node: NodeIdx,
        /// The resolved, whitespace-normalised name.
        name: Option<String>,
    },
    /// Tag 9: an activity completed.
    ActivityCompleted {
        /// The token.
        token: TokenId,
        /// The node.
        node: NodeIdx,
    },
    /// Tag 10: a job was created for the token.
    JobCreated {
        /// The token.
        token: TokenId,
        /// The node.
        node: NodeIdx,
        /// 1-based attempt.
        attempt: u32,
        /// Earliest run time (retry backoff).
        not_before: Option<windlass_types::Timestamp>,
        /// Task work or a gateway decision.
        purpose: JobPurpose,
    },
    /// Tag 11: a job completed.
    JobCompleted {
        /// The token.
        token: TokenId,
        /// The attempt.
        attempt: u32,
        /// Who completed it.
        by: CompletedBy,
        /// Output variables as returned.
        #[serde(with = "json_text::vars")]
        outputs: Vars,
    },
    /// Tag 12: a job attempt failed.
    JobFailed {
        /// The token.
        token: TokenId,
        /// The attempt.
        attempt: u32,
        /// Why.
        failure: JobFailure,
    },
    /// Tag 13: an incident was raised; the token waits for a person.
    IncidentRaised {
        /// Incident id.
        incident: IncidentId,
        /// The token.
        token: TokenId,
        /// What went wrong.
        message: String,
    },
    /// Tag 14: an incident was resolved.
    IncidentResolved {
        /// Incident id.
        incident: IncidentId,
        /// How.
        resolution: Resolution,
    },
    /// Tag 15: variables were set in a scope instance.
    VariablesSet {
        /// The scope instance.
        scope: ScopeId,
        /// Variables set (replacing earlier values).
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 16: a BPMN error was thrown at a token.
    ErrorThrown {
        /// The token.
        token: TokenId,
        /// The node throwing it.
        node: NodeIdx,
        /// Error code.
        code: Option<String>,
        /// Message for people.
        message: Option<String>,
    },
    /// Tag 17: an error was caught by a boundary event or an event
    /// sub-process (its start event node).
    ErrorCaught {
        /// The catching node.
        by: NodeIdx,
        /// The token whose activity (or scope) was interrupted.
        interrupted: TokenId,
    },
    /// Tag 18: a token was cancelled by an interruption or terminate.
    TokenCancelled {
        /// The token.
        token: TokenId,
    },
    /// Tag 19: a standard loop or multi-instance body started.
    BodyStarted {
        /// The body token.
        token: TokenId,
        /// Element count (multi-instance), `None` for a standard loop.
        total: Option<u32>,
        /// The input collection, if any.
        #[serde(with = "json_text::opt_value")]
        items: Option<Value>,
    },
    /// Tag 20: one loop pass / multi-instance element started.
    ElementStarted {
        /// The body token.
        token: TokenId,
        /// 0-based index.
        index: u32,
    },
    /// Tag 21: one loop pass / multi-instance element completed.
    ElementCompleted {
        /// The body token.
        token: TokenId,
        /// 0-based index.
        index: u32,
        /// Its output element value, if the body collects outputs.
        #[serde(with = "json_text::opt_value")]
        result: Option<Value>,
    },
    /// Tag 22: a call activity asked for a child instance.
    ChildStarted {
        /// The waiting token.
        token: TokenId,
        /// The called process id.
        process_id: String,
    },
    /// Tag 23: the child instance completed.
    ChildCompleted {
        /// The waiting token.
        token: TokenId,
        /// Its output variables.
        #[serde(with = "json_text::vars")]
        outputs: Vars,
    },
    /// Tag 24: a token jumped from a link throw to its catch event.
    LinkJumped {
        /// The token.
        token: TokenId,
        /// The link catch event node.
        to: NodeIdx,
    },
    /// Tag 25: a terminate end event ended its scope instance.
    Terminated {
        /// The token at the terminate end event.
        token: TokenId,
        /// The scope instance ended.
        scope: ScopeId,
    },
    /// Tag 26: the instance completed.
    InstanceCompleted,
    /// Tag 27: the instance failed.
    InstanceFailed {
        /// Uncaught error code, when an error caused it.
        code: Option<String>,
        /// Why, for people.
        reason: String,
    },
    /// Tag 28: the instance was terminated from outside (`Command::Terminate`,
    /// e.g. its parent's call activity was interrupted); every token was
    /// cancelled. Not the terminate end event (tag 25).
    InstanceTerminated {
        /// Why, for people.
        reason: String,
    },
    /// Tag 29: a timer subscription opened: a token arrived at a timer catch
    /// event, or an activity with a timer boundary event started (or a
    /// non-interrupting cycle re-armed). The due time is absolute, computed
    /// once when the timer opened, so replay never recomputes it.
    TimerScheduled {
        /// The new subscription id.
        sub: SubId,
        /// The token at the catch event, or at the activity the boundary
        /// event is attached to.
        token: TokenId,
        /// The catching node (catch event or boundary event).
        node: NodeIdx,
        /// When it is due.
        due_at: windlass_types::Timestamp,
        /// Which occurrence of a cycle this is (0 for the first, and for
        /// dates and durations).
        occurrence: u32,
    },
    /// Tag 30: a timer fired (`Command::FireTimer`); its subscription
    /// closed.
    TimerFired {
        /// The subscription.
        sub: SubId,
    },
    /// Tag 31: a timer subscription closed without firing (its activity or
    /// token ended, was interrupted, or the instance ended).
    TimerCancelled {
        /// The subscription.
        sub: SubId,
    },
    /// Tag 32: a message subscription opened: a token arrived at a message
    /// catch event, or an activity with a message boundary event started
    /// (or a non-interrupting one re-opened after a message). The
    /// correlation key is the value its expression had then.
    MessageSubscribed {
        /// The new subscription id.
        sub: SubId,
        /// The token at the catch event, or at the activity the boundary
        /// event is attached to.
        token: TokenId,
        /// The catching node (catch event or boundary event).
        node: NodeIdx,
        /// The message name.
        name: String,
        /// The correlation key, if the event defines one.
        correlation_key: Option<String>,
    },
    /// Tag 33: a message was correlated to the subscription
    /// (`Command::CorrelateMessage`); the subscription closed.
    MessageCorrelated {
        /// The subscription.
        sub: SubId,
        /// The publisher's message id, if any.
        message_id: Option<String>,
        /// The message's variables, as received.
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 34: a message subscription closed without a message (its
    /// activity or token ended, was interrupted, or the instance ended).
    MessageUnsubscribed {
        /// The subscription.
        sub: SubId,
    },
    /// Tag 35: a token waits at an event-based gateway; the subscriptions
    /// of the catch events after it follow (the first to fire wins, its
    /// flow is taken with `FlowTaken`, the others close).
    EventGatewayWaiting {
        /// The waiting token.
        token: TokenId,
        /// The gateway.
        gateway: NodeIdx,
    },
    /// Tag 36: a signal subscription opened (signal catch event, signal
    /// boundary event, event-based gateway).
    SignalSubscribed {
        /// The new subscription id.
        sub: SubId,
        /// The token at the catch event (or gateway), or at the activity
        /// the boundary event is attached to.
        token: TokenId,
        /// The catching node.
        node: NodeIdx,
        /// The signal name.
        name: String,
    },
    /// Tag 37: a signal sent to this instance found no subscription and is
    /// kept (appended to `InstanceState::signals`).
    SignalBuffered {
        /// The signal name.
        name: String,
        /// Its variables.
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 38: a signal reached subscription `sub`, which closed. `buffered`
    /// is the index in `InstanceState::signals` of the kept signal it took
    /// (removed), `None` for one that arrived while the subscription waited.
    SignalDelivered {
        /// The subscription.
        sub: SubId,
        /// The kept signal it took, if any.
        buffered: Option<u32>,
        /// The signal's variables.
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 39: a signal subscription closed without a signal.
    SignalUnsubscribed {
        /// The subscription.
        sub: SubId,
    },
    /// Tag 40: a repeating timer's occurrence came later than the runtime's
    /// catch-up window allows (`Command::SkipTimer`): it closed without
    /// running anything; the cycle re-arms at its next occurrence.
    TimerSkipped {
        /// The subscription.
        sub: SubId,
    },
    /// Tag 41: `Command::Cancel` arrived. The cancel is thrown as the error
    /// [`CANCEL_CODE`] at every waiting token; handlers naming that code
    /// run as cleanup (their `ErrorThrown` / `ErrorCaught` follow), every
    /// other token is cancelled. The instance ends with
    /// [`Event::InstanceCancelled`] once no token is left.
    CancelRequested {
        /// Why, for people.
        reason: String,
    },
    /// Tag 42: a cancelled instance ended (at once, or when its cleanup
    /// handlers finished): status cancelled.
    InstanceCancelled {
        /// The reason given with the cancel.
        reason: String,
    },
    /// Tag 43: the instance was suspended (`Command::Suspend`): what arrives
    /// is still recorded, but no job or child instance is asked for and no
    /// timer fires until it is resumed.
    InstanceSuspended {
        /// Why, for people.
        reason: String,
    },
    /// Tag 44: a suspended instance was resumed (`Command::Resume`); the
    /// jobs and child instances held meanwhile are asked for now.
    InstanceResumed,
    /// Tag 45: token `token` arrived at `node`, which carries the dedup
    /// key `key` (rendered from the variables there), and the instance does
    /// not hold that key: subscription `sub` waits until the key's owner
    /// grants it ([`Event::DedupGranted`]). The token does not act at its
    /// node yet.
    DedupClaimed {
        /// The claim's subscription.
        sub: SubId,
        /// The waiting token.
        token: TokenId,
        /// The node carrying the key.
        node: NodeIdx,
        /// The rendered key.
        key: String,
    },
    /// Tag 46: the instance was granted `key` (`Command::GrantDedup`):
    /// every open claim for it closes and its token acts at its node. The
    /// instance holds the key until it ends.
    DedupGranted {
        /// The key.
        key: String,
    },
    /// Tag 47: a claim closed without a grant (its token was cancelled or
    /// interrupted while waiting).
    DedupWithdrawn {
        /// The claim's subscription.
        sub: SubId,
    },
    /// Tag 48: the instance, waiting for `key`, was replaced by a newer
    /// claim for it (`Command::Supersede`): every token was cancelled and
    /// the instance ended with status superseded.
    InstanceSuperseded {
        /// The key it waited for.
        key: String,
        /// The id of the instance whose claim replaced this one's.
        by: String,
    },
    /// Tag 49: token `token` at a message throw or end event `node` threw
    /// message `name`: the instance's `number`-th thrown message (from 0;
    /// `InstanceState::messages_thrown` before it), which the runtime
    /// publishes after the commit with a message id made from the run and
    /// `number` (`Effect::PublishMessage`).
    MessageThrown {
        /// The throwing token.
        token: TokenId,
        /// The throw or end event.
        node: NodeIdx,
        /// Its number among the instance's thrown messages.
        number: u32,
        /// The message name.
        name: String,
        /// The correlation key, evaluated in the token's scope.
        correlation_key: Option<String>,
        /// The message's variables (the event's input mappings).
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 50: an incident was raised at `site` of the token's work (tag
    /// 13, [`Event::IncidentRaised`], is this at [`IncidentSite::Work`]).
    IncidentRaisedAt {
        /// Incident id.
        incident: IncidentId,
        /// The token.
        token: TokenId,
        /// What went wrong.
        message: String,
        /// Where resolving it takes the token's work up.
        site: IncidentSite,
    },
    /// Tag 51: token `token` at a signal throw or end event `node` threw
    /// the broadcast signal `name`: the instance's `number`-th thrown
    /// signal (from 0; `InstanceState::signals_thrown` before it), which
    /// the runtime broadcasts after the commit (`Effect::BroadcastSignal`).
    SignalThrown {
        /// The throwing token.
        token: TokenId,
        /// The throw or end event.
        node: NodeIdx,
        /// Its number among the instance's thrown signals.
        number: u32,
        /// The signal name.
        name: String,
        /// The signal's variables (the event's input mappings).
        #[serde(with = "json_text::vars")]
        vars: Vars,
    },
    /// Tag 52: token `token` at an escalation throw or end event `node`
    /// threw escalation `code`, caught by the boundary or event
    /// sub-process start event `caught_by` (the events that follow carry
    /// the catch out), or by nobody: non-critical, the token moves on.
    EscalationThrown {
        /// The throwing token.
        token: TokenId,
        /// The throw or end event.
        node: NodeIdx,
        /// The escalation code, if any.
        code: Option<String>,
        /// The catching boundary or start event, if any.
        caught_by: Option<NodeIdx>,
    },
    /// Tag 53: this run was made by a reset of run `from_run` of the same
    /// instance to its event `at_seq`: the events before this one are that
    /// run's first `at_seq` events, carried over. From here the run goes
    /// on by itself: the jobs and child instances open at that point are
    /// asked for again (held, when the instance was suspended there).
    RunReset {
        /// The run that was reset.
        from_run: String,
        /// The last of its events carried over.
        at_seq: u64,
        /// Why, as the operator said.
        reason: String,
    },
    /// Tag 54: activity `node` completed in scope instance `scope` and can
    /// be compensated: it has a compensation handler, or (`kept`) it is a
    /// sub-process or loop element whose own completed activities can be —
    /// then that scope instance's variables and compensable activities are
    /// kept with the record (it closes right after).
    CompensationRecorded {
        /// Where the activity ran.
        scope: ScopeId,
        /// The activity.
        node: NodeIdx,
        /// The sub-process or element scope instance kept with it.
        kept: Option<ScopeId>,
    },
    /// Tag 55: token `token` at `node` (a compensation throw or end event,
    /// a cancel end event, or a sub-process being compensated) compensates
    /// the completed activities of scope instance `of` — all, or only
    /// `activity` — in reverse order of completion, in the compensation
    /// run `into` (opened just before); `None` when none was there.
    CompensationThrown {
        /// The throwing token.
        token: TokenId,
        /// Its node.
        node: NodeIdx,
        /// The scope instance whose activities are compensated.
        of: ScopeId,
        /// The one activity named (`activityRef`), if any.
        activity: Option<NodeIdx>,
        /// The compensation run, when there was something to compensate.
        into: Option<ScopeId>,
    },
    /// Tag 56: the compensation run `scope` takes its next activity,
    /// `node`: its handler starts (the token created next), or for a kept
    /// sub-process or element the scope instance `into` (opened just
    /// before with the kept variables) takes its compensable activities.
    CompensationStarted {
        /// The compensation run.
        scope: ScopeId,
        /// The activity compensated.
        node: NodeIdx,
        /// The scope instance restoring a kept sub-process or element.
        into: Option<ScopeId>,
    },
    /// Tag 57: token `token` at a cancel end event cancelled its
    /// transaction (the sub-process of token `transaction`), whose
    /// completed activities were compensated; it leaves by the cancel
    /// boundary event `boundary`.
    TransactionCancelled {
        /// The token at the cancel end event.
        token: TokenId,
        /// The token of the transaction sub-process.
        transaction: TokenId,
        /// The cancel boundary event taken.
        boundary: NodeIdx,
    },
    /// Tag 58: the child of the call activity at token `token` threw
    /// escalation `code` that nothing in it caught (its `number`-th sent
    /// up); caught by the boundary or event sub-process start event
    /// `caught_by` (the events that follow carry the catch out), or by
    /// nobody here (it goes on to this instance's parent, if any).
    ChildEscalated {
        /// The call activity's token.
        token: TokenId,
        /// The child's number of the escalation.
        number: u32,
        /// The escalation code, if any.
        code: Option<String>,
        /// The catching boundary or start event, if any.
        caught_by: Option<NodeIdx>,
    },
}

/// The reserved BPMN error code a cancel is thrown with
/// ([`Event::CancelRequested`]): only handlers naming exactly this code
/// catch it (a catch-all error handler does not).
pub const CANCEL_CODE: &str = "windlass:cancelled";
