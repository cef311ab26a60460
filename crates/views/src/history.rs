//! The story of an instance run, one line per event, worded by the
//! engine's history renderer ([`windlass_engine::history_text`]), with the
//! time the store recorded it, the sequence number, and the token and node
//! each event is about.
//!
//! The time is the store's `recorded_at`: the time of the commit that wrote
//! the event (all events of one commit share it). Events written before the
//! store recorded times (SQLite schema version 1) have none (`None`).

use crate::replay::Recorded;
use crate::time::iso;
use serde::{Deserialize, Serialize};
use windlass_engine::Event;
use windlass_engine::history_text::describe;
use windlass_model::ProcessGraph;
use windlass_store_api::{InstanceRow, Timestamp};
use windlass_types::normalize_whitespace;

/// One history line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLine {
    /// When the event was recorded, RFC 3339 UTC with milliseconds; `None`
    /// for events stored without a time.
    pub recorded_at: Option<String>,
    /// Sequence number (1-based).
    pub seq: u64,
    /// The token the event is about, if any.
    pub token: Option<u32>,
    /// The node's element id, if the event names a node.
    pub node: Option<String>,
    /// The node's name, if the event names a node that has one.
    pub node_name: Option<String>,
    /// The event's type (`JobCompleted`, `TimerFired`, ...; see
    /// `Event::type_name`).
    pub event_type: String,
    /// What happened and why.
    pub text: String,
}

/// The history of one instance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    /// Instance id.
    pub id: String,
    /// Run id.
    pub run: String,
    /// Status from the index.
    pub status: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    pub updated_at: String,
    /// One line per event, in order (one page of them when paged).
    pub events: Vec<HistoryLine>,
    /// When paged and more events follow: the `seq` to ask for the next
    /// page after.
    pub next_after: Option<u64>,
}

/// The recorded time as text, `None` for the 0 that stores return for
/// events written before they recorded times.
fn recorded_text(at: Timestamp) -> Option<String> {
    (at != Timestamp(0)).then(|| iso(at.millis()))
}

/// The token and node an event is about.
fn subject(e: &Event) -> (Option<u32>, Option<u32>) {
    match e {
        Event::TokenCreated { token, node, .. }
        | Event::ActivityStarted { token, node, .. }
        | Event::ActivityCompleted { token, node }
        | Event::JobCreated { token, node, .. }
        | Event::ErrorThrown { token, node, .. } => (Some(token.0), Some(node.0)),
        Event::FlowTaken { token, to, .. } | Event::LinkJumped { token, to } => {
            (Some(token.0), Some(to.0))
        }
        Event::JoinWaiting { token, gateway, .. } | Event::JoinFired { token, gateway, .. } => {
            (Some(token.0), Some(gateway.0))
        }
        Event::ErrorCaught { by, interrupted } => (Some(interrupted.0), Some(by.0)),
        Event::TimerScheduled { token, node, .. }
        | Event::MessageSubscribed { token, node, .. }
        | Event::SignalSubscribed { token, node, .. }
        | Event::DedupClaimed { token, node, .. }
        | Event::MessageThrown { token, node, .. }
        | Event::SignalThrown { token, node, .. }
        | Event::EscalationThrown { token, node, .. }
        | Event::CompensationThrown { token, node, .. } => (Some(token.0), Some(node.0)),
        Event::TransactionCancelled {
            token, boundary, ..
        } => (Some(token.0), Some(boundary.0)),
        Event::ChildEscalated {
            token,
            caught_by: Some(by),
            ..
        } => (Some(token.0), Some(by.0)),
        Event::ChildEscalated { token, .. } => (Some(token.0), None),
        Event::CompensationRecorded { node, .. } | Event::CompensationStarted { node, .. } => {
            (None, Some(node.0))
        }
        Event::EventGatewayWaiting { token, gateway } => (Some(token.0), Some(gateway.0)),
        Event::TokenEnded { token }
        | Event::JobCompleted { token, .. }
        | Event::JobFailed { token, .. }
        | Event::IncidentRaised { token, .. }
        | Event::IncidentRaisedAt { token, .. }
        | Event::TokenCancelled { token }
        | Event::BodyStarted { token, .. }
        | Event::ElementStarted { token, .. }
        | Event::ElementCompleted { token, .. }
        | Event::ChildStarted { token, .. }
        | Event::ChildCompleted { token, .. }
        | Event::Terminated { token, .. } => (Some(token.0), None),
        Event::InstanceStarted { .. }
        | Event::ScopeEntered { .. }
        | Event::ScopeClosed { .. }
        | Event::IncidentResolved { .. }
        | Event::VariablesSet { .. }
        | Event::InstanceCompleted
        | Event::InstanceFailed { .. }
        | Event::InstanceTerminated { .. }
        | Event::TimerFired { .. }
        | Event::TimerCancelled { .. }
        | Event::MessageCorrelated { .. }
        | Event::MessageUnsubscribed { .. }
        | Event::SignalBuffered { .. }
        | Event::SignalDelivered { .. }
        | Event::SignalUnsubscribed { .. }
        | Event::TimerSkipped { .. }
        | Event::CancelRequested { .. }
        | Event::RunReset { .. }
        | Event::InstanceCancelled { .. }
        | Event::InstanceSuspended { .. }
        | Event::InstanceResumed
        | Event::DedupGranted { .. }
        | Event::DedupWithdrawn { .. }
        | Event::InstanceSuperseded { .. } => (None, None),
    }
}

/// The lines of a history.
pub fn lines(events: &[Recorded], graph: &ProcessGraph) -> Vec<HistoryLine> {
    events
        .iter()
        .map(|r| {
            let (token, node) = subject(&r.event);
            let node = node.and_then(|n| graph.nodes.get(n as usize));
            HistoryLine {
                recorded_at: recorded_text(r.recorded_at),
                seq: r.seq,
                token,
                node: node.map(|n| n.id.clone()),
                node_name: node.and_then(|n| n.name.as_deref().map(normalize_whitespace)),
                event_type: r.event.type_name().to_string(),
                text: describe(&r.event, graph),
            }
        })
        .collect()
}

/// The history view of `row`.
pub fn build(row: &InstanceRow, events: &[Recorded], graph: &ProcessGraph) -> HistoryView {
    HistoryView {
        id: row.instance.id.as_str().to_string(),
        run: row.instance.run.as_str().to_string(),
        status: row.status.as_str().to_string(),
        created_at: iso(row.created_at.0),
        updated_at: iso(row.updated_at.0),
        events: lines(events, graph),
        next_after: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn graph() -> ProcessGraph {
        let xml = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="p" isExecutable="true">
    <startEvent id="begin" name="Go   now"/>
    <sequenceFlow id="f" sourceRef="begin" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"#;
        let defs = windlass_model::load(xml).definitions.unwrap();
        defs.process("p").unwrap().as_ref().clone()
    }

    fn recorded(seq: u64, at: i64, event: Event) -> Recorded {
        Recorded {
            seq,
            recorded_at: Timestamp(at),
            event,
        }
    }

    #[test]
    fn lines_carry_time_seq_token_and_node() {
        let g = graph();
        let begin = g.nodes.iter().position(|n| n.id == "begin").unwrap() as u32;
        let events = [
            recorded(
                7,
                1_700_000_000_123,
                Event::TokenCreated {
                    token: windlass_engine::ids::TokenId(3),
                    scope: windlass_engine::ids::ScopeId(0),
                    node: windlass_model::NodeIdx(begin),
                    inner: false,
                },
            ),
            recorded(8, 0, Event::InstanceCompleted),
            recorded(
                9,
                0,
                Event::TokenCreated {
                    token: windlass_engine::ids::TokenId(4),
                    scope: windlass_engine::ids::ScopeId(0),
                    node: windlass_model::NodeIdx(4000),
                    inner: false,
                },
            ),
        ];
        let ls = lines(&events, &g);
        assert_eq!(
            ls[0].recorded_at.as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
        assert_eq!((ls[0].seq, ls[0].token), (7, Some(3)));
        assert_eq!(ls[0].node.as_deref(), Some("begin"));
        assert_eq!(ls[0].node_name.as_deref(), Some("Go now"));
        assert_eq!(ls[0].event_type, "TokenCreated");
        assert_eq!(ls[1].event_type, "InstanceCompleted");
        assert_eq!(ls[1].recorded_at, None, "0 means not recorded");
        assert_eq!(
            (ls[1].seq, ls[1].token, ls[1].node.as_deref()),
            (8, None, None)
        );
        // A node index the graph does not have: no node, no panic.
        assert_eq!((ls[2].token, ls[2].node.as_deref()), (Some(4), None));
        assert!(ls[2].text.contains("#4000"), "{}", ls[2].text);
    }
}
