//! What the Kubernetes kinds share: how a job fails, the object a task
//! names (`apiVersion`, `kind`, `namespace`, `name`), flags, and where
//! results go (`resultVariable`).

use crate::error::{Call, K8sError};
use crate::kinds::Context;
use crate::resolve::Resource;
use kube::api::{Api, DynamicObject};
use serde_json::Value;
use windlass_jobs::ConfigError;
use windlass_jobs::settings::{Settings, is_variable_name};
use windlass_types::Vars;

/// How a Kubernetes job fails.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Its settings are wrong: no retry.
    Config(ConfigError),
    /// The API server refused or could not be reached (retried when that
    /// may pass).
    Kube(Box<K8sError>),
    /// It failed for good (a Job failed, a manifest is wrong).
    Failed(String),
    /// It failed for now (a timeout): the task's retries apply.
    Retry(String),
    /// It throws a BPMN error (this outcome).
    Bpmn(windlass_runtime::JobOutcome),
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Failure {
        Failure::Config(e)
    }
}

impl From<K8sError> for Failure {
    fn from(e: K8sError) -> Failure {
        Failure::Kube(Box::new(e))
    }
}

/// What a job answers.
pub(crate) type Outcome = Result<Vars, Failure>;

/// The settings naming one object.
pub(crate) const ADDRESS: [&str; 4] = ["apiVersion", "kind", "namespace", "name"];

/// One object a task names.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) resource: Resource,
    /// `None` for cluster-scoped resources.
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
}

impl Target {
    /// The API for it.
    pub(crate) fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        self.resource.api(client, self.namespace.as_deref())
    }

    /// A call on it, for errors.
    pub(crate) fn call(&self, verb: &'static str) -> Call {
        self.resource
            .call(verb, self.namespace.as_deref(), Some(&self.name))
    }
}

/// The client, or the failure of making it.
pub(crate) async fn client(ctx: &Context) -> Result<kube::Client, Failure> {
    Ok(ctx.client.get().await?)
}

/// The resource `apiVersion` / `kind` of the settings name.
pub(crate) async fn resource(
    ctx: &Context,
    client: &kube::Client,
    s: &Settings<'_>,
) -> Result<Resource, Failure> {
    let api_version = s.required("apiVersion")?;
    let kind = s.required("kind")?;
    Ok(ctx.resolver.resolve(client, api_version, kind).await?)
}

/// The namespace of a namespaced resource: the setting, else the client's
/// default (the kubeconfig context's, or the pod's own in-cluster).
pub(crate) fn namespace(
    resource: &Resource,
    client: &kube::Client,
    s: &Settings<'_>,
) -> Option<String> {
    resource.namespaced.then(|| {
        s.get("namespace")
            .map_or_else(|| client.default_namespace().to_string(), str::to_string)
    })
}

/// The namespace of a manifest's object: its own `metadata.namespace`,
/// else the `namespace` setting, else the client's default; written into
/// the document. `None` (and nothing written) for a cluster-scoped
/// resource.
pub(crate) fn place_in_namespace(
    doc: &mut Value,
    namespaced: bool,
    client: &kube::Client,
    s: &Settings<'_>,
) -> Option<String> {
    if !namespaced {
        return None;
    }
    let ns = doc
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| s.get("namespace").map(str::to_string))
        .unwrap_or_else(|| client.default_namespace().to_string());
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), Value::String(ns.clone()));
    }
    Some(ns)
}

/// The object the settings name (`apiVersion`, `kind`, `namespace`,
/// `name`).
pub(crate) async fn target(
    ctx: &Context,
    client: &kube::Client,
    s: &Settings<'_>,
) -> Result<Target, Failure> {
    let name = s.required("name")?.to_string();
    let resource = resource(ctx, client, s).await?;
    let namespace = namespace(&resource, client, s);
    Ok(Target {
        resource,
        namespace,
        name,
    })
}

/// Setting `name` as `true` / `false`, else `default`.
pub(crate) fn flag(s: &Settings<'_>, name: &str, default: bool) -> Result<bool, ConfigError> {
    match s.get(name) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(s.invalid(name, format!("'{other}' is neither true nor false"))),
    }
}

/// Where the result goes: `resultVariable`, else `default` (`None`: the
/// result is not kept).
pub(crate) fn result_name(
    s: &Settings<'_>,
    default: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    match s.get("resultVariable") {
        Some(name) if !is_variable_name(name) => {
            Err(s.invalid("resultVariable", format!("'{name}' is not a variable name")))
        }
        Some(name) => Ok(Some(name.to_string())),
        None => Ok(default.map(str::to_string)),
    }
}

/// `value` under `name`, or no variables.
pub(crate) fn outputs(name: Option<String>, value: Value) -> Vars {
    name.map(|n| Vars::from_iter([(n, value)]))
        .unwrap_or_default()
}

/// An object as a variable: as the API server returned it, without
/// `metadata.managedFields` (bookkeeping of field owners, large and of no
/// use to a process), and for a core Secret without its values: the keys
/// of `data` and `stringData` stay, each value withheld (replaced by
/// [`MASK`](windlass_engine::secret_names::MASK)). Variables are kept in
/// the history; a Secret's values reach them only through
/// `kubernetes.values` with `kind` = `Secret`, under a secret name.
pub(crate) fn object_value(obj: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    let is_secret = v.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && v.get("kind").and_then(Value::as_str) == Some("Secret");
    if is_secret {
        for field in ["data", "stringData"] {
            if let Some(values) = v.get_mut(field).and_then(Value::as_object_mut) {
                for value in values.values_mut() {
                    *value = Value::String(windlass_engine::secret_names::MASK.into());
                }
            }
        }
    }
    v
}
