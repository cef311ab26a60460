//! The payload of a job row: a compact binary record (a format byte, then
//! postcard fields; the input variables as JSON text). Rows written by older
//! builds as JSON objects are still read.

use crate::error::{RuntimeError, RuntimeResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use windlass_engine::event::JobPurpose;
use windlass_engine::ids::TokenId;
use windlass_engine::{JobKey, JobRequest};
use windlass_model::{NodeIdx, TaskType};
use windlass_types::{Timestamp, Vars};

/// First byte of a binary job payload (JSON payloads start with `{`).
const BINARY_V1: u8 = 1;

/// A first allocation that fits a typical job whole.
const ENCODE_CAPACITY: usize = 64;

/// The fields as written (borrowed from the request: no copies).
#[derive(Serialize)]
struct JobFieldsRef<'a> {
    node: u32,
    token: u32,
    attempt: u32,
    node_id: &'a str,
    name: Option<&'a str>,
    task_type: Option<u8>,
    purpose: JobPurpose,
    kind: Option<&'a str>,
    settings: &'a BTreeMap<String, String>,
    inputs: &'a str,
    not_before: Option<i64>,
    max_attempts: u32,
    timeout_millis: Option<u64>,
}

/// The fields as read (same order and types as [`JobFieldsRef`]).
#[derive(Deserialize)]
struct JobFields {
    node: u32,
    token: u32,
    attempt: u32,
    node_id: String,
    name: Option<String>,
    task_type: Option<u8>,
    purpose: JobPurpose,
    kind: Option<String>,
    settings: BTreeMap<String, String>,
    inputs: String,
    not_before: Option<i64>,
    max_attempts: u32,
    timeout_millis: Option<u64>,
}

/// The legacy JSON form (rows written before the binary format).
#[derive(Deserialize)]
struct JsonJob {
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

/// Every task type with its stable code in the binary format and its BPMN
/// element name in the JSON format.
const TASK_TYPES: [(TaskType, u8, &str); 8] = [
    (TaskType::Task, 0, "task"),
    (TaskType::Service, 1, "serviceTask"),
    (TaskType::Script, 2, "scriptTask"),
    (TaskType::User, 3, "userTask"),
    (TaskType::Send, 4, "sendTask"),
    (TaskType::Receive, 5, "receiveTask"),
    (TaskType::Manual, 6, "manualTask"),
    (TaskType::BusinessRule, 7, "businessRuleTask"),
];

fn task_type_code(t: TaskType) -> u8 {
    TASK_TYPES
        .iter()
        .find(|(tt, _, _)| *tt == t)
        .map_or(0, |(_, code, _)| *code)
}

/// Encodes a job request as a binary payload.
pub fn encode_job(req: &JobRequest) -> Vec<u8> {
    let inputs_text;
    let inputs = if req.inputs.is_empty() {
        ""
    } else {
        // Serialising a JSON map with string keys cannot fail.
        inputs_text = serde_json::to_string(&req.inputs).unwrap_or_default();
        &inputs_text
    };
    let fields = JobFieldsRef {
        node: req.key.node.0,
        token: req.key.token.0,
        attempt: req.key.attempt,
        node_id: &req.node_id,
        name: req.name.as_deref(),
        task_type: req.task_type.map(task_type_code),
        purpose: req.purpose,
        kind: req.kind.as_deref(),
        settings: &req.settings,
        inputs,
        not_before: req.not_before.map(|t| t.0),
        max_attempts: req.max_attempts,
        timeout_millis: req.timeout_millis,
    };
    let mut out = Vec::with_capacity(ENCODE_CAPACITY);
    out.push(BINARY_V1);
    // Postcard only fails on types it cannot represent; these are plain data.
    postcard::to_extend(&fields, out).unwrap_or_default()
}

/// Decodes a job payload (binary, or legacy JSON); `what` names the row.
pub fn decode_job(bytes: &[u8], what: &str) -> RuntimeResult<JobRequest> {
    let corrupt = |detail: String| RuntimeError::Corrupt {
        what: what.to_string(),
        detail,
    };
    match bytes.split_first() {
        Some((&BINARY_V1, body)) => {
            let (f, rest) = postcard::take_from_bytes::<JobFields>(body)
                .map_err(|e| corrupt(format!("job payload: {e}")))?;
            if !rest.is_empty() {
                return Err(corrupt(format!(
                    "job payload has {} trailing bytes",
                    rest.len()
                )));
            }
            let task_type = match f.task_type {
                None => None,
                Some(code) => Some(
                    TASK_TYPES
                        .iter()
                        .find(|(_, c, _)| *c == code)
                        .map(|(t, _, _)| *t)
                        .ok_or_else(|| corrupt(format!("unknown task type code {code}")))?,
                ),
            };
            let inputs = if f.inputs.is_empty() {
                Vars::new()
            } else {
                serde_json::from_str(&f.inputs).map_err(|e| corrupt(format!("job inputs: {e}")))?
            };
            Ok(JobRequest {
                key: JobKey {
                    node: NodeIdx(f.node),
                    token: TokenId(f.token),
                    attempt: f.attempt,
                },
                node_id: f.node_id,
                name: f.name,
                task_type,
                purpose: f.purpose,
                kind: f.kind,
                settings: f.settings,
                inputs,
                not_before: f.not_before.map(Timestamp),
                max_attempts: f.max_attempts,
                timeout_millis: f.timeout_millis,
            })
        }
        Some((b'{', _)) => {
            let p: JsonJob = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
            let task_type = match p.task_type.as_deref() {
                None => None,
                Some(s) => Some(
                    TASK_TYPES
                        .iter()
                        .find(|(_, _, name)| *name == s)
                        .map(|(t, _, _)| *t)
                        .ok_or_else(|| corrupt(format!("unknown task type '{s}'")))?,
                ),
            };
            Ok(JobRequest {
                key: JobKey {
                    node: NodeIdx(p.node),
                    token: TokenId(p.token),
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
        Some((b, _)) => Err(corrupt(format!("unknown job payload format byte {b}"))),
        None => Err(corrupt("empty job payload".into())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(inputs: Vars) -> JobRequest {
        JobRequest {
            key: JobKey {
                node: NodeIdx(3),
                token: TokenId(2),
                attempt: 1,
            },
            node_id: "Task_1".into(),
            name: Some("Do it".into()),
            task_type: Some(TaskType::User),
            purpose: JobPurpose::Task,
            kind: Some("shell".into()),
            settings: BTreeMap::from([("cmd".to_string(), "ls".to_string())]),
            inputs,
            not_before: Some(Timestamp(-5)),
            max_attempts: 3,
            timeout_millis: Some(10),
        }
    }

    #[test]
    fn binary_payloads_round_trip() {
        let mut inputs = Vars::new();
        inputs.insert("x".into(), json!([1, "a", {"b": null}]));
        for req in [request(inputs), request(Vars::new())] {
            let bytes = encode_job(&req);
            assert_eq!(bytes[0], BINARY_V1);
            assert_eq!(decode_job(&bytes, "row").unwrap(), req);
        }
        let mut bare = request(Vars::new());
        bare.name = None;
        bare.task_type = None;
        bare.kind = None;
        bare.settings.clear();
        bare.not_before = None;
        bare.timeout_millis = None;
        assert_eq!(decode_job(&encode_job(&bare), "row").unwrap(), bare);
    }

    #[test]
    fn every_task_type_round_trips() {
        for (t, _, name) in TASK_TYPES {
            let mut req = request(Vars::new());
            req.task_type = Some(t);
            assert_eq!(
                decode_job(&encode_job(&req), "r").unwrap().task_type,
                Some(t)
            );
            assert_eq!(windlass_engine::unbound::element_name(t), name);
        }
    }

    #[test]
    fn legacy_json_payloads_are_still_read() {
        let legacy = br#"{"node":3,"token":2,"attempt":1,"node_id":"Task_1","name":"Do it",
            "task_type":"userTask","purpose":"Task","kind":"shell","settings":{"cmd":"ls"},
            "inputs":{"x":1},"not_before":-5,"max_attempts":3,"timeout_millis":10}"#;
        let mut want = request(Vars::new());
        want.inputs.insert("x".into(), json!(1));
        assert_eq!(decode_job(legacy, "row").unwrap(), want);
    }

    #[test]
    fn bad_payloads_name_the_row() {
        let good = encode_job(&request(Vars::new()));
        let mut long = good.clone();
        long.push(0);
        let cuts = (1..good.len()).map(|n| good[..n].to_vec());
        let bad: Vec<Vec<u8>> = [vec![], vec![9, 1], b"{".to_vec(), long]
            .into_iter()
            .chain(cuts)
            .collect();
        for b in bad {
            let err = decode_job(&b, "row k").unwrap_err();
            assert!(err.to_string().contains("row k"), "{err}");
        }
    }
}
