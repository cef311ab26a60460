//! The one rule for a job nothing is bound to (no handler, mock or
//! executor), used by every way of running an instance (`windlass run`,
//! `windlass test`, `windlass recover`, the runtime's `Handlers`, scenario
//! harnesses):
//!
//! - an abstract `task` that names no kind (`windlass:task kind` / Zeebe
//!   job type) is a no-op: it completes with no output, recorded as
//!   `CompletedBy::NoOp`;
//! - anything else — including an abstract `task` that names a kind nobody
//!   serves, any other task type, a complex gateway's decision — is missing:
//!   the job fails without retry and the engine raises an incident with
//!   [`Unbound::Missing`]'s message, `no handler for task 'X' (kind 'K')`,
//!   where `task` is the BPMN element (`serviceTask`, `userTask`, ...) and
//!   `X` the resolved task name, else the element id. Without a kind the
//!   parenthesis is left out: `no handler for serviceTask 'X'`.

use crate::effect::JobRequest;
use crate::event::JobPurpose;
use windlass_model::TaskType;

/// What happens to a job nothing is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unbound {
    /// An abstract `task` without a kind: complete it with no output.
    NoOp,
    /// Nothing can run it: fail it without retry (an incident) with this message.
    Missing {
        /// `no handler for task 'X' (kind 'K')`.
        message: String,
    },
}

impl JobRequest {
    /// What to do with this job when no handler, mock or executor matches it.
    pub fn when_unbound(&self) -> Unbound {
        if self.purpose == JobPurpose::Task
            && self.task_type == Some(TaskType::Task)
            && self.kind.is_none()
        {
            return Unbound::NoOp;
        }
        let what = match (self.purpose, self.task_type) {
            (JobPurpose::GatewayDecision, _) | (_, None) => "gateway decision",
            (JobPurpose::Task, Some(t)) => element_name(t),
        };
        let label = self.name.as_deref().unwrap_or(&self.node_id);
        let message = match &self.kind {
            Some(kind) => format!("no handler for {what} '{label}' (kind '{kind}')"),
            None => format!("no handler for {what} '{label}'"),
        };
        Unbound::Missing { message }
    }
}

/// The BPMN element name of a task type (`task`, `serviceTask`, ...).
pub fn element_name(t: TaskType) -> &'static str {
    match t {
        TaskType::Task => "task",
        TaskType::Service => "serviceTask",
        TaskType::Script => "scriptTask",
        TaskType::User => "userTask",
        TaskType::Send => "sendTask",
        TaskType::Receive => "receiveTask",
        TaskType::Manual => "manualTask",
        TaskType::BusinessRule => "businessRuleTask",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::JobKey;
    use std::collections::BTreeMap;
    use windlass_types::Vars;

    fn req(tt: Option<TaskType>, kind: Option<&str>, name: Option<&str>) -> JobRequest {
        JobRequest {
            key: JobKey {
                node: windlass_model::NodeIdx(0),
                token: crate::ids::TokenId(0),
                attempt: 1,
            },
            node_id: "T1".into(),
            name: name.map(String::from),
            task_type: tt,
            purpose: if tt.is_some() {
                JobPurpose::Task
            } else {
                JobPurpose::GatewayDecision
            },
            kind: kind.map(String::from),
            settings: BTreeMap::new(),
            inputs: Vars::new(),
            not_before: None,
            max_attempts: 1,
            timeout_millis: None,
        }
    }

    fn missing(message: &str) -> Unbound {
        Unbound::Missing {
            message: message.into(),
        }
    }

    #[test]
    fn only_an_abstract_task_without_kind_is_a_no_op() {
        assert_eq!(
            req(Some(TaskType::Task), None, Some("Plain")).when_unbound(),
            Unbound::NoOp
        );
    }

    #[test]
    fn an_abstract_task_naming_a_kind_is_missing_with_the_kind() {
        assert_eq!(
            req(Some(TaskType::Task), Some("shell"), Some("Build")).when_unbound(),
            missing("no handler for task 'Build' (kind 'shell')")
        );
    }

    #[test]
    fn other_tasks_and_gateway_decisions_are_missing() {
        assert_eq!(
            req(Some(TaskType::Service), None, Some("Send mail")).when_unbound(),
            missing("no handler for serviceTask 'Send mail'")
        );
        assert_eq!(
            req(Some(TaskType::User), None, None).when_unbound(),
            missing("no handler for userTask 'T1'")
        );
        assert_eq!(
            req(None, None, None).when_unbound(),
            missing("no handler for gateway decision 'T1'")
        );
    }
}
