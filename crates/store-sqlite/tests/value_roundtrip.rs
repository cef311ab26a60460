//! Property test (issue 16, defect 3): random deep and large values go
//! through the engine and every store — memory and SQLite on disk — and read
//! back exactly: the events the engine decides are committed, read back,
//! decoded and compared, and the replayed state equals the live one. Values
//! over the limit are refused by the engine before anything is committed
//! (a refused start commits nothing, outputs over the limit become a failed
//! attempt), so no committed event ever carries one.
#![allow(clippy::unwrap_used)]

#[path = "../../engine/tests/support/json_values.rs"]
mod json_values;

use json_values::{large_vars, vars};
use proptest::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use windlass_engine::codec::{decode_event, encode_event};
use windlass_engine::command::Command;
use windlass_engine::effect::Effect;
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::value_limits::check_event;
use windlass_engine::{Ctx, DecideError, Decision, InstanceState, Plan, apply, decide, replay};
use windlass_store_api::{
    Batch, InstanceRef, InstanceRow, InstanceStatus, InstanceUpdate, Store, Timestamp,
};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::Vars;
use windlass_types::limits::check_vars;

const BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:x">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <serviceTask id="t" name="Work"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

fn plan() -> Arc<Plan> {
    let defs = windlass_model::load(BPMN).definitions.unwrap();
    Arc::new(Plan::new(defs.first_executable().unwrap().clone()).unwrap())
}

fn encode(events: &[Event]) -> Vec<Vec<u8>> {
    events.iter().map(|e| encode_event(e).unwrap()).collect()
}

/// Decides a start with `start` and the completion of its job with
/// `outputs`, committing each decision to `store` as the runtime does; then
/// reads the history back. Returns what was decided and what was read.
async fn run_through<S: Store>(
    store: &S,
    id: &str,
    start: &Vars,
    outputs: &Vars,
) -> Result<(Vec<Event>, Vec<Event>, InstanceState), DecideError> {
    let plan = plan();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(1_000),
        definition_key: "p",
    };
    let iref = InstanceRef::new(id, "1");
    let mut state = InstanceState::default();
    let cmd = Command::Start {
        vars: start.clone(),
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    let first: Decision = decide(&state, &cmd, &ctx)?;
    for e in &first.events {
        apply(&mut state, e).unwrap();
    }
    let row = InstanceRow {
        instance: iref.clone(),
        definition_key: "p".into(),
        status: InstanceStatus::Running,
        business_key: None,
        parent: None,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        last_seq: 0,
        tally: Vec::new(),
    };
    let mut b = Batch::new();
    b.create(row, encode(&first.events));
    store.commit(b).await.unwrap();
    let job = first
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::RunJob(r) => Some(r.key),
            _ => None,
        })
        .unwrap();
    let cmd = Command::CompleteJob {
        job,
        outputs: outputs.clone(),
        by: CompletedBy::Handler,
    };
    let second = decide(&state, &cmd, &ctx).unwrap();
    for e in &second.events {
        apply(&mut state, e).unwrap();
    }
    let mut b = Batch::new();
    let update = InstanceUpdate {
        status: InstanceStatus::Running,
        updated_at: Timestamp(2_000),
        tally: Vec::new(),
    };
    b.append(
        iref.clone(),
        first.events.len() as u64,
        encode(&second.events),
        update,
    );
    store.commit(b).await.unwrap();
    let mut decided = first.events;
    decided.extend(second.events);
    let read = store
        .history(&iref)
        .await
        .unwrap()
        .iter()
        .map(|h| decode_event(&h.payload).unwrap())
        .collect();
    Ok((decided, read, state))
}

fn check<S: Store>(
    rt: &tokio::runtime::Runtime,
    store: &S,
    id: &str,
    start: &Vars,
    outputs: &Vars,
) -> Result<(), TestCaseError> {
    match rt.block_on(run_through(store, id, start, outputs)) {
        Err(e) => {
            prop_assert!(matches!(e, DecideError::ValueLimit(_)), "{}", e);
            prop_assert!(check_vars(start).is_err());
            let iref = InstanceRef::new(id, "1");
            prop_assert!(
                rt.block_on(store.history(&iref)).is_err(),
                "nothing committed"
            );
        }
        Ok((decided, read, state)) => {
            prop_assert!(check_vars(start).is_ok());
            prop_assert_eq!(&read, &decided);
            prop_assert_eq!(replay(&read).unwrap(), state);
            for e in &read {
                prop_assert!(check_event(e).is_ok(), "tag {} over the limit", e.tag());
            }
            let completed = read.iter().any(|e| matches!(e, Event::JobCompleted { .. }));
            prop_assert_eq!(completed, check_vars(outputs).is_ok());
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn next_id() -> String {
    format!("i{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deep_values_round_trip_through_both_stores(start in vars(), outputs in vars()) {
        let rt = runtime();
        let memory = MemoryStore::new();
        check(&rt, &memory, &next_id(), &start, &outputs)?;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("v.db")).unwrap();
        check(&rt, &sqlite, &next_id(), &start, &outputs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn large_values_round_trip_through_both_stores(outputs in large_vars()) {
        let rt = runtime();
        let memory = MemoryStore::new();
        check(&rt, &memory, &next_id(), &Vars::new(), &outputs)?;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("v.db")).unwrap();
        check(&rt, &sqlite, &next_id(), &Vars::new(), &outputs)?;
    }
}
