//! Leader election with a `coordination.k8s.io/v1` Lease, as
//! controller-runtime does it: every replica of `windlass operator` runs
//! one [`LeaderElection`]; the one holding the Lease runs instances, the
//! others stand by and take it over when the holder stops renewing (it
//! died or stalled: within the lease duration) or releases it (a graceful
//! shutdown).
//!
//! The Lease is kept by `kube-lease-manager` (server-side apply with
//! conflict detection; renewal ahead of expiry by a grace period that also
//! bounds the clock skew tolerated between nodes). Windlass adds the
//! holder's API address as an annotation of the Lease
//! ([`ADDRESS_ANNOTATION`], written with the holder's identity), so
//! standbys can forward API calls to it.
//!
//! A Lease gives no fencing: a holder that stalls past its lease may still
//! believe it leads for a moment when it resumes. The database fences it
//! (SQLite's writer lock, PostgreSQL's lease epoch checked inside every
//! batch), so its writes are refused; see `docs/operator.md`.

use crate::error::{Call, K8sError};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Lease annotation naming the holder's API address, as
/// `identity address`.
pub const ADDRESS_ANNOTATION: &str = "windlass.io/leader-address";

/// How to elect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderOptions {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// This replica's identity (unique among replicas: the pod's name).
    pub identity: String,
    /// How long a Lease lasts without renewal (whole seconds, at least 2).
    pub duration: Duration,
}

impl LeaderOptions {
    fn call(&self, verb: &'static str) -> Call {
        Call {
            verb,
            resource: "coordination.k8s.io/v1 Lease".into(),
            rbac: Some(("leases".into(), "coordination.k8s.io".into())),
            namespace: Some(self.namespace.clone()),
            name: Some(self.name.clone()),
        }
    }

    fn error(&self, verb: &'static str, e: LeaseManagerError) -> K8sError {
        match e {
            LeaseManagerError::KubeError(e) => K8sError::of(self.call(verb), e),
            other => K8sError::Transport {
                call: self.call(verb),
                why: other.to_string(),
            },
        }
    }
}

/// A running election (see the module's documentation).
pub struct LeaderElection {
    options: LeaderOptions,
    client: kube::Client,
    leading: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
}

impl std::fmt::Debug for LeaderElection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElection")
            .field("options", &self.options)
            .field("leading", &*self.leading.borrow())
            .finish()
    }
}

impl LeaderElection {
    /// Joins the election (creating the Lease when missing) and keeps
    /// trying to lead in an owned task.
    pub async fn start(
        client: kube::Client,
        options: LeaderOptions,
    ) -> Result<LeaderElection, K8sError> {
        let duration = options.duration.as_secs().max(2);
        // Renew a third of the lease ahead of its expiry (at least 1 s).
        let grace = (duration / 3).max(1);
        let manager = LeaseManagerBuilder::new(client.clone(), &options.name)
            .with_namespace(&options.namespace)
            .with_identity(&options.identity)
            .with_duration(duration)
            .with_grace(grace)
            .with_field_manager(format!("windlass-operator/{}", options.identity))
            .build()
            .await
            .map_err(|e| options.error("get", e))?;
        let (leading, task) = manager.watch().await;
        Ok(LeaderElection {
            options,
            client,
            leading,
            task,
        })
    }

    /// Whether this replica leads now.
    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// Waits until this replica leads. An error when the election stopped
    /// (its task ended).
    pub async fn acquired(&mut self) -> Result<(), K8sError> {
        self.leading
            .wait_for(|leading| *leading)
            .await
            .map(|_| ())
            .map_err(|_| self.stopped())
    }

    /// Waits until this replica no longer leads (another took the Lease
    /// over), or the election stopped.
    pub async fn lost(&mut self) {
        let _ = self.leading.wait_for(|leading| !*leading).await;
    }

    /// Resolves once this replica, having led, no longer does (or the
    /// election stopped); independent of `self` so it can be awaited
    /// beside other work.
    pub fn on_lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut leading = self.leading.clone();
        async move {
            let _ = leading.wait_for(|leading| !*leading).await;
        }
    }

    fn stopped(&self) -> K8sError {
        K8sError::Transport {
            call: self.options.call("update"),
            why: "the leader election stopped".into(),
        }
    }

    /// Writes this replica's API address on the Lease for standbys (the
    /// holder calls it once it leads).
    pub async fn announce(&self, address: &str) -> Result<(), K8sError> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), &self.options.namespace);
        let value = format!("{} {address}", self.options.identity);
        let patch = serde_json::json!({
            "metadata": { "annotations": { ADDRESS_ANNOTATION: value } }
        });
        api.patch(
            &self.options.name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|e| K8sError::of(self.options.call("patch"), e))
    }

    /// Leaves the election, releasing the Lease when this replica holds it
    /// (a standby takes over at once), waiting up to `grace`.
    pub async fn release(self, grace: Duration) {
        let LeaderElection {
            leading, mut task, ..
        } = self;
        // The manager's task releases the Lease when its channel closes.
        drop(leading);
        match tokio::time::timeout(grace, &mut task).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => tracing::warn!("releasing the Lease failed (it expires): {e}"),
            Ok(Err(e)) => tracing::warn!("the leader election task failed: {e}"),
            Err(_) => {
                tracing::warn!("releasing the Lease timed out (it expires)");
                task.abort();
            }
        }
    }
}

/// The API address of the Lease's holder, when it announced one and still
/// holds it.
pub async fn leader_address(client: &kube::Client, namespace: &str, name: &str) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let lease = api.get_opt(name).await.ok()??;
    let holder = lease.spec?.holder_identity?;
    let announced = lease.metadata.annotations?.remove(ADDRESS_ANNOTATION)?;
    let (identity, address) = announced.split_once(' ')?;
    (identity == holder).then(|| address.to_string())
}
