//! `windlass instances history`: the story of an instance, one line per
//! event, worded by the engine's history renderer
//! ([`windlass_engine::history_text`]), with the sequence number, the token
//! and the node each event is about.
//!
//! History events carry no time of their own; the header gives the
//! instance's creation and last-change times from the index.

use crate::output::{Format, print_json};
use crate::time_text::iso;
use serde::Serialize;
use windlass_engine::Event;
use windlass_engine::history_text::describe;
use windlass_model::ProcessGraph;
use windlass_store_api::InstanceRow;

/// One history line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// Sequence number (1-based).
    pub seq: u64,
    /// The token the event is about, if any.
    pub token: Option<u32>,
    /// The node's element id, if the event names a node.
    pub node: Option<String>,
    /// What happened and why.
    pub text: String,
}

/// The token and node an event is about.
fn subject(e: &Event) -> (Option<u32>, Option<u32>) {
    match e {
        Event::TokenCreated { token, node, .. }
        | Event::ActivityStarted { token, node, .. }
        | Event::ActivityCompleted { token, node }
        | Event::JobCreated { token, node, .. }
        | Event::ErrorThrown { token, node, .. } => (Some(*token), Some(*node)),
        Event::FlowTaken { token, to, .. } | Event::LinkJumped { token, to } => {
            (Some(*token), Some(*to))
        }
        Event::JoinWaiting { token, gateway, .. } | Event::JoinFired { token, gateway, .. } => {
            (Some(*token), Some(*gateway))
        }
        Event::ErrorCaught { by, interrupted } => (Some(*interrupted), Some(*by)),
        Event::TokenEnded { token }
        | Event::JobCompleted { token, .. }
        | Event::JobFailed { token, .. }
        | Event::IncidentRaised { token, .. }
        | Event::TokenCancelled { token }
        | Event::BodyStarted { token, .. }
        | Event::ElementStarted { token, .. }
        | Event::ElementCompleted { token, .. }
        | Event::ChildStarted { token, .. }
        | Event::ChildCompleted { token, .. }
        | Event::Terminated { token, .. } => (Some(*token), None),
        Event::InstanceStarted { .. }
        | Event::ScopeEntered { .. }
        | Event::ScopeClosed { .. }
        | Event::IncidentResolved { .. }
        | Event::VariablesSet { .. }
        | Event::InstanceCompleted
        | Event::InstanceFailed { .. } => (None, None),
    }
}

/// The lines of a history (`events[i]` has sequence number `i + 1`).
pub fn lines(events: &[Event], graph: &ProcessGraph) -> Vec<Line> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (token, node) = subject(e);
            Line {
                seq: i as u64 + 1,
                token,
                node: node
                    .and_then(|n| graph.nodes.get(n as usize))
                    .map(|n| n.id.clone()),
                text: describe(e, graph),
            }
        })
        .collect()
}

/// Prints the history of `row`.
pub fn print(
    row: &InstanceRow,
    events: &[Event],
    graph: &ProcessGraph,
    format: Format,
) -> anyhow::Result<()> {
    let lines = lines(events, graph);
    if format == Format::Json {
        #[derive(Serialize)]
        struct History<'a> {
            id: &'a str,
            run: &'a str,
            status: &'a str,
            created_at: String,
            updated_at: String,
            events: &'a [Line],
        }
        return print_json(&History {
            id: row.instance.id.as_str(),
            run: row.instance.run.as_str(),
            status: row.status.as_str(),
            created_at: iso(row.created_at.0),
            updated_at: iso(row.updated_at.0),
            events: &lines,
        });
    }
    println!(
        "instance {} (run {}), {}: created {}, last change {}",
        row.instance.id.as_str(),
        row.instance.run.as_str(),
        row.status.as_str(),
        iso(row.created_at.0),
        iso(row.updated_at.0)
    );
    println!("{:>5}  {:>5}  WHAT HAPPENED", "SEQ", "TOKEN");
    for l in &lines {
        let token = l.token.map_or_else(|| "-".to_string(), |t| t.to_string());
        println!("{:>5}  {:>5}  {}", l.seq, token, l.text);
    }
    Ok(())
}
