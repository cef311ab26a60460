//! Length limits of user-chosen ids are checked where the runtime takes
//! them in: instance ids and business keys at start, process ids at deploy.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use windlass_runtime::{Handlers, Runtime, RuntimeError, RuntimeOptions, StartRequest};
use windlass_store_api::{InstanceIndex, InstanceQuery};
use windlass_store_memory::MemoryStore;

#[tokio::test]
async fn over_long_ids_and_keys_are_refused_with_a_clear_error() -> anyhow::Result<()> {
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await?;
    rt.deploy(&simple("p")).await?;
    let mut req = StartRequest::new("p");
    req.instance_id = Some("i".repeat(1025));
    let err = rt.start_instance(req).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Limit(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the instance id is 1025 bytes long; at most 1024 bytes are allowed"
    );
    let mut req = StartRequest::new("p");
    req.business_key = Some("k".repeat(70_000));
    let err = rt.start_instance(req).await.unwrap_err();
    assert!(
        err.to_string().contains("business key is 70000 bytes"),
        "{err}"
    );
    let long_process = simple(&"p".repeat(256));
    let err = rt.deploy(&long_process).await.unwrap_err();
    assert!(err.to_string().contains("process id is 256 bytes"), "{err}");
    // Nothing was started; ids at the limit are fine.
    let rows = rt
        .store()
        .query_instances(&InstanceQuery::default())
        .await?;
    assert!(rows.is_empty());
    let mut req = StartRequest::new("p");
    req.instance_id = Some("i".repeat(1024));
    rt.start_instance(req).await?;
    rt.shutdown().await?;
    Ok(())
}

/// A user id of the generated child form is refused (review R2: it could
/// collide with the child of a call activity); similar ids are fine.
#[tokio::test]
async fn generated_child_ids_are_reserved() -> anyhow::Result<()> {
    let rt = Runtime::start(
        RuntimeOptions::default(),
        MemoryStore::new(),
        Handlers::new(),
    )
    .await?;
    rt.deploy(&simple("p")).await?;
    let mut req = StartRequest::new("p");
    req.instance_id = Some("victim/1/call/0".into());
    let err = rt.start_instance(req).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ReservedId(_)), "{err:?}");
    assert!(err.to_string().contains("reserved"), "{err}");
    for ok in ["victim/1/call", "victim/call/x", "call/7x"] {
        let mut req = StartRequest::new("p");
        req.instance_id = Some(ok.into());
        rt.start_instance(req).await?;
    }
    rt.shutdown().await?;
    Ok(())
}
