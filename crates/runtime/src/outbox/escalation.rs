//! The row of an escalation a child sends up to its parent's call activity
//! (`Effect::EscalateToParent`): key `child-escalated:{child}/{run}/{number}`,
//! kind `child-escalated`, a JSON payload. Written in the child's commit,
//! completed in the parent's commit that takes it (or refuses it: the call
//! activity no longer waits, or the number was taken), so it reaches the
//! parent once; recovery re-dispatches a row left over by a crash. The
//! format is stored: it never changes.

use serde::{Deserialize, Serialize};
use windlass_engine::Command;
use windlass_engine::ids::TokenId;
use windlass_store_api::InstanceRef;

/// Outbox row kind of a child's escalation.
pub(crate) const KIND_CHILD_ESCALATED: &str = "child-escalated";

/// An escalation of a child for its parent (the JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildEscalation {
    /// The child's instance id.
    pub child_id: String,
    /// The child's run id.
    pub child_run: String,
    /// The parent's call activity token.
    pub token: TokenId,
    /// The child's running number of escalations sent up.
    pub number: u32,
    /// The escalation code, if any.
    pub code: Option<String>,
}

impl ChildEscalation {
    /// The child that sent it.
    pub fn child(&self) -> InstanceRef {
        InstanceRef::new(self.child_id.clone(), self.child_run.clone())
    }

    /// The command it becomes in the parent.
    pub fn command(&self) -> Command {
        Command::ChildEscalated {
            token: self.token,
            number: self.number,
            code: self.code.clone(),
        }
    }
}

/// The outbox key of the `number`-th escalation `child` sent up.
pub fn child_escalated_key(child: &InstanceRef, number: u32) -> String {
    format!(
        "{KIND_CHILD_ESCALATED}:{}/{}/{number}",
        child.id.0, child.run.0
    )
}
