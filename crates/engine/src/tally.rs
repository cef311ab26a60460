//! Per-node counts of one instance run: tokens active at each node,
//! incidents at each node and tokens that left each node normally. The
//! runtime stores the tally of every run beside its index row (opaque bytes
//! to the store) so per-node statistics over many instances are a sum of
//! small rows, not a replay of every history.
//!
//! Nodes are graph indices: a tally belongs to one definition version
//! (its key), whose graph is fixed.

use crate::state::{InstanceState, Wait};
use windlass_model::NodeIdx;

/// The counts of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeCount {
    /// The node (graph index).
    pub node: NodeIdx,
    /// Tokens at the node that do not wait for an incident (a
    /// multi-instance or loop activity counts once, not once per element).
    pub active: u32,
    /// Open incidents at the node.
    pub incidents: u32,
    /// Tokens that left the node normally
    /// ([`InstanceState::completed`]).
    pub completed: u32,
}

impl NodeCount {
    /// All counts zero at `node`.
    pub fn zero(node: NodeIdx) -> Self {
        Self {
            node,
            active: 0,
            incidents: 0,
            completed: 0,
        }
    }
}

/// Per-node counts, sorted by node; nodes with all counts zero are left
/// out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeTally(pub Vec<NodeCount>);

/// A stored tally that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("node tally does not decode: {0}")]
pub struct TallyError(#[from] serde_json::Error);

impl NodeTally {
    /// The tally of `state`: a finished run has no active tokens or open
    /// incidents, whatever tokens its state still lists.
    pub fn of(state: &InstanceState) -> Self {
        let mut tally = Self::default();
        let live = if state.is_finished() {
            &[][..]
        } else {
            &state.tokens[..]
        };
        for t in live {
            match t.wait {
                Wait::Incident { .. } => tally.entry(t.node).incidents += 1,
                _ if !t.inner => tally.entry(t.node).active += 1,
                _ => {}
            }
        }
        for &(node, n) in &state.completed {
            tally.entry(node).completed += n;
        }
        tally
    }

    /// The counts of `node` (zero when it has none).
    pub fn get(&self, node: NodeIdx) -> NodeCount {
        self.0
            .binary_search_by_key(&node, |c| c.node)
            .map_or(NodeCount::zero(node), |i| self.0[i])
    }

    /// Adds every count of `other` into this tally.
    pub fn add(&mut self, other: &NodeTally) {
        for c in &other.0 {
            let e = self.entry(c.node);
            e.active = e.active.saturating_add(c.active);
            e.incidents = e.incidents.saturating_add(c.incidents);
            e.completed = e.completed.saturating_add(c.completed);
        }
    }

    /// The stored form: a JSON array of `[node, active, incidents,
    /// completed]` rows (readable in a database shell, a few bytes per
    /// node).
    pub fn encode(&self) -> Vec<u8> {
        let rows: Vec<[u32; 4]> = self
            .0
            .iter()
            .map(|c| [c.node.0, c.active, c.incidents, c.completed])
            .collect();
        // Serialising plain integers cannot fail.
        serde_json::to_vec(&rows).unwrap_or_default()
    }

    /// The tally of a stored form (empty bytes: an empty tally).
    pub fn decode(bytes: &[u8]) -> Result<Self, TallyError> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        let rows: Vec<[u32; 4]> = serde_json::from_slice(bytes)?;
        let mut tally = Self::default();
        for [node, active, incidents, completed] in rows {
            tally.add(&NodeTally(vec![NodeCount {
                node: NodeIdx(node),
                active,
                incidents,
                completed,
            }]));
        }
        Ok(tally)
    }

    fn entry(&mut self, node: NodeIdx) -> &mut NodeCount {
        let i = match self.0.binary_search_by_key(&node, |c| c.node) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, NodeCount::zero(node));
                i
            }
        };
        &mut self.0[i]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn count(node: u32, active: u32, incidents: u32, completed: u32) -> NodeCount {
        NodeCount {
            node: NodeIdx(node),
            active,
            incidents,
            completed,
        }
    }

    #[test]
    fn encodes_decodes_and_adds() {
        let a = NodeTally(vec![count(1, 1, 0, 2), count(4, 0, 1, 0)]);
        let bytes = a.encode();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "[[1,1,0,2],[4,0,1,0]]"
        );
        assert_eq!(NodeTally::decode(&bytes).unwrap(), a);
        let mut sum = NodeTally::decode(b"[[4,2,0,1],[0,0,0,3]]").unwrap();
        sum.add(&a);
        assert_eq!(
            sum,
            NodeTally(vec![
                count(0, 0, 0, 3),
                count(1, 1, 0, 2),
                count(4, 2, 1, 1)
            ])
        );
        assert_eq!(sum.get(NodeIdx(9)), count(9, 0, 0, 0));
        assert_eq!(NodeTally::decode(b"").unwrap(), NodeTally::default());
        assert!(NodeTally::decode(b"[[1,2]]").is_err());
    }
}
