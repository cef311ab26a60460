//! Embedding Windlass: the order process of `order_pipeline.bpmn` with its
//! tasks bound to async Rust functions, on a SQLite file.
//!
//! ```sh
//! cargo run -p windlass --example order_pipeline            # ./orders.db
//! cargo run -p windlass --example order_pipeline -- /tmp/o.db
//! ```
//!
//! Two orders run: one in stock (shipped; the card charge fails once and
//! is retried, charged once by its activity key), one short (the shipping
//! function throws the BPMN error `no-stock`, caught by a boundary event
//! that back-orders it with the built-in `script` kind).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use windlass::{Engine, InstanceOutcome, TaskContext, TaskError, Vars};

/// Runs the two orders on the database at `db`; their outcomes, and how
/// many times a card was charged.
pub async fn run(db: &Path) -> anyhow::Result<(Vec<InstanceOutcome>, usize)> {
    // Charges done, by activity key: a retried attempt never charges twice.
    let charged: Arc<Mutex<HashSet<String>>> = Arc::default();
    let charges = charged.clone();
    let engine = Engine::builder()
        .on_name("Reserve {item}", |ctx: TaskContext| async move {
            tracing::info!(task = %ctx.name, "reserving");
            Ok(Vars::from_iter([("reserved".to_string(), true.into())]))
        })
        .on_node("charge", move |ctx: TaskContext| {
            let charged = charges.clone();
            async move {
                if ctx.attempt == 1 {
                    // The payment service is down the first time.
                    return Err(TaskError::retryable("payment service unavailable"));
                }
                let mut done = charged.lock().map_err(|_| TaskError::permanent("lock"))?;
                done.insert(ctx.activity_key.clone());
                Ok(Vars::from_iter([("paid".to_string(), true.into())]))
            }
        })
        .on_kind("shipping", |ctx: TaskContext| async move {
            let qty = ctx.var("qty").and_then(|v| v.as_i64()).unwrap_or(0);
            let stock = ctx.var("stock").and_then(|v| v.as_i64()).unwrap_or(0);
            if qty > stock {
                return Err(TaskError::bpmn("no-stock"));
            }
            Ok(Vars::from_iter([("shipped".to_string(), true.into())]))
        })
        .sqlite(db)
        .await?;
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/order_pipeline.bpmn");
    engine.deploy_file(&here).await?;
    let mut outcomes = Vec::new();
    for (item, qty, stock) in [("book", 1, 5), ("lamp", 3, 1)] {
        let vars: Vars = serde_json::from_value(serde_json::json!({
            "item": item, "qty": qty, "stock": stock
        }))?;
        let id = engine.start("order_pipeline", vars).await?;
        outcomes.push(engine.wait_finished(&id).await?);
    }
    engine.shutdown().await?;
    let n = charged.lock().map(|c| c.len()).unwrap_or(0);
    Ok((outcomes, n))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "orders.db".into());
    let (outcomes, charged) = run(Path::new(&db)).await?;
    for o in &outcomes {
        println!(
            "{}: {:?} {}",
            o.instance,
            o.status,
            serde_json::Value::Object(o.variables.clone())
        );
    }
    println!("cards charged: {charged}");
    Ok(())
}
