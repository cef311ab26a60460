//! Kubernetes integration for Windlass.
//!
//! - [`client`]: which cluster to talk to: a kubeconfig and context
//!   (standalone mode), the pod's service account (in-cluster), or what
//!   the environment says; made at first use.
//! - [`kinds`]: the Kubernetes job kinds (`kubernetes.apply`, `.patch`,
//!   `.status`, `.get`, `.list`, `.delete`, `.wait`, `.job`, `.values`,
//!   `.finalizer`, `.owner`, `.event`; settings in `docs/tasks.md`),
//!   bound to a runtime's handlers by [`KubernetesJobs::bind`].
//! - [`manifest`]: templated YAML / JSON documents: placeholders filled in
//!   string values after parsing, so a value never changes a document's
//!   shape.
//! - [`resolve`]: `apiVersion` + `kind` → the served resource (discovery,
//!   cached).
//! - [`error`]: failures naming the verb, resource, namespace and name;
//!   an RBAC denial names the missing permission.
//! - [`watch`]: the `windlass:kubernetesWatch` sources of deployed
//!   processes, each a watch whose changes are delivered as messages.
//! - [`test_env`]: whether a real API server (`scripts/k8s-test-env`) is
//!   available to tests.
//!
//! - [`definition`]: the `ProcessDefinition` custom resource and the
//!   controller that deploys it (`windlass operator`).
//! - [`leader`]: leader election with a `coordination.k8s.io` Lease.
//! - [`secrets`]: Kubernetes Secrets as the source of `secret:NAME`
//!   settings (`--secrets-from`).
//! - [`deploy`]: the manifests that run `windlass operator` in a cluster.

pub mod client;
pub mod definition;
pub mod deploy;
pub mod error;
pub mod kinds;
pub mod leader;
pub mod manifest;
pub mod resolve;
pub mod secrets;
pub mod test_env;
pub mod watch;

pub use client::{ClusterOptions, LazyClient};
pub use error::K8sError;
pub use kinds::KubernetesJobs;
pub use leader::{LeaderElection, LeaderOptions};
pub use watch::{Publisher, WatchHandle, WatchOptions, WatchService, WatchStats};
