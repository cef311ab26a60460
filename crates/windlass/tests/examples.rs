//! The examples run as written: `examples/order_pipeline.rs`'s `run` on a
//! fresh SQLite file, twice on the same file (the second run deploys the
//! same definition again and adds two more orders).

#![allow(clippy::unwrap_used)]

#[path = "../examples/order_pipeline.rs"]
#[allow(dead_code)]
mod order_pipeline;

use serde_json::json;
use windlass::InstanceStatus;

#[tokio::test]
async fn the_order_pipeline_ships_one_order_and_back_orders_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orders.db");
    let (outcomes, charged) = order_pipeline::run(&db).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    let book = &outcomes[0];
    assert_eq!(book.status, InstanceStatus::Completed);
    assert_eq!(book.variables["shipped"], json!(true));
    assert_eq!(book.variables["paid"], json!(true));
    // Reserve ran under its resolved name; Charge twice (one retry).
    assert_eq!(book.executed.get("Reserve book"), Some(&1));
    let lamp = &outcomes[1];
    assert_eq!(lamp.status, InstanceStatus::Completed);
    assert_eq!(lamp.variables["backordered"], json!(true));
    assert_eq!(lamp.variables["waitingFor"], json!(2));
    assert!(!lamp.variables.contains_key("shipped"));
    // Each order's card was charged once, though each charge was retried.
    assert_eq!(charged, 2);

    let (again, _) = order_pipeline::run(&db).await.unwrap();
    assert!(again.iter().all(|o| o.status == InstanceStatus::Completed));
}
