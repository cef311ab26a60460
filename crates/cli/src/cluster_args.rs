//! `--kubeconfig` and `--context`: which cluster the Kubernetes job kinds
//! (`kubernetes.apply`, …) of `run`, `recover`, `incidents` and `server`
//! talk to. Without them: `KUBECONFIG`, `~/.kube/config`, else the pod's
//! service account, as kubectl does. Nothing is read until a Kubernetes
//! task runs.

use std::path::PathBuf;
use windlass_k8s::ClusterOptions;

/// The cluster options of a verb.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig the Kubernetes tasks use (default: KUBECONFIG, else
    /// ~/.kube/config, else the in-cluster service account).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
}

impl ClusterArgs {
    /// As [`ClusterOptions`].
    pub fn options(&self) -> ClusterOptions {
        ClusterOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}
