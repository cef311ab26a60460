//! Kubernetes Secrets as the source of `secret:NAME` settings
//! (`--secrets-from NAMESPACE/NAME`): one watch per Secret keeps its keys
//! in [`WatchedSecrets`], which the job kinds' `SecretSource` reads first,
//! so a task gets a Secret's current value in standalone mode too (no
//! volume to mount) and a rotated value without a restart. Values reach
//! only the settings that name them and are masked in what jobs give out;
//! they never enter variables or history.

use crate::client::LazyClient;
use crate::error::{Call, K8sError};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use windlass_jobs::WatchedSecrets;

/// A Secret to read: `NAMESPACE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl SecretRef {
    /// Parses `NAMESPACE/NAME`.
    pub fn parse(text: &str) -> Result<SecretRef, String> {
        match text.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(SecretRef {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(format!("'{text}' is not NAMESPACE/NAME")),
        }
    }

    /// `Secret ns/name`, as [`WatchedSecrets`] names its sources.
    pub fn label(&self) -> String {
        format!("Secret {}/{}", self.namespace, self.name)
    }

    fn call(&self, verb: &'static str) -> Call {
        Call {
            verb,
            resource: "v1 Secret".into(),
            rbac: Some(("secrets".into(), String::new())),
            namespace: Some(self.namespace.clone()),
            name: Some(self.name.clone()),
        }
    }
}

/// The watches. See [`SecretWatch::run`].
#[derive(Debug)]
pub struct SecretWatch {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl SecretWatch {
    /// Watches each of `secrets` into `into` (in owned tasks), waiting up
    /// to `first_read` for every one to be read once: an error names the
    /// first that was not (missing, forbidden, unreachable).
    pub async fn run(
        client: Arc<LazyClient>,
        secrets: Vec<SecretRef>,
        into: WatchedSecrets,
        first_read: Duration,
    ) -> Result<SecretWatch, K8sError> {
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut ready = Vec::new();
        for secret in secrets {
            let kube = client.get().await?;
            let api: Api<Secret> = Api::namespaced(kube, &secret.namespace);
            // The first read, so a mistake is an error at start, not a
            // task's incident later.
            let first = api
                .get(&secret.name)
                .await
                .map_err(|e| K8sError::of(secret.call("get"), e))?;
            into.set(&secret.label(), values(&secret, &first));
            let (tx, rx) = tokio::sync::oneshot::channel();
            ready.push((secret.clone(), rx));
            let stop = cancel.clone();
            let into = into.clone();
            tasks.spawn(async move {
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = follow(api, secret, into, tx) => {}
                }
            });
        }
        for (secret, rx) in ready {
            if tokio::time::timeout(first_read, rx).await.is_err() {
                return Err(K8sError::Transport {
                    call: secret.call("watch"),
                    why: format!("no answer within {first_read:?}"),
                });
            }
        }
        Ok(SecretWatch { cancel, tasks })
    }

    /// Stops the watches.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Drop for SecretWatch {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Follows one Secret: every change replaces its values; its deletion
/// empties them.
async fn follow(
    api: Api<Secret>,
    secret: SecretRef,
    into: WatchedSecrets,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let config = watcher::Config::default().fields(&format!("metadata.name={}", secret.name));
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let mut ready = Some(ready);
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Apply(s) | Event::InitApply(s)) => {
                into.set(&secret.label(), values(&secret, &s))
            }
            Ok(Event::Delete(_)) => {
                tracing::warn!("{} was deleted: its keys are no longer set", secret.label());
                into.set(&secret.label(), BTreeMap::new());
            }
            Ok(Event::InitDone) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            }
            Ok(Event::Init) => {}
            Err(e) => {
                let e = K8sError::Transport {
                    call: secret.call("watch"),
                    why: e.to_string(),
                };
                tracing::warn!("{e} (retrying with backoff; the last values stay)");
            }
        }
    }
}

/// The UTF-8 values of a Secret (a binary value is left out, with a
/// warning naming the key).
fn values(secret: &SecretRef, s: &Secret) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, bytes) in s.data.clone().unwrap_or_default() {
        match String::from_utf8(bytes.0) {
            Ok(v) => {
                out.insert(key, v);
            }
            Err(_) => tracing::warn!(
                "{}: key '{key}' is not UTF-8 text: left out",
                secret.label()
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::SecretRef;

    #[test]
    fn a_reference_is_namespace_and_name() {
        let r = SecretRef::parse("shop/db").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("shop", "db"));
        for bad in ["db", "/db", "shop/", "a/b/c"] {
            assert!(SecretRef::parse(bad).is_err(), "{bad}");
        }
    }
}
