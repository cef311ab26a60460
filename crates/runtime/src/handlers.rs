//! [`Handlers`]: which [`JobHandler`] runs a job. Looked up by, in order:
//! the node's element id; the resolved task name (whitespace-normalised);
//! the unresolved name template; the task `kind`; the BPMN task type; a
//! fallback. With nothing bound, the engine's rule decides
//! ([`windlass_engine::JobRequest::when_unbound`]): an abstract `task` without
//! a kind completes as a no-op (recorded as `CompletedBy::NoOp`); any other
//! job — an abstract `task` naming a kind included — fails without retry with
//! "no handler for task 'X' (kind 'K')", which the engine turns into an
//! incident.

use crate::job::{HandlerResult, Job, JobHandler, JobOutcome};
use std::collections::HashMap;
use std::sync::Arc;
use windlass_engine::Unbound;
use windlass_engine::event::CompletedBy;
use windlass_model::TaskType;
use windlass_types::{Vars, normalize_whitespace};

/// A shared handler.
pub type SharedHandler = Arc<dyn JobHandler>;

/// The handler registry. Cheap to clone (handlers are shared).
#[derive(Clone, Default)]
pub struct Handlers {
    by_node: HashMap<String, SharedHandler>,
    by_name: HashMap<String, SharedHandler>,
    by_kind: HashMap<String, SharedHandler>,
    by_type: HashMap<TaskType, SharedHandler>,
    fallback: Option<SharedHandler>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("nodes", &self.by_node.keys().collect::<Vec<_>>())
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .field("kinds", &self.by_kind.keys().collect::<Vec<_>>())
            .field("task_types", &self.by_type.len())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

/// How a job is to be run, as [`Handlers::resolve`] decides.
pub enum Resolved<'a> {
    /// A bound handler.
    Handler(&'a SharedHandler),
    /// Nothing bound to an abstract task: complete as a no-op.
    NoOp,
    /// Nothing bound: fail with this message (becomes an incident).
    Missing(String),
}

impl Handlers {
    /// An empty registry (abstract tasks no-op, everything else incidents).
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds a handler to the element with id `node_id`.
    pub fn on_node(mut self, node_id: impl Into<String>, h: impl JobHandler) -> Self {
        self.by_node.insert(node_id.into(), Arc::new(h));
        self
    }

    /// Binds a handler to a task name (whitespace-normalised; matches the
    /// resolved name and the unresolved template text).
    pub fn on_name(mut self, name: &str, h: impl JobHandler) -> Self {
        self.by_name.insert(normalize_whitespace(name), Arc::new(h));
        self
    }

    /// Binds a handler to a task `kind` (`windlass:task kind` / Zeebe type).
    pub fn on_kind(mut self, kind: impl Into<String>, h: impl JobHandler) -> Self {
        self.by_kind.insert(kind.into(), Arc::new(h));
        self
    }

    /// Binds a handler to every task of a BPMN task type.
    pub fn on_task_type(mut self, task_type: TaskType, h: impl JobHandler) -> Self {
        self.by_type.insert(task_type, Arc::new(h));
        self
    }

    /// The handler for jobs nothing else matches.
    pub fn fallback(mut self, h: impl JobHandler) -> Self {
        self.fallback = Some(Arc::new(h));
        self
    }

    /// Binds a shared handler to a node id (for handlers used several times).
    pub fn on_node_shared(mut self, node_id: impl Into<String>, h: SharedHandler) -> Self {
        self.by_node.insert(node_id.into(), h);
        self
    }

    /// Binds a shared handler to a task name.
    pub fn on_name_shared(mut self, name: &str, h: SharedHandler) -> Self {
        self.by_name.insert(normalize_whitespace(name), h);
        self
    }

    /// Decides how `job` runs; `template` is the node's unresolved name.
    pub fn resolve<'a>(&'a self, job: &Job, template: Option<&str>) -> Resolved<'a> {
        let req = &job.request;
        let found = self
            .by_node
            .get(&req.node_id)
            .or_else(|| req.name.as_ref().and_then(|n| self.by_name.get(n)))
            .or_else(|| {
                // Normalising allocates: only when names are bound at all.
                template
                    .filter(|_| !self.by_name.is_empty())
                    .map(normalize_whitespace)
                    .and_then(|t| self.by_name.get(&t))
            })
            .or_else(|| req.kind.as_ref().and_then(|k| self.by_kind.get(k)))
            .or_else(|| req.task_type.and_then(|t| self.by_type.get(&t)))
            .or(self.fallback.as_ref());
        match found {
            Some(h) => Resolved::Handler(h),
            // The engine's one rule for jobs nothing is bound to.
            None => match req.when_unbound() {
                Unbound::NoOp => Resolved::NoOp,
                Unbound::Missing { message } => Resolved::Missing(message),
            },
        }
    }

    /// Runs `job` with its handler, or answers for it when nothing is bound.
    pub fn run(&self, job: &Job, template: Option<&str>) -> HandlerResult {
        match self.resolve(job, template) {
            Resolved::Handler(h) => h.handle(job),
            Resolved::NoOp => HandlerResult::Ready(JobOutcome::Completed {
                outputs: Vars::new(),
                by: CompletedBy::NoOp,
            }),
            Resolved::Missing(msg) => HandlerResult::Ready(JobOutcome::technical(msg, false)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use windlass_engine::event::JobPurpose;
    use windlass_engine::{JobKey, JobRequest};
    use windlass_store_api::InstanceRef;

    fn job(node: &str, name: Option<&str>, kind: Option<&str>, tt: TaskType) -> Job {
        Job {
            instance: InstanceRef::new("i", "1"),
            key: "i/1/0/0/1".into(),
            request: JobRequest {
                key: JobKey {
                    node: windlass_model::NodeIdx(0),
                    token: windlass_engine::ids::TokenId(0),
                    attempt: 1,
                },
                node_id: node.into(),
                name: name.map(String::from),
                task_type: Some(tt),
                purpose: JobPurpose::Task,
                kind: kind.map(String::from),
                settings: BTreeMap::new(),
                inputs: Vars::new(),
                not_before: None,
                max_attempts: 1,
                timeout_millis: None,
            },
            settings_source: BTreeMap::new(),
            cancel: Default::default(),
        }
    }

    fn answer(tag: &'static str) -> impl JobHandler {
        move |_: &Job| {
            let mut v = Vars::new();
            v.insert("by".into(), tag.into());
            HandlerResult::Ready(JobOutcome::done(v))
        }
    }

    fn who(h: &Handlers, j: &Job, template: Option<&str>) -> String {
        match h.run(j, template) {
            HandlerResult::Ready(JobOutcome::Completed { outputs, by }) => outputs
                .get("by")
                .and_then(|v| v.as_str())
                .map(String::from)
                .unwrap_or_else(|| format!("{by:?}")),
            HandlerResult::Ready(JobOutcome::Failed(f)) => format!("failed: {f:?}"),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn lookup_order_is_node_name_template_kind_type_fallback() {
        let h = Handlers::new()
            .on_node("T1", answer("node"))
            .on_name("Build  Image", answer("name"))
            .on_name("Build {x}", answer("template"))
            .on_kind("shell", answer("kind"))
            .on_task_type(TaskType::Service, answer("type"));
        let j = job("T1", Some("Build Image"), Some("shell"), TaskType::Service);
        assert_eq!(who(&h, &j, None), "node");
        let j = job("T2", Some("Build Image"), Some("shell"), TaskType::Service);
        assert_eq!(who(&h, &j, None), "name");
        let j = job("T2", Some("Build 3"), Some("shell"), TaskType::Service);
        assert_eq!(who(&h, &j, Some("Build\n{x}")), "template");
        assert_eq!(who(&h, &j, None), "kind");
        let j = job("T2", None, None, TaskType::Service);
        assert_eq!(who(&h, &j, None), "type");
        let j = job("T2", None, None, TaskType::User);
        assert!(who(&h, &j, None).contains("no handler for userTask 'T2'"));
        let h = h.fallback(answer("fallback"));
        assert_eq!(who(&h, &j, None), "fallback");
    }

    #[test]
    fn unbound_abstract_task_is_a_no_op() {
        let j = job("T", Some("Plain"), None, TaskType::Task);
        assert_eq!(who(&Handlers::new(), &j, None), "NoOp");
    }

    #[test]
    fn unbound_abstract_task_naming_a_kind_is_missing() {
        let j = job("T", Some("Build"), Some("shell"), TaskType::Task);
        let got = who(&Handlers::new(), &j, None);
        assert!(
            got.contains("no handler for task 'Build' (kind 'shell')"),
            "{got}"
        );
    }
}
