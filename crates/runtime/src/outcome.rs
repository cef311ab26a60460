//! [`InstanceOutcome`]: where an instance stands, computed from its stored
//! history (status, final root variables, executed task counts, incidents,
//! the children its call activities started).

use crate::error::{RuntimeError, RuntimeResult};
use crate::outbox::child_ref;
use std::collections::{BTreeMap, HashMap};
use windlass_engine::ids::{IncidentId, TokenId};
use windlass_engine::replay::replay_encoded_with;
use windlass_engine::state::Status;
use windlass_engine::{Event, Plan};
use windlass_model::{NodeIdx, NodeKind};
use windlass_store_api::{HistoryEvent, InstanceRef, InstanceStatus};
use windlass_types::Vars;

/// Where an instance stands.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceOutcome {
    /// The instance run.
    pub instance: InstanceRef,
    /// Its status in the instance index.
    pub status: InstanceStatus,
    /// The process-level variables.
    pub variables: Vars,
    /// Completed tasks by resolved name (element id when unnamed), counting
    /// every completion (handlers, mocks, no-ops, inline scripts, skips).
    pub executed: BTreeMap<String, u32>,
    /// Messages of the incidents still open.
    pub incidents: Vec<String>,
    /// Why the instance failed, when it did.
    pub failure: Option<String>,
    /// The number of history events.
    pub events: u64,
    /// The child instances its call activities started, in start order.
    pub called: Vec<InstanceRef>,
    /// Whether it is suspended (`RuntimeHandle::suspend`; a flag in its
    /// history, not an index status).
    pub suspended: bool,
}

/// Folds a stored history into an outcome. `plan` (the instance's
/// definition) tells tasks from sub-processes for the executed counts.
pub fn outcome_from_history(
    instance: &InstanceRef,
    status: InstanceStatus,
    history: &[HistoryEvent],
    plan: &Plan,
) -> RuntimeResult<InstanceOutcome> {
    let mut started: HashMap<TokenId, (NodeIdx, String)> = HashMap::new();
    let mut called = Vec::new();
    let mut executed = BTreeMap::new();
    let mut incidents: BTreeMap<IncidentId, String> = BTreeMap::new();
    let graph = plan.graph();
    let stored = history.iter().map(|h| (h.seq, h.payload.as_slice()));
    let state = replay_encoded_with(stored, |event| match event {
        Event::ActivityStarted { token, node, name } => {
            let label = name
                .clone()
                .or_else(|| graph.nodes.get(node.0 as usize).map(|n| n.id.clone()))
                .unwrap_or_default();
            if matches!(
                graph.nodes.get(node.0 as usize).map(|n| &n.kind),
                Some(NodeKind::CallActivity { .. })
            ) {
                let child = child_ref(instance, *token);
                if !called.contains(&child) {
                    called.push(child);
                }
            }
            started.insert(*token, (*node, label));
        }
        Event::ActivityCompleted { token, .. } => {
            if let Some((node, label)) = started.remove(token)
                && matches!(
                    graph.nodes.get(node.0 as usize).map(|n| &n.kind),
                    Some(NodeKind::Task { .. })
                )
            {
                *executed.entry(label).or_insert(0) += 1;
            }
        }
        Event::IncidentRaised {
            incident, message, ..
        }
        | Event::IncidentRaisedAt {
            incident, message, ..
        } => {
            incidents.insert(*incident, message.clone());
        }
        Event::IncidentResolved { incident, .. } => {
            incidents.remove(incident);
        }
        _ => {}
    })
    .map_err(|e| RuntimeError::replay_failed(&instance, &e))?;
    let failure = match &state.status {
        Status::Failed { code, reason } => Some(match code {
            Some(c) => format!("{reason} (error code {c})"),
            None => reason.clone(),
        }),
        Status::Terminated { reason } => Some(format!("terminated: {reason}")),
        Status::Cancelled { reason } => Some(format!("cancelled: {reason}")),
        Status::Superseded { key, by } => Some(format!("superseded by '{by}' (dedup key '{key}')")),
        _ => None,
    };
    Ok(InstanceOutcome {
        instance: instance.clone(),
        status,
        variables: state.root_vars().cloned().unwrap_or_default(),
        executed,
        incidents: incidents.into_values().collect(),
        failure,
        events: state.version,
        called,
        suspended: state.is_suspended(),
    })
}
