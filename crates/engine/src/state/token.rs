//! Tokens: positions in the graph and what each one waits for.

use crate::event::IncidentSite;
use crate::ids::{IncidentId, ScopeId, TokenId};
use serde_json::Value;
use windlass_model::{FlowIdx, NodeIdx};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Token id.
    pub id: TokenId,
    /// The scope instance it lives in.
    pub scope: ScopeId,
    /// The node it is at (graph index).
    pub node: NodeIdx,
    /// True for the token running one loop pass / multi-instance element; it
    /// ends instead of leaving through the node's outgoing flows.
    pub inner: bool,
    /// The flow it arrived by (for joins).
    pub via: Option<FlowIdx>,
    /// What it waits for.
    pub wait: Wait,
}

/// What a token is waiting for.
#[derive(Debug, Clone, PartialEq)]
pub enum Wait {
    /// Nothing: it is being moved within the current command.
    Active,
    /// A job (attempt number).
    Job {
        /// 1-based attempt.
        attempt: u32,
    },
    /// A job attempt failed; a retry, incident or error follows.
    Failed {
        /// The failed attempt.
        attempt: u32,
    },
    /// An incident.
    Incident {
        /// Incident id.
        incident: IncidentId,
        /// The failed attempt.
        attempt: u32,
        /// Where resolving it takes the token's work up.
        site: Box<IncidentSite>,
    },
    /// Other tokens at a joining gateway.
    Join,
    /// A sub-process scope instance to complete.
    Scope(ScopeId),
    /// A child instance (call activity).
    Child,
    /// A loop / multi-instance body running elements.
    Body(Box<Body>),
    /// At an intermediate catch event, for its subscription (a timer or a
    /// message) to fire.
    Catch,
}

/// The progress of a standard loop or multi-instance body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    /// Element count of a multi-instance body; `None` for a standard loop.
    pub total: Option<u32>,
    /// The input collection, when there is one.
    pub items: Option<Value>,
    /// Next element index to start.
    pub next: u32,
    /// Elements running now.
    pub active: u32,
    /// Elements completed.
    pub completed: u32,
    /// Collected output elements by index.
    pub results: Vec<Value>,
}

impl Token {
    /// The body progress, when this token runs a loop / multi-instance body.
    pub fn body(&self) -> Option<&Body> {
        match &self.wait {
            Wait::Body(b) => Some(b),
            _ => None,
        }
    }
}
