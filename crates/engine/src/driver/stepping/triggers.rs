//! Instances started by what the driver is sent, as the runtime's start
//! index does (`docs/runtime.md`, Messages and Signals): a published message
//! that no subscription takes starts one instance at the message start event
//! with its name of every known process, and a broadcast signal starts one at
//! every signal start event with its name — the first such start event of a
//! process (document order), processes in id order. The known processes are
//! the ones [`Driver::set_starters`] gave (a scenario gives its file's
//! executable processes). Each started instance is a new [`Root`], named by
//! the caller's label (`label`, then `label#2`, ... when several start), or
//! `{process} started by {trigger}` without one. A start event carrying a
//! dedup key is refused ([`DriverError::CannotStart`]): the runtime holds such
//! starts back while the key is held, which the driver does not do.

use super::{Driver, Root};
use crate::driver::DriverError;
use std::sync::Arc;
use windlass_model::{EventTrigger, NodeKind, ProcessGraph, ScopeIdx};
use windlass_types::Vars;

/// What starts an instance at a start event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A message start event.
    Message,
    /// A signal start event.
    Signal,
}

impl Driver<'_> {
    /// The processes messages and signals may start (replacing any given
    /// before); executable ones only are looked at.
    pub fn set_starters(&mut self, processes: Vec<Arc<ProcessGraph>>) {
        let mut processes: Vec<Arc<ProcessGraph>> =
            processes.into_iter().filter(|g| g.is_executable).collect();
        processes.sort_by(|a, b| a.id.cmp(&b.id));
        self.starters = processes;
    }

    /// Starts one instance at the start event for `trigger` named `name`
    /// of every known process that has one, with `vars`, and settles; the
    /// started roots, in process id order.
    pub(crate) fn start_triggered(
        &mut self,
        trigger: Trigger,
        name: &str,
        vars: &Vars,
        label: Option<&str>,
    ) -> Result<Vec<Root>, DriverError> {
        let targets: Vec<(String, String, bool)> = self
            .starters
            .iter()
            .filter_map(|g| {
                start_event(g, trigger, name).map(|(node, keyed)| (g.id.clone(), node, keyed))
            })
            .collect();
        let mut started = Vec::with_capacity(targets.len());
        for (k, (process, node, keyed)) in targets.into_iter().enumerate() {
            if keyed {
                // The runtime holds such a start back while its key is held
                // (coalescing, `docs/runtime.md`); refused rather than shown
                // differently here.
                return Err(DriverError::CannotStart {
                    process,
                    node,
                    reason: "the start event carries a dedup key, and starts coalesced under a \
                             key are made by the runtime only; start the instance with a \
                             `start` step instead"
                        .into(),
                });
            }
            let plan = (self.resolve)(&process).map_err(|reason| DriverError::CannotStart {
                process: process.clone(),
                node: node.clone(),
                reason,
            })?;
            let label = match (label, k) {
                (Some(l), 0) => l.to_string(),
                (Some(l), k) => format!("{l}#{}", k + 1),
                (None, _) => match trigger {
                    Trigger::Message => format!("{process} started by message '{name}'"),
                    Trigger::Signal => format!("{process} started by signal '{name}'"),
                },
            };
            let i = self.spawn(plan, vars.clone(), None, 0, Some(label));
            if let Some(crate::command::Command::Start { start_event, .. }) =
                self.insts[i].queue.front_mut()
            {
                *start_event = Some(node);
            }
            self.drain(i)?;
            started.push(Root(i));
        }
        if !started.is_empty() {
            self.settle()?;
        }
        Ok(started)
    }
}

/// The id of `g`'s first top-level start event for `trigger` named `name`,
/// and whether it carries a dedup key.
fn start_event(g: &ProcessGraph, trigger: Trigger, name: &str) -> Option<(String, bool)> {
    g.scope(ScopeIdx::ROOT).children.iter().find_map(|&n| {
        let node = g.node(n);
        let NodeKind::StartEvent { trigger: t, .. } = &node.kind else {
            return None;
        };
        let hit = match (trigger, t) {
            (Trigger::Message, EventTrigger::Message { name: m, .. }) => m == name,
            (Trigger::Signal, EventTrigger::Signal { name: s }) => s == name,
            _ => false,
        };
        hit.then(|| (node.id.clone(), node.dedup_key.is_some()))
    })
}
