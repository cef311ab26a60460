//! One instance's failure does not fail the other instances of a group
//! commit (`shard/isolation.rs`). A real second writer appends to one
//! instance's history behind the runtime's back (the in-memory store, shared),
//! so the runtime's next append to it conflicts; a gate in front of the store
//! holds one commit so that the conflicting command, twenty starts and a job
//! completion of other instances queue up and are decided in one group.
#![allow(clippy::unwrap_used)]

mod common;
use common::gated::Gated;
use common::*;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};
use windlass_engine::Event;
use windlass_engine::codec::encode_event;
use windlass_runtime::{Handlers, Runtime, RuntimeError, RuntimeOptions, StartRequest};
use windlass_store_api::{
    Batch, InstanceIndex, InstanceStatus, InstanceUpdate, StoreError, StoreWrite,
};
use windlass_store_memory::MemoryStore;

fn with_id(process: &str, id: &str) -> StartRequest {
    StartRequest {
        instance_id: Some(id.to_string()),
        ..StartRequest::new(process)
    }
}

#[tokio::test]
async fn a_conflict_of_one_instance_fails_only_its_own_requests() -> anyhow::Result<()> {
    let disk = MemoryStore::new();
    let mut store = Gated::new(disk.clone());
    let entered = Arc::new(Notify::new());
    let permits = Arc::new(Semaphore::new(1_000));
    store.gate = Some((entered.clone(), permits.clone()));
    let seen = store.seen.clone();
    let handed: Handed = Arc::default();
    let handlers = Handlers::new().on_name("Approve", external(handed.clone()));
    let opts = RuntimeOptions {
        shards: 1,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, store, handlers).await?;
    rt.deploy(&one_task("w", "serviceTask", "Approve")).await?;
    let bad = rt.start_instance(with_id("w", "bad")).await?;
    let good = rt.start_instance(with_id("w", "good")).await?;
    rt.wait_settled(&good).await?;
    let good_job = handed.lock().unwrap().last().unwrap().0.clone();

    // The second writer: one event appended to `bad` behind the runtime.
    let row = disk.instance(&bad).await?.unwrap();
    let mut batch = Batch::new();
    batch.append(
        bad.clone(),
        row.last_seq,
        vec![encode_event(&Event::SignalBuffered {
            name: "from elsewhere".into(),
            vars: Default::default(),
        })?],
        InstanceUpdate {
            status: row.status,
            updated_at: row.updated_at,
            tally: Vec::new(),
        },
    );
    disk.commit(batch).await?;

    // Close the gate; the next commit (a start) waits there while the rest
    // queues up behind it.
    permits.forget_permits(permits.available_permits());
    let blocker = tokio::spawn({
        let rt = rt.clone();
        async move { rt.start_instance(with_id("w", "blocker")).await }
    });
    entered.notified().await;
    let signal = tokio::spawn({
        let (rt, bad) = (rt.clone(), bad.clone());
        async move { rt.signal(&bad, "go", Default::default()).await }
    });
    let completion = tokio::spawn({
        let rt = rt.clone();
        async move { rt.complete_job(&good_job, Default::default()).await }
    });
    let mut starts = Vec::new();
    for i in 0..20 {
        let rt = rt.clone();
        starts.push(tokio::spawn(async move {
            rt.start_instance(with_id("w", &format!("s{i}"))).await
        }));
    }
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    permits.add_permits(1); // the blocker's commit
    entered.notified().await; // the next group's commit, with all of them
    permits.add_permits(1_000);

    blocker.await??;
    let err = signal.await?.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Store(e) if matches!(**e, StoreError::Conflict { .. })),
        "{err}"
    );
    completion.await??;
    for s in starts {
        s.await??;
    }
    // They were decided in the group that failed: one batch held the
    // twenty creations and the appends of `bad` and `good`.
    let batches = seen.batches.lock().unwrap().clone();
    assert!(
        batches.iter().any(|(c, a, _)| *c >= 20 && *a >= 2),
        "{batches:?}"
    );
    assert_eq!(
        rt.wait_finished(&good).await?.status,
        InstanceStatus::Completed
    );
    for i in 0..20 {
        let id = format!("s{i}");
        let row = rt
            .store()
            .latest_run(&windlass_store_api::InstanceId::new(id.clone()))
            .await?;
        assert!(row.is_some(), "{id} was not created");
    }
    // `bad` was rebuilt from the store, the foreign event included, and
    // takes commands again.
    rt.signal(&bad, "go", Default::default()).await?;
    let kept = events(&rt, &bad)
        .await
        .into_iter()
        .filter(|e| matches!(e, Event::SignalBuffered { .. }))
        .count();
    assert_eq!(kept, 2);
    rt.shutdown().await?;
    Ok(())
}
