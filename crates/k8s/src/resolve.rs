//! From `apiVersion` and `kind` to the API of a resource: discovery asks
//! the API server which resource serves the kind, its plural name and
//! whether it is namespaced; answers are cached for the process (a CRD
//! installed later is found at its first use).

use crate::error::{Call, K8sError};
use kube::api::{Api, DynamicObject};
use kube::core::{GroupVersionKind, gvk::GroupVersion};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use std::collections::BTreeMap;
use std::str::FromStr as _;
use tokio::sync::Mutex;

/// A resource the server serves.
#[derive(Debug, Clone)]
pub struct Resource {
    /// What the API calls need.
    pub api: ApiResource,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl Resource {
    /// `apps/v1 Deployment`.
    pub fn label(&self) -> String {
        format!("{} {}", self.api.api_version, self.api.kind)
    }

    /// A [`Call`] on this resource.
    pub fn call(&self, verb: &'static str, namespace: Option<&str>, name: Option<&str>) -> Call {
        Call {
            verb,
            resource: self.label(),
            rbac: Some((self.api.plural.clone(), self.api.group.clone())),
            namespace: if self.namespaced {
                namespace.map(str::to_string)
            } else {
                None
            },
            name: name.map(str::to_string),
        }
    }

    /// The API for objects in `namespace` (ignored for cluster-scoped
    /// resources; `None` for a namespaced one: all namespaces).
    pub fn api(&self, client: &kube::Client, namespace: Option<&str>) -> Api<DynamicObject> {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &self.api),
            _ => Api::all_with(client.clone(), &self.api),
        }
    }
}

/// Resolves and caches resources by `(apiVersion, kind)`.
#[derive(Debug, Default)]
pub struct Resolver {
    known: Mutex<BTreeMap<(String, String), Resource>>,
}

impl Resolver {
    /// The resource serving `kind` of `api_version`.
    pub async fn resolve(
        &self,
        client: &kube::Client,
        api_version: &str,
        kind: &str,
    ) -> Result<Resource, K8sError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(r) = self.known.lock().await.get(&key) {
            return Ok(r.clone());
        }
        let unknown = |why: String| K8sError::UnknownResource {
            resource: format!("{api_version} {kind}"),
            why,
        };
        let gv = GroupVersion::from_str(api_version).map_err(|e| unknown(e.to_string()))?;
        let gvk = GroupVersionKind::gvk(&gv.group, &gv.version, kind);
        let (api, caps): (ApiResource, ApiCapabilities) =
            kube::discovery::pinned_kind(client, &gvk)
                .await
                .map_err(|e| match e {
                    kube::Error::Api(s) if s.code == 403 => K8sError::of(
                        Call {
                            verb: "discover",
                            resource: format!("{api_version} {kind}"),
                            rbac: None,
                            namespace: None,
                            name: None,
                        },
                        kube::Error::Api(s),
                    ),
                    other => unknown(other.to_string()),
                })?;
        let resource = Resource {
            api,
            namespaced: caps.scope == Scope::Namespaced,
        };
        self.known.lock().await.insert(key, resource.clone());
        Ok(resource)
    }
}
