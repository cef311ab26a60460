//! The runtime's encoding of outbox payloads (JSON, owned by the runtime):
//! a job request, a pending child start, a finished child's notice.

use crate::error::{RuntimeError, RuntimeResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use windlass_engine::JobKey;
use windlass_engine::JobRequest;
use windlass_engine::event::JobPurpose;
use windlass_engine::ids::TokenId;
use windlass_model::TaskType;
use windlass_types::{Timestamp, Vars};

/// Outbox row kind of a job (followed by `:kind` when the task has one).
pub const KIND_JOB: &str = "job";
/// Outbox row kind of a pending child start.
pub const KIND_START_CHILD: &str = "start-child";
/// Outbox row kind of a finished child's notice to its parent.
pub const KIND_CHILD_DONE: &str = "child-done";

#[derive(Serialize, Deserialize)]
struct JobPayload {
    node: u32,
    token: u32,
    attempt: u32,
    node_id: String,
    name: Option<String>,
    task_type: Option<String>,
    purpose: JobPurpose,
    kind: Option<String>,
    settings: BTreeMap<String, String>,
    inputs: Vars,
    not_before: Option<i64>,
    max_attempts: u32,
    timeout_millis: Option<u64>,
}

fn task_type_name(t: TaskType) -> &'static str {
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

/// The BPMN element name of a task type (`serviceTask`, ...).
pub fn task_type_str(t: TaskType) -> &'static str {
    task_type_name(t)
}

fn task_type_from(s: &str) -> Option<TaskType> {
    Some(match s {
        "task" => TaskType::Task,
        "serviceTask" => TaskType::Service,
        "scriptTask" => TaskType::Script,
        "userTask" => TaskType::User,
        "sendTask" => TaskType::Send,
        "receiveTask" => TaskType::Receive,
        "manualTask" => TaskType::Manual,
        "businessRuleTask" => TaskType::BusinessRule,
        _ => return None,
    })
}

/// The outbox kind of a job: `job` or `job:{kind}`.
pub fn job_kind(req: &JobRequest) -> String {
    match &req.kind {
        Some(k) => format!("{KIND_JOB}:{k}"),
        None => KIND_JOB.to_string(),
    }
}

/// Encodes a job request.
pub fn encode_job(req: &JobRequest) -> Vec<u8> {
    let p = JobPayload {
        node: req.key.node,
        token: req.key.token,
        attempt: req.key.attempt,
        node_id: req.node_id.clone(),
        name: req.name.clone(),
        task_type: req.task_type.map(|t| task_type_name(t).to_string()),
        purpose: req.purpose,
        kind: req.kind.clone(),
        settings: req.settings.clone(),
        inputs: req.inputs.clone(),
        not_before: req.not_before.map(|t| t.0),
        max_attempts: req.max_attempts,
        timeout_millis: req.timeout_millis,
    };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_vec(&p).unwrap_or_default()
}

/// Decodes a job request written by [`encode_job`]; `what` names the row.
pub fn decode_job(bytes: &[u8], what: &str) -> RuntimeResult<JobRequest> {
    let p: JobPayload = serde_json::from_slice(bytes).map_err(|e| corrupt(what, e))?;
    let task_type = match p.task_type.as_deref() {
        None => None,
        Some(s) => Some(task_type_from(s).ok_or_else(|| RuntimeError::Corrupt {
            what: what.to_string(),
            detail: format!("unknown task type '{s}'"),
        })?),
    };
    Ok(JobRequest {
        key: JobKey {
            node: p.node,
            token: p.token,
            attempt: p.attempt,
        },
        node_id: p.node_id,
        name: p.name,
        task_type,
        purpose: p.purpose,
        kind: p.kind,
        settings: p.settings,
        inputs: p.inputs,
        not_before: p.not_before.map(Timestamp),
        max_attempts: p.max_attempts,
        timeout_millis: p.timeout_millis,
    })
}

/// A call activity's request for a child instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartChild {
    /// The parent's instance id.
    pub parent_id: String,
    /// The parent's run id.
    pub parent_run: String,
    /// The parent's definition key (the child runs a process of the same
    /// deployed document).
    pub parent_definition: String,
    /// The called process id.
    pub process_id: String,
    /// The call activity's token in the parent.
    pub token: TokenId,
    /// The child's input variables.
    pub vars: Vars,
}

/// A finished child's notice to its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildDone {
    /// The parent's call activity token.
    pub token: TokenId,
    /// Completed (true) or failed.
    pub completed: bool,
    /// Final variables (completed).
    pub outputs: Vars,
    /// Uncaught error code (failed).
    pub code: Option<String>,
    /// Why it failed.
    pub message: String,
}

/// Encodes a serialisable payload as JSON.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a JSON payload; `what` names the row.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> RuntimeResult<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(what, e))
}

fn corrupt(what: &str, e: serde_json::Error) -> RuntimeError {
    RuntimeError::Corrupt {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_requests_round_trip() {
        let mut inputs = Vars::new();
        inputs.insert("x".into(), json!([1, "a"]));
        let req = JobRequest {
            key: JobKey {
                node: 3,
                token: 2,
                attempt: 1,
            },
            node_id: "Task_1".into(),
            name: Some("Do it".into()),
            task_type: Some(TaskType::User),
            purpose: JobPurpose::Task,
            kind: Some("shell".into()),
            settings: BTreeMap::from([("cmd".to_string(), "ls".to_string())]),
            inputs,
            not_before: Some(Timestamp(5)),
            max_attempts: 3,
            timeout_millis: Some(10),
        };
        let bytes = encode_job(&req);
        assert_eq!(decode_job(&bytes, "row").unwrap(), req);
        let err = decode_job(b"{", "row k").unwrap_err();
        assert!(err.to_string().contains("row k"), "{err}");
    }
}
