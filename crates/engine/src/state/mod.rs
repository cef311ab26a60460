//! Instance state: a fold of the history. Compact: tokens and scope
//! instances are small sorted vectors; nothing the graph already has is
//! copied here.

mod compensation;
mod scope;
mod token;
mod vars;

pub use compensation::{Compensable, CompensationMismatch, KeptScope, ScopeCompensation};
pub use scope::ScopeInst;
pub use token::{Body, Token, Wait};
pub use vars::{Layered, ScopeChain};

use crate::ids::{IncidentId, JobKey, ScopeId, SubId, TokenId};
use windlass_model::NodeIdx;
use windlass_types::Timestamp;

/// Where an instance is in its life.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Status {
    /// No `InstanceStarted` yet.
    #[default]
    New,
    /// Running or waiting.
    Running,
    /// Finished normally.
    Completed,
    /// Finished by an uncaught error or a failure.
    Failed {
        /// Uncaught error code.
        code: Option<String>,
        /// Why.
        reason: String,
    },
    /// Ended from outside by `Command::Terminate`.
    Terminated {
        /// Why.
        reason: String,
    },
    /// Ended by `Command::Cancel` (at once, or once the cleanup handlers
    /// catching the cancel finished).
    Cancelled {
        /// The reason given with the cancel.
        reason: String,
    },
    /// Replaced, while it waited for a dedup key, by a newer claim
    /// (`Command::Supersede`).
    Superseded {
        /// The key it waited for.
        key: String,
        /// The id of the instance that replaced it.
        by: String,
    },
}

/// Work asked for while the instance was suspended: its effect
/// (`RunJob` / `StartChild`) is held and emitted on resume. Derived from the
/// history: a `JobCreated` or `ChildStarted` folded while the suspended flag
/// is set adds one; `InstanceResumed` clears them.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    /// A job (the attempt, and its retry time if it had one).
    Job {
        /// The job.
        key: JobKey,
        /// Its `not_before`.
        not_before: Option<Timestamp>,
    },
    /// A child instance of the call activity at this token.
    Child(TokenId),
}

/// An open subscription: a token (or, for boundary events and event
/// sub-process starts, the activity or scope it belongs to) waiting for a
/// timer, message or signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Its id (never reused within the instance).
    pub id: SubId,
    /// The token it belongs to: the one at the catch event, or the one at
    /// the activity a boundary event is attached to.
    pub token: TokenId,
    /// The catching node (catch event, boundary event, start event).
    pub node: NodeIdx,
    /// What it waits for.
    pub kind: SubKind,
}

/// What a subscription waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum SubKind {
    /// A timer, due at an absolute time recorded in the history.
    Timer {
        /// When it fires.
        due_at: Timestamp,
        /// Which occurrence of a cycle it is (0 for the first, and for
        /// dates and durations).
        occurrence: u32,
    },
    /// A message by name and (optional) correlation key, the key evaluated
    /// once when the subscription opened.
    Message {
        /// The message name.
        name: String,
        /// The correlation key; `None` when the event defines none.
        correlation_key: Option<String>,
    },
    /// A signal by name.
    Signal {
        /// The signal name.
        name: String,
    },
    /// A grant of a dedup key ([`crate::Event::DedupClaimed`]).
    Dedup {
        /// The key.
        key: String,
    },
}

/// A signal sent to this instance that nothing was waiting for: kept, in
/// arrival order, until a catch event or boundary event for its name opens.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferedSignal {
    /// The signal name.
    pub name: String,
    /// Its variables.
    pub vars: windlass_types::Vars,
}

/// The state of one instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceState {
    /// Life-cycle status.
    pub status: Status,
    /// Whether a parent instance (call activity) waits for this one.
    pub has_parent: bool,
    /// Business key.
    pub business_key: Option<String>,
    /// Live tokens, sorted by id.
    pub tokens: Vec<Token>,
    /// Open scope instances, sorted by id.
    pub scopes: Vec<ScopeInst>,
    /// Next token id.
    pub next_token: TokenId,
    /// Next scope instance id.
    pub next_scope: ScopeId,
    /// Next incident id.
    pub next_incident: IncidentId,
    /// Open subscriptions, sorted by id.
    pub subscriptions: Vec<Subscription>,
    /// Next subscription id.
    pub next_sub: SubId,
    /// Signals sent to this instance that no subscription has taken yet,
    /// oldest first.
    pub signals: Vec<BufferedSignal>,
    /// The reason of a cancel whose cleanup handlers still run
    /// (`CancelRequested` folded, the instance not finished yet).
    pub cancelling: Option<String>,
    /// The reason the instance is suspended, when it is (a flag, not a
    /// status: a suspended instance is still running).
    pub suspended: Option<String>,
    /// Jobs and child instances asked for while suspended, in order.
    pub held: Vec<Held>,
    /// Every dedup key the instance has claimed, in claim order (held,
    /// waited for, or withdrawn): the runtime releases them all when the
    /// instance ends.
    pub dedup_claimed: Vec<String>,
    /// The dedup keys the instance holds (granted), in grant order.
    pub dedup_held: Vec<String>,
    /// How many messages the instance has thrown (`MessageThrown`): the
    /// number of the next one.
    pub messages_thrown: u32,
    /// How many signals the instance has thrown (`SignalThrown`): the
    /// number of the next one.
    pub signals_thrown: u32,
    /// How many escalations the instance has sent to its parent (uncaught
    /// `EscalationThrown` or `ChildEscalated` of an instance with a
    /// parent): the number of the next one.
    pub escalations_sent: u32,
    /// Per call activity token, the number of the next escalation expected
    /// from its child (`ChildEscalated`); reset when a child starts.
    pub child_escalations: Vec<(TokenId, u32)>,
    /// Per node, how many tokens left it normally (took an outgoing flow,
    /// ended there, merged at its join or jumped from its link), sorted by
    /// node; tokens running one loop pass or multi-instance element are not
    /// counted (their activity counts once, when its token leaves). The
    /// "completed" figure of the per-node statistics.
    pub completed: Vec<(NodeIdx, u32)>,
    /// The scope instance and node the last folded event moved a token
    /// away from (`FlowTaken`), kept across the `TokenCreated` events of a
    /// split: the tokens a split adds at that node then leave it without
    /// being counted again. `None` after any other event.
    pub last_departure: Option<(ScopeId, NodeIdx)>,
    /// Number of events folded in (the history version).
    pub version: u64,
}

impl InstanceState {
    /// Counts one normal departure of a token from `node`.
    pub(crate) fn count_left(&mut self, node: NodeIdx) {
        match self.completed.binary_search_by_key(&node, |(n, _)| *n) {
            Ok(i) => self.completed[i].1 = self.completed[i].1.saturating_add(1),
            Err(i) => self.completed.insert(i, (node, 1)),
        }
    }

    /// The token with id `id`.
    pub fn token(&self, id: TokenId) -> Option<&Token> {
        self.tokens
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tokens[i])
    }

    pub(crate) fn token_mut(&mut self, id: TokenId) -> Option<&mut Token> {
        self.tokens
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &mut self.tokens[i])
    }

    /// The scope instance with id `id`.
    pub fn scope(&self, id: ScopeId) -> Option<&ScopeInst> {
        self.scopes
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|i| &self.scopes[i])
    }

    pub(crate) fn scope_mut(&mut self, id: ScopeId) -> Option<&mut ScopeInst> {
        self.scopes
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|i| &mut self.scopes[i])
    }

    /// True when the instance has finished (completed, failed, terminated
    /// or cancelled).
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            Status::Completed
                | Status::Failed { .. }
                | Status::Terminated { .. }
                | Status::Cancelled { .. }
                | Status::Superseded { .. }
        )
    }

    /// True while the instance is suspended.
    pub fn is_suspended(&self) -> bool {
        self.suspended.is_some()
    }

    /// What shows that this state is inside one decision (a history cut
    /// in the middle of the events one command decided): a token between
    /// two waits (moving, or right after a failed job attempt), or an open
    /// scope with nothing in it (entered before its first token, or left
    /// by its last token before it closed). Such a point is not one a run
    /// can be reset to. `None` for a running state where every token waits
    /// for something.
    pub fn in_transit(&self) -> Option<InTransit> {
        if let Some(t) = self
            .tokens
            .iter()
            .find(|t| matches!(t.wait, Wait::Active | Wait::Failed { .. }))
        {
            return Some(InTransit::Token(t.id, t.node));
        }
        self.scopes
            .iter()
            .find(|s| {
                self.tokens_in(s.id).next().is_none()
                    && !self.scopes.iter().any(|c| c.parent == Some(s.id))
            })
            .map(|s| InTransit::EmptyScope(s.id))
    }

    /// Tokens directly inside scope instance `scope`.
    pub fn tokens_in(&self, scope: ScopeId) -> impl Iterator<Item = &Token> {
        self.tokens.iter().filter(move |t| t.scope == scope)
    }

    /// Open incidents: (incident, token).
    pub fn incidents(&self) -> impl Iterator<Item = (IncidentId, &Token)> {
        self.tokens.iter().filter_map(|t| match t.wait {
            Wait::Incident { incident, .. } => Some((incident, t)),
            _ => None,
        })
    }

    /// The root (process) variables, when the root scope is open.
    pub fn root_vars(&self) -> Option<&windlass_types::Vars> {
        self.scope(ScopeId::ROOT).map(|s| &s.vars)
    }

    /// True when the job `job` is open: its token is at its node and waits
    /// for exactly this attempt. A completion or failure for any other job
    /// is rejected (stale, duplicate or foreign).
    pub fn job_is_open(&self, job: &JobKey) -> bool {
        self.token(job.token).is_some_and(|t| {
            t.node == job.node
                && t.wait
                    == (Wait::Job {
                        attempt: job.attempt,
                    })
        })
    }

    /// The open subscription with id `id`.
    pub fn subscription(&self, id: SubId) -> Option<&Subscription> {
        self.subscriptions
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|i| &self.subscriptions[i])
    }

    /// The open timer subscriptions with their due times, in id order: what
    /// a runtime (or the driver) schedules, and fires with
    /// [`crate::Command::FireTimer`] once due.
    pub fn timers(&self) -> impl Iterator<Item = (SubId, Timestamp)> + '_ {
        self.subscriptions.iter().filter_map(|s| match s.kind {
            SubKind::Timer { due_at, .. } => Some((s.id, due_at)),
            SubKind::Message { .. } | SubKind::Signal { .. } | SubKind::Dedup { .. } => None,
        })
    }

    /// The open message subscriptions with their name and correlation key,
    /// in id order: what a runtime (or the driver) correlates a published
    /// message against, and delivers with
    /// [`crate::Command::CorrelateMessage`].
    pub fn message_subscriptions(&self) -> impl Iterator<Item = (SubId, &str, Option<&str>)> + '_ {
        self.subscriptions.iter().filter_map(|s| match &s.kind {
            SubKind::Message {
                name,
                correlation_key,
            } => Some((s.id, name.as_str(), correlation_key.as_deref())),
            SubKind::Timer { .. } | SubKind::Signal { .. } | SubKind::Dedup { .. } => None,
        })
    }

    /// The open signal subscriptions with their signal name, in id order.
    pub fn signal_subscriptions(&self) -> impl Iterator<Item = (SubId, &str)> + '_ {
        self.subscriptions.iter().filter_map(|s| match &s.kind {
            SubKind::Signal { name } => Some((s.id, name.as_str())),
            SubKind::Timer { .. } | SubKind::Message { .. } | SubKind::Dedup { .. } => None,
        })
    }

    /// The open dedup claims (subscription, key), in id order.
    pub fn dedup_claims(&self) -> impl Iterator<Item = (SubId, &str)> + '_ {
        self.subscriptions.iter().filter_map(|s| match &s.kind {
            SubKind::Dedup { key } => Some((s.id, key.as_str())),
            _ => None,
        })
    }

    /// The open subscriptions of token `token` (its catch event's, or its
    /// activity's boundary events'), in id order.
    pub fn subscriptions_of(&self, token: TokenId) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.iter().filter(move |s| s.token == token)
    }

    /// The tokens waiting for a child instance (call activities) that was
    /// asked for, in id order: a child held while the instance is suspended
    /// (not started yet) is not listed.
    pub fn children_waiting(&self) -> impl Iterator<Item = &Token> {
        self.tokens
            .iter()
            .filter(|t| t.wait == Wait::Child && !self.held.contains(&Held::Child(t.id)))
    }
}

/// A sign that a state is inside one decision
/// ([`InstanceState::in_transit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InTransit {
    /// This token, at this node, is between two waits.
    Token(TokenId, NodeIdx),
    /// This scope instance is open with nothing in it.
    EmptyScope(ScopeId),
}

/// What a run reset while suspended holds (`Event::RunReset`): every open
/// job and every waiting call activity, in token order.
pub(crate) fn reset_held(state: &InstanceState) -> Vec<Held> {
    state
        .tokens
        .iter()
        .filter_map(|t| match t.wait {
            Wait::Job { attempt } => Some(Held::Job {
                key: JobKey {
                    node: t.node,
                    token: t.id,
                    attempt,
                },
                not_before: None,
            }),
            Wait::Child => Some(Held::Child(t.id)),
            _ => None,
        })
        .collect()
}
