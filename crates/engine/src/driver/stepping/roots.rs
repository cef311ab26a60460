//! Several instances started from outside in one driver.
//! [`Driver::start_root`] starts another instance beside the first one, as a
//! newer event starts a newer instance of a process in the runtime. It shares
//! the driver's clock, mailbox and dedup owner, so a newer claim for a dedup
//! key can supersede an instance waiting for it (named in the superseded
//! instance's history by the label it was started with). Each root's tree
//! (the root and the children of its call activities) has its own status,
//! executed counts, variables and state; operations name their root.

use super::{Driver, status_from};
use crate::command::Command;
use crate::driver::{DriverError, RunStatus};
use crate::plan::Plan;
use crate::state::InstanceState;
use std::collections::BTreeMap;
use std::sync::Arc;
use windlass_types::Vars;

/// An instance the driver started from outside (not a call activity's
/// child). Only the driver hands them out, so every `Root` names an
/// instance of its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Root(pub(super) usize);

impl Root {
    /// The instance [`Driver::start`] started.
    pub const FIRST: Root = Root(0);
}

/// No task completed yet.
static NONE_EXECUTED: BTreeMap<String, u32> = BTreeMap::new();

impl Driver<'_> {
    /// Starts another instance of `plan` with `vars` at the driver's clock,
    /// labelled `label` (how it is named when its dedup claim supersedes a
    /// waiting one), and settles the whole tree.
    pub fn start_root(
        &mut self,
        plan: &Arc<Plan>,
        vars: Vars,
        label: &str,
    ) -> Result<Root, DriverError> {
        let i = self.spawn(Arc::clone(plan), vars, None, 0, Some(label.to_string()));
        self.drain(i)?;
        self.settle()?;
        Ok(Root(i))
    }

    /// Applies `command` to `root` and settles. A command the engine
    /// refuses (say, to a finished instance) is an error and changes
    /// nothing.
    pub fn send_to(&mut self, root: Root, command: Command) -> Result<(), DriverError> {
        self.apply(root.0, command)?;
        self.drain(root.0)?;
        self.settle()
    }

    /// `root`'s status now.
    pub fn status_of(&self, root: Root) -> RunStatus {
        let inst = &self.insts[root.0];
        status_from(&inst.state, &inst.history)
    }

    /// Completed task-type activities of `root`'s tree by resolved,
    /// normalised name (its children included, other roots not).
    pub fn executed_of(&self, root: Root) -> &BTreeMap<String, u32> {
        self.executed.get(&root.0).unwrap_or(&NONE_EXECUTED)
    }

    /// `root`'s process variables now.
    pub fn variables_of(&self, root: Root) -> Vars {
        self.insts[root.0]
            .state
            .root_vars()
            .cloned()
            .unwrap_or_default()
    }

    /// `root`'s state.
    pub fn state_of(&self, root: Root) -> &InstanceState {
        &self.insts[root.0].state
    }
}
