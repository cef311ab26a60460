//! Windlass for embedding: load BPMN files, bind their tasks to async Rust
//! functions, and run instances durably on SQLite (or in memory).
//!
//! ```no_run
//! use windlass::{Engine, TaskContext, TaskError, Vars};
//!
//! # async fn demo() -> Result<(), windlass::Error> {
//! let engine = Engine::builder()
//!     .on_name("Build {image}", |ctx: TaskContext| async move {
//!         let image = ctx.var("image").cloned().unwrap_or_default();
//!         tracing::info!(name = %ctx.name, "building");
//!         if image.is_null() {
//!             return Err(TaskError::permanent("no image"));
//!         }
//!         Ok(Vars::from_iter([("built".to_string(), image)]))
//!     })
//!     .sqlite("windlass.db")
//!     .await?;
//! engine.deploy_file("build.bpmn").await?;
//! let id = engine.start("build", Vars::new()).await?;
//! let outcome = engine.wait_finished(&id).await?;
//! println!("{:?}", outcome.status);
//! engine.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Task functions get a [`TaskContext`] (variables, the resolved task
//! name, instance / run / job ids, the job key, an activity key stable
//! across retries, a cancellation token, a tracing span with the
//! instance's fields) and return output variables or a [`TaskError`]: a
//! BPMN error (caught by error boundary events), a retryable failure
//! (retried by the task's `retries` and `backoff`, then an incident) or a
//! permanent one (an incident). They run in tasks the runtime spawns and
//! owns, never on its shards' threads. The built-in kinds (`shell`,
//! `http`, `script`, `docs/tasks.md`) are bound too unless
//! [`EngineBuilder::without_builtin_kinds`].

mod engine;
mod error;
mod task;

pub use engine::{Engine, EngineBuilder};
pub use error::{Error, Result};
pub use task::{TaskContext, TaskError, TaskResult, task_handler};
pub use windlass_runtime::{
    CancellationToken, Deployment, InstanceOutcome, RuntimeHandle, RuntimeOptions, StartRequest,
};
pub use windlass_store_api::{InstanceRef, InstanceStatus};
pub use windlass_types::Vars;
