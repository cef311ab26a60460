//! The stored formats: rows written by earlier builds decode, and new rows
//! are byte-for-byte what earlier builds wrote.

#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;
use std::collections::BTreeMap;
use windlass_engine::JobKey;
use windlass_engine::event::JobPurpose;
use windlass_model::TaskType;

fn request() -> JobRequest {
    let mut inputs = Vars::new();
    inputs.insert("x".into(), json!(1));
    JobRequest {
        key: JobKey {
            node: windlass_model::NodeIdx(3),
            token: windlass_engine::ids::TokenId(2),
            attempt: 1,
        },
        node_id: "Task_1".into(),
        name: Some("Do it".into()),
        task_type: Some(TaskType::Service),
        purpose: JobPurpose::Task,
        kind: Some("shell".into()),
        settings: BTreeMap::from([("cmd".to_string(), "ls".to_string())]),
        inputs,
        not_before: Some(Timestamp(1_700_000_000_000)),
        max_attempts: 3,
        timeout_millis: Some(10),
    }
}

/// The payload the pre-enum build (`job_payload::encode_job`) wrote for
/// [`request`].
const OLD_JOB_BYTES: [u8; 54] = [
    1, 3, 2, 1, 6, 84, 97, 115, 107, 95, 49, 1, 5, 68, 111, 32, 105, 116, 1, 1, 0, 1, 5, 115, 104,
    101, 108, 108, 1, 3, 99, 109, 100, 2, 108, 115, 7, 123, 34, 120, 34, 58, 49, 125, 1, 128, 160,
    171, 254, 249, 98, 3, 1, 10,
];

fn row(key: &str, kind: &str, instance: &InstanceRef, payload: &[u8]) -> OutboxRow {
    OutboxRow {
        key: key.into(),
        kind: kind.into(),
        instance: Some(instance.clone()),
        payload: payload.to_vec(),
        due_at: Timestamp(5),
        attempt: 1,
        lease: None,
    }
}

#[test]
fn rows_in_the_old_format_decode() {
    let inst = InstanceRef::new("order/7", "1");
    let job = OutboxEntry::decode(&row("order/7/1/3/2/1", "job:shell", &inst, &OLD_JOB_BYTES));
    assert_eq!(
        job.unwrap(),
        OutboxEntry::Job {
            instance: inst.clone(),
            request: Box::new(request()),
        }
    );
    let legacy_json = br#"{"node":3,"token":2,"attempt":1,"node_id":"Task_1","name":"Do it",
        "task_type":"serviceTask","purpose":"Task","kind":"shell","settings":{"cmd":"ls"},
        "inputs":{"x":1},"not_before":1700000000000,"max_attempts":3,"timeout_millis":10}"#;
    let job = OutboxEntry::decode(&row("order/7/1/3/2/1", "job:shell", &inst, legacy_json));
    assert_eq!(job.unwrap().key(), "order/7/1/3/2/1");

    let child = InstanceRef::new("order/7/1/call/4", "1");
    let start = br#"{"parent_id":"order/7","parent_run":"1","parent_definition":"p:abc","process_id":"child","token":4,"vars":{"a":true}}"#;
    let entry = OutboxEntry::decode(&row(
        "start-child:order/7/1/call/4/1",
        "start-child",
        &child,
        start,
    ))
    .unwrap();
    let OutboxEntry::StartChild { child: c, start: s } = &entry else {
        panic!("{entry:?}");
    };
    assert_eq!(c, &child);
    assert_eq!(s.parent(), inst);
    assert_eq!(
        (s.process_id.as_str(), s.token),
        ("child", windlass_engine::ids::TokenId(4))
    );
    // Written before call bindings: it runs the caller's document's
    // version, as it did then; written again, it says so.
    assert_eq!(s.binding, windlass_model::CallBinding::Deployment);
    let again = OutboxEntry::decode(&row(
        "start-child:order/7/1/call/4/1",
        "start-child",
        &child,
        &entry.encode(),
    ))
    .unwrap();
    assert_eq!(again, entry);
    assert_eq!(entry.key(), "start-child:order/7/1/call/4/1");

    let done = br#"{"token":4,"completed":false,"outputs":{},"code":"E1","message":"boom"}"#;
    let entry = OutboxEntry::decode(&row(
        "child-done:order/7/1/call/4/1",
        "child-done",
        &inst,
        done,
    ))
    .unwrap();
    let OutboxEntry::ChildDone {
        child: c,
        parent,
        done: d,
    } = &entry
    else {
        panic!("{entry:?}");
    };
    assert_eq!((c, parent), (&child, &inst));
    assert_eq!(
        (d.code.as_deref(), d.message.as_str()),
        (Some("E1"), "boom")
    );
    assert_eq!(entry.encode(), done.to_vec(), "written as before");
}

#[test]
fn new_rows_are_written_in_the_stored_format() {
    let inst = InstanceRef::new("order/7", "1");
    let entry = OutboxEntry::Job {
        instance: inst.clone(),
        request: Box::new(request()),
    };
    let row = entry.to_row(Timestamp(5));
    assert_eq!(row.key, "order/7/1/3/2/1");
    assert_eq!(row.kind, "job:shell");
    assert_eq!(row.payload, OLD_JOB_BYTES.to_vec());
    assert_eq!(row.due_at, Timestamp(1_700_000_000_000), "not_before");
    assert_eq!(OutboxEntry::decode(&row).unwrap(), entry);
    let mut plain = request();
    plain.kind = None;
    assert_eq!(job_row(&inst, &plain, Timestamp(5)).kind, "job");
}

#[test]
fn bad_rows_are_named() {
    let inst = InstanceRef::new("i", "1");
    for r in [
        row("k1", "mystery", &inst, b"{}"),
        row("k2", "child-done", &inst, b"{}"),
        row("child-done:c/1", "child-done", &inst, b"{"),
        row("k3", "job", &inst, b""),
    ] {
        let err = OutboxEntry::decode(&r).unwrap_err();
        assert!(err.to_string().contains(&r.key), "{err}");
    }
    let mut nameless = row("k4", "job", &inst, &OLD_JOB_BYTES);
    nameless.instance = None;
    assert!(OutboxEntry::decode(&nameless).is_err());
}

#[test]
fn cancel_child_rows_round_trip_under_their_key_and_kind() {
    let parent = InstanceRef::new("order/7", "1");
    let child = InstanceRef::new(child_id(&parent, windlass_engine::ids::TokenId(4)), "1");
    let entry = OutboxEntry::CancelChild {
        child: child.clone(),
        cancel: CancelChild::interrupted_in(&parent),
    };
    let row = entry.to_row(Timestamp(5));
    assert_eq!(row.key, "cancel-child:order/7/1/call/4/1");
    assert_eq!(row.kind, "cancel-child");
    assert_eq!(row.instance, Some(child));
    assert_eq!(
        row.payload,
        br#"{"reason":"its call activity in 'order/7' run '1' was interrupted"}"#.to_vec()
    );
    assert_eq!(OutboxEntry::decode(&row).unwrap(), entry);
    let bad = row_with_payload(&row, b"{}");
    assert!(OutboxEntry::decode(&bad).is_err());
}

fn row_with_payload(r: &OutboxRow, payload: &[u8]) -> OutboxRow {
    OutboxRow {
        payload: payload.to_vec(),
        ..r.clone()
    }
}

#[test]
fn a_thrown_message_row_has_its_stored_key_kind_and_payload_and_decodes() {
    let inst = InstanceRef::new("order/7", "r1");
    let entry = OutboxEntry::Publish {
        instance: inst.clone(),
        message: Box::new(ThrownMessage {
            number: 2,
            name: "paid".into(),
            correlation_key: Some("o-7".into()),
            vars: Vars::from_iter([("amount".to_string(), json!(3))]),
            ttl_millis: None,
        }),
    };
    let row = entry.to_row(Timestamp(5));
    assert_eq!(row.key, "publish:order/7/r1/2");
    assert_eq!(row.kind, "publish");
    assert_eq!(
        String::from_utf8(row.payload.clone()).unwrap(),
        r#"{"number":2,"name":"paid","correlation_key":"o-7","vars":{"amount":3}}"#
    );
    assert_eq!(OutboxEntry::decode(&row).unwrap(), entry);
    let OutboxEntry::Publish { message, .. } = entry else {
        unreachable!()
    };
    assert_eq!(
        message.message(&inst).message_id.as_deref(),
        Some("thrown:order/7/r1/2")
    );
}

#[test]
fn a_thrown_message_row_keeps_its_time_to_live() {
    let inst = InstanceRef::new("order/7", "r1");
    let entry = OutboxEntry::Publish {
        instance: inst.clone(),
        message: Box::new(ThrownMessage {
            number: 0,
            name: "paid".into(),
            correlation_key: None,
            vars: Vars::new(),
            ttl_millis: Some(600_000),
        }),
    };
    let row = entry.to_row(Timestamp(5));
    assert_eq!(
        String::from_utf8(row.payload.clone()).unwrap(),
        r#"{"number":0,"name":"paid","correlation_key":null,"vars":{},"ttl_millis":600000}"#
    );
    assert_eq!(OutboxEntry::decode(&row).unwrap(), entry);
    let OutboxEntry::Publish { message, .. } = entry else {
        unreachable!()
    };
    assert_eq!(message.message(&inst).ttl_millis, Some(600_000));
}

#[test]
fn a_thrown_signal_row_has_its_stored_key_kind_and_payload_and_decodes() {
    let entry = OutboxEntry::Broadcast {
        instance: InstanceRef::new("alarm/1", "r1"),
        signal: Box::new(crate::outbox::ThrownSignal {
            number: 3,
            name: "alarm".into(),
            vars: Vars::from_iter([("level".to_string(), json!(4))]),
        }),
    };
    let row = entry.to_row(Timestamp(5));
    assert_eq!(row.key, "broadcast:alarm/1/r1/3");
    assert_eq!(row.kind, "broadcast");
    assert_eq!(
        String::from_utf8(row.payload.clone()).unwrap(),
        r#"{"number":3,"name":"alarm","vars":{"level":4}}"#
    );
    assert_eq!(OutboxEntry::decode(&row).unwrap(), entry);
}
