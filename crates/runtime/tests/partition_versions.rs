//! Versions deployed through another node (two nodes sharing one
//! in-memory store, as two nodes share one PostgreSQL database): a node
//! reads the latest version of every process at each delivery poll, so a
//! start by process id and a call activity's child run the version
//! deployed through the other node from then on, not the one this node
//! knew.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::time::Duration;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_store_api::{DefinitionRead, InstanceIndex, InstanceRef, PartitionSet};
use windlass_store_memory::MemoryStore;

/// `parent` calls `child`, whose task is named `name` (a new name makes a
/// new version of both).
fn processes(name: &str) -> String {
    parent_and_child().replace("name=\"Inside\"", &format!("name=\"{name}\""))
}

/// A node serving `half` of two, its tasks completed at once.
async fn node(store: MemoryStore, half: u16) -> RuntimeHandle<MemoryStore> {
    let opts = RuntimeOptions {
        partitions: Some(PartitionSet::share(half, 2)),
        delivery_poll: Duration::from_millis(5),
        ..RuntimeOptions::default()
    };
    let done = |_: &Job| HandlerResult::Ready(JobOutcome::done(Default::default()));
    let handlers = Handlers::new().fallback(done);
    Runtime::start(opts, store, handlers).await.unwrap()
}

/// The definition key of version `version` of `process`.
async fn key_of(store: &MemoryStore, process: &str, version: u32) -> String {
    let defs = store.definitions().await.unwrap();
    let d = defs
        .iter()
        .find(|d| d.process_id == process && d.version == version)
        .unwrap();
    d.key.clone()
}

/// The definition key `id` runs.
async fn runs(store: &MemoryStore, id: &InstanceRef) -> String {
    store.instance(id).await.unwrap().unwrap().definition_key
}

#[tokio::test]
async fn starts_and_calls_through_one_node_run_the_version_deployed_through_the_other() {
    let store = MemoryStore::new();
    let (a, b) = (node(store.clone(), 0).await, node(store.clone(), 1).await);
    a.deploy(&processes("Inside")).await.unwrap();
    // b learns of version 1 by starting it.
    let first = b.start_instance(StartRequest::new("parent")).await.unwrap();
    finished(&b, &first).await;
    assert_eq!(
        runs(&store, &first).await,
        key_of(&store, "parent", 1).await
    );

    a.deploy(&processes("Inside again")).await.unwrap();
    let (parent2, child2) = (
        key_of(&store, "parent", 2).await,
        key_of(&store, "child", 2).await,
    );
    // Within a few polls b starts version 2, and so does every later start.
    let mut tries = 0;
    let second = loop {
        let p = b.start_instance(StartRequest::new("parent")).await.unwrap();
        if runs(&store, &p).await == parent2 {
            break p;
        }
        tries += 1;
        assert!(tries < 200, "b still starts version 1 of parent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let out = finished(&b, &second).await;
    // Its child (by latest, on whichever node) runs version 2 too.
    let [child] = out.called.as_slice() else {
        panic!("{second} called {:?}", out.called)
    };
    assert_eq!(runs(&store, child).await, child2);
    for _ in 0..5 {
        let p = b.start_instance(StartRequest::new("parent")).await.unwrap();
        assert_eq!(runs(&store, &p).await, parent2);
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
