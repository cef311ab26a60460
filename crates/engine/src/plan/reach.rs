//! "Can a token at node A still get to node B?" — what the inclusive join
//! (and the complex gateway's activation) asks of the graph.
//!
//! A step from a node goes along its outgoing flows, to its boundary
//! events, and from a link throw event to its catch event. Only the join
//! gateways (inclusive and complex) are ever asked about as targets, so
//! their answers are computed once, when the plan is built: for each, one
//! reverse walk from the gateway marks every node that can reach it. That
//! costs one pass over the graph per join gateway, and a process without
//! one pays nothing — where an all-pairs table cost O(n²) time and n²/8
//! bytes (50 s and 540 MB for a 40,000-task chain). Any other target is
//! answered by a forward walk on demand.

use windlass_model::{EventResult, GatewayKind, NodeKind, ProcessGraph};

/// The nodes that can reach each join gateway of one graph.
#[derive(Debug, Default)]
pub struct Reach {
    /// Join gateway → bitset (by node index) of the nodes from which it can
    /// be reached in one or more steps; sorted by gateway.
    joins: Vec<(u32, Box<[u64]>)>,
}

impl Reach {
    /// Walks back from every inclusive and complex gateway of `graph`.
    pub fn new(graph: &ProcessGraph) -> Reach {
        let joins: Vec<u32> = (0..graph.nodes.len())
            .filter(|&n| is_join(graph, n))
            .filter_map(|n| u32::try_from(n).ok())
            .collect();
        if joins.is_empty() {
            return Reach::default();
        }
        let preds = Predecessors::new(graph);
        let words = graph.nodes.len().div_ceil(64);
        let mut stack = Vec::new();
        let joins = joins
            .into_iter()
            .map(|join| {
                let mut set = vec![0u64; words].into_boxed_slice();
                stack.clear();
                stack.extend_from_slice(preds.of(join as usize));
                while let Some(m) = stack.pop() {
                    let m = m as usize;
                    if insert(&mut set, m) {
                        stack.extend_from_slice(preds.of(m));
                    }
                }
                (join, set)
            })
            .collect();
        Reach { joins }
    }

    /// The 64-bit words held by the precomputed sets.
    pub fn words(&self) -> usize {
        self.joins.iter().map(|(_, set)| set.len()).sum()
    }

    /// True when a token at `from` can reach `to` in one or more steps
    /// (false for indexes outside the graph).
    pub fn can_reach(&self, graph: &ProcessGraph, from: u32, to: u32) -> bool {
        let (from, to_idx) = (from as usize, to as usize);
        let n = graph.nodes.len();
        if from >= n || to_idx >= n {
            return false;
        }
        match self.joins.binary_search_by_key(&to, |(j, _)| *j) {
            Ok(i) => self
                .joins
                .get(i)
                .is_some_and(|(_, set)| contains(set, from)),
            Err(_) => walk_reaches(graph, from, to_idx),
        }
    }
}

/// Inclusive and complex gateways: the nodes the engine asks about.
fn is_join(graph: &ProcessGraph, n: usize) -> bool {
    matches!(
        graph.nodes.get(n).map(|node| &node.kind),
        Some(NodeKind::Gateway {
            kind: GatewayKind::Inclusive | GatewayKind::Complex,
            ..
        })
    )
}

/// Calls `f` with every node one step after `n`.
fn for_each_successor(graph: &ProcessGraph, n: usize, mut f: impl FnMut(usize)) {
    let Some(node) = graph.nodes.get(n) else {
        return;
    };
    for flow in &node.outgoing {
        f(graph.flow(*flow).target.0 as usize);
    }
    for boundary in &node.boundary_events {
        f(boundary.0 as usize);
    }
    if let NodeKind::IntermediateThrow {
        result: EventResult::Link {
            target: Some(t), ..
        },
    } = &node.kind
    {
        f(t.0 as usize);
    }
}

/// A forward walk from `from`: true when it gets to `to`.
fn walk_reaches(graph: &ProcessGraph, from: usize, to: usize) -> bool {
    let mut seen = vec![0u64; graph.nodes.len().div_ceil(64)];
    let mut stack = Vec::new();
    for_each_successor(graph, from, |m| stack.push(m));
    while let Some(m) = stack.pop() {
        if m == to {
            return true;
        }
        if insert(&mut seen, m) {
            for_each_successor(graph, m, |s| stack.push(s));
        }
    }
    false
}

/// The reverse of the step relation, as one list per node (compressed:
/// `list[start[n]..start[n + 1]]`).
struct Predecessors {
    start: Vec<usize>,
    list: Vec<u32>,
}

impl Predecessors {
    fn new(graph: &ProcessGraph) -> Predecessors {
        let n = graph.nodes.len();
        let mut start = vec![0usize; n + 1];
        for from in 0..n {
            for_each_successor(graph, from, |to| {
                if let Some(c) = start.get_mut(to + 1) {
                    *c += 1;
                }
            });
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut list = vec![0u32; start[n]];
        for from in 0..n {
            let from_u32 = u32::try_from(from).unwrap_or(u32::MAX);
            for_each_successor(graph, from, |to| {
                if let Some(at) = fill.get_mut(to) {
                    if let Some(slot) = list.get_mut(*at) {
                        *slot = from_u32;
                    }
                    *at += 1;
                }
            });
        }
        Predecessors { start, list }
    }

    fn of(&self, n: usize) -> &[u32] {
        match (self.start.get(n), self.start.get(n + 1)) {
            (Some(&a), Some(&b)) => self.list.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Adds `n` to the bitset; true when it was not there.
fn insert(set: &mut [u64], n: usize) -> bool {
    match set.get_mut(n / 64) {
        Some(w) => {
            let bit = 1u64 << (n % 64);
            let new = *w & bit == 0;
            *w |= bit;
            new
        }
        None => false,
    }
}

fn contains(set: &[u64], n: usize) -> bool {
    set.get(n / 64).is_some_and(|w| w & (1u64 << (n % 64)) != 0)
}
