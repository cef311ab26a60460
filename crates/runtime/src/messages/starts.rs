//! The start events that publications and broadcasts start instances at:
//! the message and signal start events of the top level of the latest
//! deployed version of every process (a new version replaces the start
//! events of the one before; instances of older versions are not started).

use crate::definitions::ProcessDef;
use std::collections::HashMap;
use std::sync::Arc;
use windlass_model::{EventTrigger, NodeKind, ScopeIdx};

/// One start event to start an instance at.
#[derive(Debug, Clone)]
pub(crate) struct StartTarget {
    /// The latest definition of its process.
    pub def: Arc<ProcessDef>,
    /// The start event's element id.
    pub node_id: String,
}

/// What starts an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Trigger {
    Message,
    Signal,
}

/// A start event of one process: what triggers it, by which name.
type NamedStart = (Trigger, String, StartTarget);

/// The start events per (trigger, name).
#[derive(Debug, Default)]
pub(crate) struct StartIndex {
    /// process id → its latest definition's version and start events.
    by_process: HashMap<String, (u32, Vec<NamedStart>)>,
}

impl StartIndex {
    /// Takes `def` (version `version`) as the latest of its process unless a
    /// newer version is known.
    pub fn deployed(&mut self, def: Arc<ProcessDef>, version: u32) {
        if let Some((known, _)) = self.by_process.get(&def.process_id)
            && *known > version
        {
            return;
        }
        let g = def.plan.graph();
        let mut starts = Vec::new();
        for &n in &g.scope(ScopeIdx::ROOT).children {
            let node = g.node(n);
            let NodeKind::StartEvent { trigger, .. } = &node.kind else {
                continue;
            };
            let (t, name) = match trigger {
                EventTrigger::Message { name, .. } => (Trigger::Message, name),
                EventTrigger::Signal { name } => (Trigger::Signal, name),
                _ => continue,
            };
            let target = StartTarget {
                def: def.clone(),
                node_id: node.id.clone(),
            };
            starts.push((t, name.clone(), target));
        }
        self.by_process
            .insert(def.process_id.clone(), (version, starts));
    }

    /// The start events for `trigger` named `name`, one per process at
    /// most (its first in document order), ordered by process id.
    pub fn targets(&self, trigger: Trigger, name: &str) -> Vec<StartTarget> {
        let mut out: Vec<StartTarget> = self
            .by_process
            .values()
            .filter_map(|(_, starts)| {
                starts
                    .iter()
                    .find(|(t, n, _)| *t == trigger && n == name)
                    .map(|(_, _, target)| target.clone())
            })
            .collect();
        out.sort_by(|a, b| a.def.process_id.cmp(&b.def.process_id));
        out
    }
}
