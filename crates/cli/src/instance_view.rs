//! The "where is this instance now" summary of `windlass instances show`:
//! built from the index row, the decoded history and (when the definition is
//! stored) the process graph for node names.

use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use windlass_engine::Event;
use windlass_engine::state::{InstanceState, Wait};
use windlass_model::ProcessGraph;
use windlass_store_api::InstanceRow;
use windlass_types::Vars;

/// One live token.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// One open incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentView {
    /// Incident id.
    pub incident: u32,
    /// The token that waits.
    pub token: u32,
    /// Node element id.
    pub node: String,
    /// What went wrong.
    pub message: String,
}

/// The state summary of one instance run.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Creation time, ms since the epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: i64,
    /// Number of history events.
    pub events: u64,
    /// Live tokens.
    pub tokens: Vec<TokenView>,
    /// Tokens waiting for a job: (token, node) of each open job.
    pub open_jobs: Vec<TokenView>,
    /// Open incidents.
    pub incidents: Vec<IncidentView>,
    /// Process-level variables.
    pub variables: Vars,
}

fn node_label(graph: Option<&ProcessGraph>, node: u32) -> (String, Option<String>) {
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
        Wait::Body(b) => match b.total {
            Some(t) => format!(
                "multi-instance: {} of {t} done, {} running",
                b.completed, b.active
            ),
            None => format!("loop: {} passes done", b.completed),
        },
    }
}

/// Builds the summary. `state` is the replayed history, `events` the decoded
/// history (for incident messages).
pub fn build(
    row: &InstanceRow,
    state: &InstanceState,
    events: &[Event],
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
        .filter(|(t, _)| matches!(t.wait, Wait::Job { .. }))
        .map(|(_, v)| v.clone())
        .collect();
    let incidents = state
        .incidents()
        .map(|(incident, t)| {
            let message = events
                .iter()
                .rev()
                .find_map(|e| match e {
                    Event::IncidentRaised {
                        incident: i,
                        message,
                        ..
                    } if *i == incident => Some(message.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            IncidentView {
                incident: incident.0,
                token: t.id.0,
                node: node_label(graph, t.node.0).0,
                message,
            }
        })
        .collect();
    InstanceView {
        id: row.instance.id.as_str().to_string(),
        run: row.instance.run.as_str().to_string(),
        status: row.status.as_str().to_string(),
        definition: row.definition_key.clone(),
        business_key: row.business_key.clone(),
        created_at_ms: row.created_at.0,
        updated_at_ms: row.updated_at.0,
        events: row.last_seq,
        tokens,
        open_jobs,
        incidents,
        variables: state
            .root_vars()
            .cloned()
            .unwrap_or_else(|| final_vars(events)),
    }
}

/// The variables of a finished instance (its root scope is closed): the
/// input plus every process-level `VariablesSet`, in order.
fn final_vars(events: &[Event]) -> Vars {
    let mut vars = Vars::new();
    for e in events {
        match e {
            Event::InstanceStarted { vars: v, .. } => vars.extend(v.clone()),
            Event::VariablesSet {
                scope: windlass_engine::ids::ScopeId::ROOT,
                vars: v,
            } => vars.extend(v.clone()),
            _ => {}
        }
    }
    vars
}

/// The summary for people.
pub fn render_text(v: &InstanceView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "instance {} (run {})", v.id, v.run);
    let _ = writeln!(out, "  status:       {}", v.status);
    let _ = writeln!(out, "  definition:   {}", v.definition);
    if let Some(bk) = &v.business_key {
        let _ = writeln!(out, "  business key: {bk}");
    }
    let _ = writeln!(
        out,
        "  created:      {}",
        crate::time_text::iso(v.created_at_ms)
    );
    let _ = writeln!(
        out,
        "  updated:      {}",
        crate::time_text::iso(v.updated_at_ms)
    );
    let _ = writeln!(out, "  events:       {}", v.events);
    let label = |t: &TokenView| match &t.name {
        Some(n) => format!("{n} ({})", t.node),
        None => t.node.clone(),
    };
    let _ = writeln!(
        out,
        "tokens: {}",
        if v.tokens.is_empty() { "none" } else { "" }
    );
    for t in &v.tokens {
        let _ = writeln!(
            out,
            "  token {} at {}, waiting for {}",
            t.token,
            label(t),
            t.waiting_for
        );
    }
    let _ = writeln!(out, "open jobs: {}", v.open_jobs.len());
    for t in &v.open_jobs {
        let _ = writeln!(out, "  {} (token {})", label(t), t.token);
    }
    let _ = writeln!(out, "incidents: {}", v.incidents.len());
    for i in &v.incidents {
        let _ = writeln!(
            out,
            "  incident {} at {} (token {}): {}",
            i.incident, i.node, i.token, i.message
        );
    }
    let _ = writeln!(out, "variables:");
    let pretty =
        serde_json::to_string_pretty(&Value::Object(v.variables.clone())).unwrap_or_default();
    for line in pretty.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}
