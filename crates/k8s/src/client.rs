//! Which cluster the Kubernetes job kinds (and, later, watches) talk to:
//! a kubeconfig file and context (standalone mode: a laptop or a machine
//! outside the cluster), the pod's service account (in-cluster), or
//! whatever the environment says (`KUBECONFIG`, `~/.kube/config`, else the
//! service account), as kubectl does. The same process definitions run in
//! every mode unchanged.

use crate::error::K8sError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::PathBuf;
use tokio::sync::OnceCell;

/// How to reach the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// A kubeconfig file; `None`: `KUBECONFIG`, `~/.kube/config`, else the
    /// in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; `None`: its current context.
    pub context: Option<String>,
}

impl ClusterOptions {
    /// A client for the cluster these options name.
    pub async fn client(&self) -> Result<kube::Client, K8sError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path).map_err(|e| K8sError::Config {
                    what: format!("kubeconfig {}", path.display()),
                    why: e.to_string(),
                })?;
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|e| K8sError::Config {
                        what: format!("kubeconfig {}", path.display()),
                        why: e.to_string(),
                    })?
            }
            None if self.context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| K8sError::Config {
                    what: "the kubeconfig (KUBECONFIG or ~/.kube/config)".into(),
                    why: e.to_string(),
                })?,
            None => kube::Config::infer().await.map_err(|e| K8sError::Config {
                what: "the cluster configuration (KUBECONFIG, ~/.kube/config or the \
                       in-cluster service account)"
                    .into(),
                why: e.to_string(),
            })?,
        };
        kube::Client::try_from(config).map_err(|e| K8sError::Config {
            what: "the Kubernetes client".into(),
            why: e.to_string(),
        })
    }
}

/// A client made on first use and kept: a process that never runs a
/// Kubernetes job never reads a kubeconfig. A failure is not kept (the
/// next job tries again: the file may have been fixed).
#[derive(Default)]
pub struct LazyClient {
    options: ClusterOptions,
    client: OnceCell<kube::Client>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("options", &self.options)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

impl LazyClient {
    /// A lazy client for `options`.
    pub fn new(options: ClusterOptions) -> LazyClient {
        LazyClient {
            options,
            client: OnceCell::new(),
        }
    }

    /// An already made client.
    pub fn of(client: kube::Client) -> LazyClient {
        LazyClient {
            options: ClusterOptions::default(),
            client: OnceCell::new_with(Some(client)),
        }
    }

    /// The client, made now if needed.
    pub async fn get(&self) -> Result<kube::Client, K8sError> {
        self.client
            .get_or_try_init(|| self.options.client())
            .await
            .cloned()
    }
}
