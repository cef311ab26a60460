//! Where one instance run is now: tokens, open jobs, incidents and
//! variables, built from its index row, its replayed history and (when the
//! definition is stored) the process graph for node ids and names.

use crate::replay::Recorded;
use serde::{Deserialize, Serialize};
use windlass_engine::Event;
use windlass_engine::ids::TokenId;
use windlass_engine::secret_names::mask_vars;
use windlass_engine::state::{InstanceState, SubKind, Wait};
use windlass_model::ProcessGraph;
use windlass_store_api::{InstanceRow, job_key_text};
use windlass_types::Vars;

/// One live token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// Token id.
    pub token: u32,
    /// Node element id (or `#index` without a graph).
    pub node: String,
    /// Node name, when it has one.
    pub name: Option<String>,
    /// What it waits for, in words.
    pub waiting_for: String,
}

/// One open job: the token waiting for it and the key that completes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenJobView {
    /// The waiting token (id, node, what it waits for).
    #[serde(flatten)]
    #[schema(inline)]
    pub token: TokenView,
    /// The job key (`POST /api/v1/jobs/complete` takes it).
    pub job_key: String,
    /// The attempt (1-based).
    pub attempt: u32,
    /// When the attempt was created (RFC 3339; `None` for histories
    /// written before times were recorded).
    pub created_at: Option<String>,
}

/// One open wait for an event: a timer, a message, a signal, a dedup key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    /// The token it belongs to.
    pub token: u32,
    /// The catching node's element id.
    pub node: String,
    /// Its name, when it has one.
    pub node_name: Option<String>,
    /// `timer`, `message`, `signal` or `dedup`.
    pub kind: String,
    /// What exactly: the due time, the message name and key, the signal
    /// name, the dedup key.
    pub waits_for: String,
    /// For timers: when it fires (RFC 3339).
    pub due_at: Option<String>,
    /// For messages and signals: the name waited for.
    pub name: Option<String>,
    /// For messages: the correlation key waited with; for dedup waits: the
    /// key.
    pub key: Option<String>,
}

/// One open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    /// Incident id (what `incidents retry|skip` take).
    pub incident: u32,
    /// The token that waits.
    pub token: u32,
    /// Node element id.
    pub node: String,
    /// Node name, when it has one.
    pub node_name: Option<String>,
    /// The job attempt that failed for good.
    pub attempt: u32,
    /// What went wrong.
    pub message: String,
}

/// The state of one instance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    /// Instance id.
    pub id: String,
    /// Run id.
    pub run: String,
    /// Status from the index.
    pub status: String,
    /// Definition key.
    pub definition: String,
    /// Business key.
    pub business_key: Option<String>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    pub updated_at: String,
    /// Number of history events.
    pub events: u64,
    /// Live tokens.
    pub tokens: Vec<TokenView>,
    /// Tokens waiting for a job, with the job's key.
    pub open_jobs: Vec<OpenJobView>,
    /// Open incidents.
    pub incidents: Vec<IncidentView>,
    /// Process-level variables; values under secret names (`password`,
    /// `dbSecret`, `apiToken`, …) masked (`windlass_engine::secret_names`).
    #[schema(value_type = Object)]
    pub variables: Vars,
    /// Why it is suspended, when it is (a flag: the status stays).
    pub suspended: Option<String>,
    /// The reason of a cancel whose cleanup still runs.
    pub cancelling: Option<String>,
    /// Signals sent to it that no subscription has taken yet, oldest first.
    pub buffered_signals: Vec<BufferedSignalView>,
    /// Its open waits for timers, messages, signals and dedup keys.
    pub subscriptions: Vec<SubscriptionView>,
}

/// A signal an instance keeps until a subscription takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BufferedSignalView {
    /// The signal name.
    pub name: String,
    /// Its variables (secret names masked).
    #[schema(value_type = Object)]
    pub variables: Vars,
}

/// The element id and name of node `node`; `#index` when there is no graph
/// or the index is out of range (stored data never makes this panic).
pub(crate) fn node_label(graph: Option<&ProcessGraph>, node: u32) -> (String, Option<String>) {
    match graph.and_then(|g| g.nodes.get(node as usize)) {
        Some(n) => (
            n.id.clone(),
            n.name.as_deref().map(windlass_types::normalize_whitespace),
        ),
        None => (format!("#{node}"), None),
    }
}

fn describe_wait(wait: &Wait) -> String {
    match wait {
        Wait::Active => "nothing (moving)".into(),
        Wait::Job { attempt } => format!("job, attempt {attempt}"),
        Wait::Failed { attempt } => format!("decision after failed attempt {attempt}"),
        Wait::Incident { incident, .. } => format!("incident {incident} to be resolved"),
        Wait::Join => "other tokens at the join".into(),
        Wait::Scope(s) => format!("sub-process scope {s} to complete"),
        Wait::Child => "child instance to finish".into(),
        Wait::Catch => "a timer, message, signal or dedup key (see its subscriptions)".into(),
        Wait::Body(b) => match b.total {
            Some(t) => format!(
                "multi-instance: {} of {t} done, {} running",
                b.completed, b.active
            ),
            None => format!("loop: {} passes done", b.completed),
        },
    }
}

/// The open incidents of `state`, with their messages from `events`.
pub(crate) fn incidents(
    state: &InstanceState,
    events: &[Recorded],
    graph: Option<&ProcessGraph>,
) -> Vec<IncidentView> {
    state
        .tokens
        .iter()
        .filter_map(|t| match t.wait {
            Wait::Incident {
                incident, attempt, ..
            } => {
                let message = events
                    .iter()
                    .rev()
                    .find_map(|r| match r.event.incident_raised() {
                        Some((i, _, message)) if i == incident => Some(message.to_string()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let (node, node_name) = node_label(graph, t.node.0);
                Some(IncidentView {
                    incident: incident.0,
                    token: t.id.0,
                    node,
                    node_name,
                    attempt,
                    message,
                })
            }
            _ => None,
        })
        .collect()
}

/// Builds the view of `row` from its replayed `state`, its decoded
/// `events` (incident messages, final variables) and its `graph`.
pub fn build(
    row: &InstanceRow,
    state: &InstanceState,
    events: &[Recorded],
    graph: Option<&ProcessGraph>,
) -> InstanceView {
    let tokens: Vec<TokenView> = state
        .tokens
        .iter()
        .map(|t| {
            let (node, name) = node_label(graph, t.node.0);
            TokenView {
                token: t.id.0,
                node,
                name,
                waiting_for: describe_wait(&t.wait),
            }
        })
        .collect();
    let open_jobs = state
        .tokens
        .iter()
        .zip(&tokens)
        .filter_map(|(t, v)| match t.wait {
            Wait::Job { attempt } => Some(OpenJobView {
                token: v.clone(),
                job_key: job_key_text(&row.instance, t.node.0, t.id.0, attempt),
                attempt,
                created_at: job_created_at(events, t.id, attempt),
            }),
            _ => None,
        })
        .collect();
    InstanceView {
        id: row.instance.id.as_str().to_string(),
        run: row.instance.run.as_str().to_string(),
        status: row.status.as_str().to_string(),
        definition: row.definition_key.clone(),
        business_key: row.business_key.clone(),
        created_at: crate::time::iso(row.created_at.0),
        updated_at: crate::time::iso(row.updated_at.0),
        events: row.last_seq,
        tokens,
        open_jobs,
        incidents: incidents(state, events, graph),
        variables: mask_vars(
            &state
                .root_vars()
                .cloned()
                .unwrap_or_else(|| final_vars(events)),
        ),
        suspended: state.suspended.clone(),
        cancelling: state.cancelling.clone(),
        buffered_signals: state
            .signals
            .iter()
            .map(|s| BufferedSignalView {
                name: s.name.clone(),
                variables: mask_vars(&s.vars),
            })
            .collect(),
        subscriptions: subscriptions(state, graph),
    }
}

/// When the attempt `attempt` of `token`'s job was recorded.
fn job_created_at(events: &[Recorded], token: TokenId, attempt: u32) -> Option<String> {
    events.iter().rev().find_map(|r| match &r.event {
        Event::JobCreated {
            token: t,
            attempt: a,
            ..
        } if *t == token && *a == attempt => {
            (r.recorded_at.0 != 0).then(|| crate::time::iso(r.recorded_at.0))
        }
        _ => None,
    })
}

/// The open subscriptions of `state`, in id order.
fn subscriptions(state: &InstanceState, graph: Option<&ProcessGraph>) -> Vec<SubscriptionView> {
    state
        .subscriptions
        .iter()
        .map(|s| {
            let (node, node_name) = node_label(graph, s.node.0);
            let (mut name_of, mut key_of) = (None, None);
            let (kind, waits_for, due_at) = match &s.kind {
                SubKind::Timer { due_at, .. } => {
                    let at = crate::time::iso(due_at.0);
                    ("timer", format!("timer due {at}"), Some(at))
                }
                SubKind::Message {
                    name,
                    correlation_key,
                } => {
                    let what = match correlation_key {
                        Some(k) => format!("message '{name}' with key '{k}'"),
                        None => format!("message '{name}'"),
                    };
                    name_of = Some(name.clone());
                    key_of.clone_from(correlation_key);
                    ("message", what, None)
                }
                SubKind::Signal { name } => {
                    name_of = Some(name.clone());
                    ("signal", format!("signal '{name}'"), None)
                }
                SubKind::Dedup { key } => {
                    key_of = Some(key.clone());
                    ("dedup", format!("dedup key '{key}' to be granted"), None)
                }
            };
            SubscriptionView {
                token: s.token.0,
                node,
                node_name,
                kind: kind.to_string(),
                waits_for,
                due_at,
                name: name_of,
                key: key_of,
            }
        })
        .collect()
}

/// The variables of a finished instance (its root scope is closed): the
/// input plus every process-level `VariablesSet`, in order.
fn final_vars(events: &[Recorded]) -> Vars {
    let mut vars = Vars::new();
    for r in events {
        match &r.event {
            Event::InstanceStarted { vars: v, .. } => vars.extend(v.clone()),
            Event::VariablesSet { scope, vars: v } if scope.0 == 0 => vars.extend(v.clone()),
            _ => {}
        }
    }
    vars
}
