//! Per-node statistics of one definition version: over every run of it,
//! tokens active at each node, open incidents at each node and tokens that
//! left each node normally. A sum of the tallies the runtime stores with
//! each run's index row (`InstanceRow::tally`); a run without one (written
//! before the tally existed) has its history replayed instead, and the view
//! says how many were.

use crate::definition::load_graph;
use crate::error::{ViewError, ViewResult};
use crate::instance::node_label;
use crate::reader::Views;
use crate::replay::decode_and_replay;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use windlass_engine::tally::NodeTally;
use windlass_store_api::{
    DefinitionRead, HistoryRead, InstanceCursor, InstanceIndex, InstanceQuery,
};

/// Index rows read per query.
const STATISTICS_PAGE: usize = 10_000;

/// The counts of one node over every run of a definition version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatistics {
    /// Node element id.
    pub node: String,
    /// Node name, when it has one.
    pub name: Option<String>,
    /// Tokens at the node in unfinished runs, not waiting for an incident
    /// (a multi-instance or loop activity counts once per run).
    pub active: u64,
    /// Open incidents at the node.
    pub incidents: u64,
    /// Tokens that left the node normally (took an outgoing flow, ended
    /// there, merged at its join); a split counts once.
    pub completed: u64,
}

/// Per-node statistics of one definition version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionStatistics {
    /// The definition key.
    pub definition: String,
    /// How many runs were counted.
    pub instances: u64,
    /// Runs per status (`running`, `incident`, `completed`, ...).
    pub by_status: BTreeMap<String, u64>,
    /// Runs that had no stored tally (written before it existed) and were
    /// replayed from their history instead.
    pub replayed: u64,
    /// Nodes with any count, in graph order.
    pub nodes: Vec<NodeStatistics>,
}

impl<S: HistoryRead + InstanceIndex + DefinitionRead> Views<'_, S> {
    /// The per-node statistics of every run of definition `key`.
    pub async fn statistics(&self, key: &str) -> ViewResult<DefinitionStatistics> {
        self.statistics_paged(key, STATISTICS_PAGE).await
    }

    /// [`statistics`](Self::statistics), reading `page` index rows per
    /// query.
    pub(crate) async fn statistics_paged(
        &self,
        key: &str,
        page: usize,
    ) -> ViewResult<DefinitionStatistics> {
        let graph = load_graph(self.store(), key).await?;
        let mut sums = vec![[0u64; 3]; graph.nodes.len()];
        let mut by_status = BTreeMap::new();
        let mut replayed = 0;
        let mut instances = 0u64;
        // Pages of the index (keyset): memory stays bounded however many
        // runs the definition has.
        let mut after = None;
        loop {
            let rows = self
                .store()
                .query_instances(&InstanceQuery {
                    definition_key: Some(key.to_string()),
                    after: after.take(),
                    limit: Some(page),
                    ..InstanceQuery::default()
                })
                .await?;
            for row in &rows {
                instances += 1;
                *by_status
                    .entry(row.status.as_str().to_string())
                    .or_insert(0u64) += 1;
                let tally = if row.tally.is_empty() {
                    replayed += 1;
                    let stored = self.store().history(&row.instance).await?;
                    let (_, state) = decode_and_replay(&row.instance, stored)?;
                    NodeTally::of(&state)
                } else {
                    NodeTally::decode(&row.tally).map_err(|e| ViewError::BadHistory {
                        id: row.instance.id.as_str().to_string(),
                        run: row.instance.run.as_str().to_string(),
                        seq: row.last_seq,
                        detail: e.to_string(),
                    })?
                };
                for c in &tally.0 {
                    // A node index outside the graph cannot come from this
                    // definition's runs; it is left out rather than panicking.
                    if let Some(sum) = sums.get_mut(c.node.0 as usize) {
                        sum[0] += u64::from(c.active);
                        sum[1] += u64::from(c.incidents);
                        sum[2] += u64::from(c.completed);
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() == page => {
                    after = Some(InstanceCursor::of(last));
                }
                _ => break,
            }
        }
        let nodes = sums
            .iter()
            .enumerate()
            .filter(|(_, s)| s.iter().any(|n| *n > 0))
            .map(|(i, s)| {
                let (node, name) = node_label(Some(&graph), i as u32);
                NodeStatistics {
                    node,
                    name,
                    active: s[0],
                    incidents: s[1],
                    completed: s[2],
                }
            })
            .collect();
        Ok(DefinitionStatistics {
            definition: key.to_string(),
            instances,
            by_status,
            replayed,
            nodes,
        })
    }
}
