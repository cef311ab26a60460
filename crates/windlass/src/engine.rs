//! [`Engine`]: a running Windlass runtime on a store, with the task
//! functions an [`EngineBuilder`] bound, and the few calls an embedding
//! program needs (deploy files, start instances, wait for them). The full
//! runtime API stays at hand through [`Engine::runtime`].

use crate::error::{Error, Result};
use crate::task::{TaskContext, TaskResult, task_handler};
use std::future::Future;
use std::path::Path;
use windlass_jobs::SecretSource;
use windlass_runtime::{
    Deployment, Handlers, InstanceOutcome, Runtime, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_store_api::{InstanceRef, Store};
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::SqliteStore;
use windlass_types::Vars;

/// Collects task functions and options, then opens an [`Engine`] on a
/// store. Handlers are looked up by element id, then task name (resolved,
/// or the name template as written), then kind; the built-in kinds
/// (`shell`, `http`, `script`) come last unless
/// [`EngineBuilder::without_builtin_kinds`].
#[derive(Debug, Default)]
pub struct EngineBuilder {
    handlers: Handlers,
    options: RuntimeOptions,
    builtin: bool,
    secrets: Option<SecretSource>,
}

impl EngineBuilder {
    /// A builder with the runtime's default options and the built-in kinds.
    pub fn new() -> Self {
        EngineBuilder {
            builtin: true,
            ..Self::default()
        }
    }

    /// Runs `f` for the task with element id `node_id`.
    pub fn on_node<F, Fut>(mut self, node_id: &str, f: F) -> Self
    where
        F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskResult> + Send + 'static,
    {
        self.handlers = self.handlers.on_node(node_id, task_handler(f));
        self
    }

    /// Runs `f` for the tasks named `name`: a resolved name (`Build api`)
    /// or a name template as written in the model (`Build {loop.value}`
    /// matches every `Build …` of that task; the context carries the
    /// resolved name).
    pub fn on_name<F, Fut>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskResult> + Send + 'static,
    {
        self.handlers = self.handlers.on_name(name, task_handler(f));
        self
    }

    /// Runs `f` for the tasks of `kind` (`windlass:task kind`, a Zeebe
    /// task type).
    pub fn on_kind<F, Fut>(mut self, kind: &str, f: F) -> Self
    where
        F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskResult> + Send + 'static,
    {
        self.handlers = self.handlers.on_kind(kind, task_handler(f));
        self
    }

    /// The runtime's options (shards, group size, clock, catch-up window).
    pub fn options(mut self, options: RuntimeOptions) -> Self {
        self.options = options;
        self
    }

    /// Leaves the built-in kinds unbound (their tasks become incidents
    /// unless a function is bound to them).
    pub fn without_builtin_kinds(mut self) -> Self {
        self.builtin = false;
        self
    }

    /// Where `secret:NAME` settings of the built-in kinds are read from
    /// (default: the environment, `docs/tasks.md`).
    pub fn secrets(mut self, secrets: SecretSource) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Opens the engine on the SQLite database at `path` (created if
    /// missing): instances survive restarts, and what was under way when
    /// the program stopped is recovered.
    pub async fn sqlite(self, path: impl AsRef<Path>) -> Result<Engine<SqliteStore>> {
        let store = SqliteStore::open(path.as_ref()).map_err(|e| Error::Store {
            path: path.as_ref().display().to_string(),
            detail: e.to_string(),
        })?;
        self.open(store).await
    }

    /// Opens the engine in memory (nothing survives the program).
    pub async fn memory(self) -> Result<Engine<MemoryStore>> {
        self.open(MemoryStore::new()).await
    }

    /// Opens the engine on `store`.
    pub async fn open<S: Store>(self, store: S) -> Result<Engine<S>> {
        let handlers = match (self.builtin, self.secrets) {
            (false, _) => self.handlers,
            (true, Some(s)) => windlass_jobs::builtin_with(self.handlers, s),
            (true, None) => windlass_jobs::builtin(self.handlers),
        };
        let rt = Runtime::start(self.options, store, handlers).await?;
        Ok(Engine { rt })
    }
}

/// A running engine. Cheap to clone (whatever the store); [`Engine::shutdown`]
/// drains it.
pub struct Engine<S: Store> {
    rt: RuntimeHandle<S>,
}

impl<S: Store> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Engine {
            rt: self.rt.clone(),
        }
    }
}

impl<S: Store> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine<SqliteStore> {
    /// A builder ([`EngineBuilder::new`]).
    pub fn builder() -> EngineBuilder {
        EngineBuilder::new()
    }
}

impl<S: Store> Engine<S> {
    /// Deploys the BPMN file at `path` (every executable process in it);
    /// a file that does not load is refused with its diagnostics.
    pub async fn deploy_file(&self, path: impl AsRef<Path>) -> Result<Deployment> {
        let path = path.as_ref();
        let xml = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| Error::Read {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        Ok(self.rt.deploy(&xml).await?)
    }

    /// Deploys BPMN `xml`.
    pub async fn deploy(&self, xml: &str) -> Result<Deployment> {
        Ok(self.rt.deploy(xml).await?)
    }

    /// Starts an instance of the latest deployed version of `process_id`
    /// with `vars`.
    pub async fn start(&self, process_id: &str, vars: Vars) -> Result<InstanceRef> {
        let req = StartRequest {
            vars,
            ..StartRequest::new(process_id)
        };
        Ok(self.rt.start_instance(req).await?)
    }

    /// Starts an instance as `req` says (instance id, business key, clash
    /// policy, start event).
    pub async fn start_with(&self, req: StartRequest) -> Result<InstanceRef> {
        Ok(self.rt.start_instance(req).await?)
    }

    /// Waits until `instance` has finished.
    pub async fn wait_finished(&self, instance: &InstanceRef) -> Result<InstanceOutcome> {
        Ok(self.rt.wait_finished(instance).await?)
    }

    /// Waits until `instance` has finished or nothing in its instance tree
    /// can move without the outside world (an incident, a message, a
    /// timer not yet due, an external job).
    pub async fn wait_settled(&self, instance: &InstanceRef) -> Result<InstanceOutcome> {
        Ok(self.rt.wait_settled(instance).await?)
    }

    /// The runtime underneath: messages, signals, control, incidents,
    /// external jobs, reads.
    pub fn runtime(&self) -> &RuntimeHandle<S> {
        &self.rt
    }

    /// Stops: running task functions are cancelled, what was decided is
    /// committed, and the store is closed.
    pub async fn shutdown(&self) -> Result<()> {
        Ok(self.rt.shutdown().await?)
    }
}
