//! The `ProcessDefinition` controller: watches the resources (one
//! namespace or all) and deploys each one's BPMN through a [`Deployer`],
//! then writes the outcome to its status subresource: the processes and
//! versions deployed, or the validation problems, with a `Ready`
//! condition.
//!
//! - Each generation of a resource is deployed once per leader: the
//!   controller's own status writes (which do not move the generation)
//!   deploy nothing. A new leader deploys every resource again, which is
//!   idempotent (the same content keeps its version).
//! - A deployment that failed for a passing reason (the database was
//!   unreachable) is tried again every [`RETRY`].
//! - Deleting a resource deploys nothing and retires nothing: the versions
//!   it deployed stay (running instances need them), as deleting a file
//!   under `--processes` does.

use super::resource::{Condition, DeployedProcess, ProcessDefinition, ProcessDefinitionStatus};
use crate::client::LazyClient;
use crate::error::{Call, K8sError};
use futures::StreamExt as _;
use kube::api::{Patch, PatchParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, ResourceExt as _};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often failed deployments are tried again.
pub const RETRY: Duration = Duration::from_secs(5);

/// What deploying a document gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployOutcome {
    /// Deployed: each process with its version.
    Deployed(Vec<DeployedProcess>),
    /// Refused: the document is invalid (the lines say where and why).
    Invalid(Vec<String>),
    /// Not deployed for a passing reason (tried again).
    Failed(String),
}

/// Deploys BPMN documents (the runtime, behind a trait so this crate is
/// not generic over its store).
pub trait Deployer: Send + Sync + 'static {
    /// Deploys `xml`; `source` names it in messages
    /// (`ProcessDefinition ns/name`).
    fn deploy(
        &self,
        source: String,
        xml: String,
    ) -> Pin<Box<dyn Future<Output = DeployOutcome> + Send + '_>>;
}

/// Where the controller watches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefinitionOptions {
    /// One namespace (`None`: all).
    pub namespace: Option<String>,
}

/// The controller. See [`DefinitionService::run`].
#[derive(Debug)]
pub struct DefinitionService;

/// A running controller; [`DefinitionHandle::shutdown`] stops it.
#[derive(Debug)]
pub struct DefinitionHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl DefinitionService {
    /// Starts the controller in an owned task.
    pub fn run(
        client: Arc<LazyClient>,
        deployer: Arc<dyn Deployer>,
        options: DefinitionOptions,
    ) -> DefinitionHandle {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = control(client, deployer, options) => {}
            }
        });
        DefinitionHandle { cancel, task }
    }
}

impl DefinitionHandle {
    /// Stops the controller and waits for it.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let _ = (&mut self.task).await;
    }
}

impl Drop for DefinitionHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn call(verb: &'static str, namespace: Option<String>, name: Option<String>) -> Call {
    Call {
        verb,
        resource: "windlass.io/v1alpha1 ProcessDefinition".into(),
        rbac: Some(("processdefinitions".into(), "windlass.io".into())),
        namespace,
        name,
    }
}

/// The controller's loop: never returns (cancelled by its handle).
async fn control(client: Arc<LazyClient>, deployer: Arc<dyn Deployer>, options: DefinitionOptions) {
    let client = loop {
        match client.get().await {
            Ok(c) => break c,
            Err(e) => {
                tracing::error!("ProcessDefinitions: {e}; trying again in {RETRY:?}");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    let api: Api<ProcessDefinition> = match &options.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    // uid → the generation deployed (or refused) under this leader.
    let mut done: BTreeMap<String, i64> = BTreeMap::new();
    // uid → a resource whose deployment failed for a passing reason.
    let mut failed: BTreeMap<String, ProcessDefinition> = BTreeMap::new();
    let mut retry = tokio::time::interval(RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Apply(object) | Event::InitApply(object))) => {
                    reconcile(&client, deployer.as_ref(), object, &mut done, &mut failed).await;
                }
                Some(Ok(Event::Delete(object))) => {
                    let uid = object.uid().unwrap_or_default();
                    done.remove(&uid);
                    failed.remove(&uid);
                    tracing::info!(
                        namespace = object.namespace().unwrap_or_default(),
                        name = object.name_any(),
                        "ProcessDefinition deleted: the versions it deployed stay"
                    );
                }
                Some(Ok(Event::Init | Event::InitDone)) => {}
                Some(Err(e)) => {
                    let e = K8sError::Transport {
                        call: call("watch", options.namespace.clone(), None),
                        why: e.to_string(),
                    };
                    tracing::warn!("{e} (retrying with backoff)");
                }
                None => return,
            },
            _ = retry.tick(), if !failed.is_empty() => {
                for (_, object) in std::mem::take(&mut failed) {
                    reconcile(&client, deployer.as_ref(), object, &mut done, &mut failed).await;
                }
            }
        }
    }
}

/// Deploys one resource's generation (once) and writes its status.
async fn reconcile(
    client: &kube::Client,
    deployer: &dyn Deployer,
    object: ProcessDefinition,
    done: &mut BTreeMap<String, i64>,
    failed: &mut BTreeMap<String, ProcessDefinition>,
) {
    let uid = object.uid().unwrap_or_default();
    let generation = object.metadata.generation.unwrap_or_default();
    if object.metadata.deletion_timestamp.is_some() || done.get(&uid) == Some(&generation) {
        return;
    }
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let source = format!("ProcessDefinition {namespace}/{name}");
    let outcome = deployer
        .deploy(source.clone(), object.spec.bpmn.clone())
        .await;
    match &outcome {
        DeployOutcome::Deployed(list) => {
            for p in list {
                tracing::info!(
                    process = p.id,
                    version = p.version,
                    "deployed from {source}"
                );
            }
        }
        DeployOutcome::Invalid(lines) => {
            for line in lines {
                tracing::error!("{source} not deployed: {line}");
            }
        }
        DeployOutcome::Failed(why) => {
            tracing::warn!("{source} not deployed yet: {why} (trying again in {RETRY:?})");
        }
    }
    let previous = object.status.clone().unwrap_or_default();
    let status = status_of(&outcome, generation, &previous);
    if status != previous {
        let api: Api<ProcessDefinition> = Api::namespaced(client.clone(), &namespace);
        let patch = serde_json::json!({ "status": status });
        if let Err(e) = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            let e = K8sError::of(call("patch", Some(namespace), Some(name)), e);
            tracing::warn!("writing the status failed: {e}");
            failed.insert(uid, object);
            return;
        }
    }
    if matches!(outcome, DeployOutcome::Failed(_)) {
        failed.insert(uid, object);
    } else {
        done.insert(uid, generation);
    }
}

/// The status for `outcome` (the condition keeps its transition time when
/// its status did not change).
pub fn status_of(
    outcome: &DeployOutcome,
    generation: i64,
    previous: &ProcessDefinitionStatus,
) -> ProcessDefinitionStatus {
    let (ready, reason, message, processes, problems) = match outcome {
        DeployOutcome::Deployed(list) => {
            let names: Vec<String> = list
                .iter()
                .map(|p| format!("{}@{}", p.id, p.version))
                .collect();
            (
                "True",
                "Deployed",
                format!("deployed {}", names.join(", ")),
                list.clone(),
                Vec::new(),
            )
        }
        DeployOutcome::Invalid(lines) => (
            "False",
            "Invalid",
            format!("{} problem(s); see status.problems", lines.len()),
            previous.processes.clone(),
            lines.clone(),
        ),
        DeployOutcome::Failed(why) => (
            "False",
            "DeployFailed",
            why.clone(),
            previous.processes.clone(),
            Vec::new(),
        ),
    };
    let old = previous.conditions.iter().find(|c| c.type_ == "Ready");
    let last_transition_time = match old {
        Some(c) if c.status == ready => c.last_transition_time.clone(),
        _ => k8s_openapi::jiff::Timestamp::now().to_string(),
    };
    let summary = (!processes.is_empty()).then(|| {
        processes
            .iter()
            .map(|p| format!("{}@{}", p.id, p.version))
            .collect::<Vec<_>>()
            .join(", ")
    });
    ProcessDefinitionStatus {
        observed_generation: Some(generation),
        processes,
        summary,
        problems,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: ready.into(),
            reason: reason.into(),
            message,
            last_transition_time,
            observed_generation: Some(generation),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> DeployOutcome {
        DeployOutcome::Deployed(vec![DeployedProcess {
            id: "p".into(),
            version: 2,
        }])
    }

    #[test]
    fn a_deployment_is_ready_and_names_its_versions() {
        let s = status_of(&deployed(), 3, &ProcessDefinitionStatus::default());
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(s.summary.as_deref(), Some("p@2"));
        assert_eq!(s.conditions[0].status, "True");
        assert_eq!(s.conditions[0].reason, "Deployed");
    }

    #[test]
    fn an_invalid_document_keeps_the_last_versions_and_lists_its_problems() {
        let before = status_of(&deployed(), 3, &ProcessDefinitionStatus::default());
        let outcome = DeployOutcome::Invalid(vec!["line 4: task `a`: no kind".into()]);
        let s = status_of(&outcome, 4, &before);
        assert_eq!(s.processes, before.processes);
        assert_eq!(s.problems, vec!["line 4: task `a`: no kind".to_string()]);
        assert_eq!(s.conditions[0].status, "False");
        assert_eq!(s.conditions[0].reason, "Invalid");
    }

    #[test]
    fn an_unchanged_condition_keeps_its_transition_time() {
        let mut before = status_of(&deployed(), 3, &ProcessDefinitionStatus::default());
        before.conditions[0].last_transition_time = "2020-01-01T00:00:00Z".into();
        let s = status_of(&deployed(), 3, &before);
        assert_eq!(s, before);
    }
}
