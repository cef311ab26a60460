//! `kubernetes.values`: the values of a ConfigMap or a Secret (`kind`,
//! `name`, `namespace`; `keys`, a comma list, picks some, each then
//! required) as one map in `resultVariable`.
//!
//! - A ConfigMap gives its `data` (default variable `values`); binary data
//!   is left out.
//! - A Secret gives its `data` decoded as UTF-8 text (default variable
//!   `secret`); a value that is not UTF-8 is left out, or fails the task
//!   when `keys` names it. The variable's name must be a secret name
//!   (`windlass_engine::secret_names`: `dbSecret`, `apiToken`,
//!   `credentials`, …), so that every view of the instance — history lines,
//!   the API, the CLI, the web UI — masks the values, while the tasks after
//!   it use them (`{dbSecret.password}` in a setting). The values are
//!   stored in the history like any variable: protect the database as you
//!   protect the cluster's Secrets (`docs/tasks.md`).

use super::Context;
use super::common::{Failure, Outcome, Target, client, outputs, result_name};
use crate::error::K8sError;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Map, Value};
use windlass_engine::secret_names::is_secret_name;
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};

const KNOWN: Known<'static> = Known {
    names: &["kind", "namespace", "name", "keys", "resultVariable"],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

/// Which object the values come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    ConfigMap,
    Secret,
}

impl Source {
    /// Its kind in the core API group.
    fn kind(self) -> &'static str {
        match self {
            Source::ConfigMap => "ConfigMap",
            Source::Secret => "Secret",
        }
    }
}

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    let source = match s.get("kind").unwrap_or("ConfigMap") {
        "ConfigMap" => Source::ConfigMap,
        "Secret" => Source::Secret,
        other => {
            return Err(s
                .invalid("kind", format!("'{other}' is neither ConfigMap nor Secret"))
                .into());
        }
    };
    let name = s.required("name")?.to_string();
    let keys: Option<Vec<String>> = s.get("keys").map(|k| {
        k.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect()
    });
    let result = match source {
        Source::ConfigMap => result_name(&s, Some("values"))?,
        Source::Secret => {
            let result = result_name(&s, Some("secret"))?;
            if let Some(r) = result.as_deref().filter(|r| !is_secret_name(r)) {
                return Err(s
                    .invalid(
                        "resultVariable",
                        format!(
                            "'{r}' is not a secret name: a Secret's values go into a variable \
                             whose name contains secret, password, token, credential, api key \
                             or private key (such as '{r}Secret'), so that every view masks them"
                        ),
                    )
                    .into());
            }
            result
        }
    };
    let client = client(ctx).await?;
    let resource = ctx.resolver.resolve(&client, "v1", source.kind()).await?;
    let namespace = super::common::namespace(&resource, &client, &s);
    let t = Target {
        resource,
        namespace,
        name,
    };
    let obj = t
        .api(&client)
        .get(&t.name)
        .await
        .map_err(|e| K8sError::of(t.call("get"), e))?;
    let data = match source {
        Source::ConfigMap => obj
            .data
            .get("data")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        Source::Secret => secret_text(&t, obj, keys.as_deref())?,
    };
    let values = match keys {
        None => data,
        Some(keys) => {
            let mut picked = Map::new();
            for k in keys {
                let Some(v) = data.get(&k) else {
                    return Err(Failure::Failed(format!(
                        "{}: it has no key '{k}'",
                        t.call("get")
                    )));
                };
                picked.insert(k, v.clone());
            }
            picked
        }
    };
    Ok(outputs(result, Value::Object(values)))
}

/// A Secret's `data`, each value decoded as UTF-8 text. A value that is
/// not text is left out, unless `keys` asks for it: then the task fails,
/// naming the key (never the value).
fn secret_text(
    t: &Target,
    obj: kube::api::DynamicObject,
    keys: Option<&[String]>,
) -> Result<Map<String, Value>, Failure> {
    // The decoding error is left out: it may quote the (secret) text.
    let malformed = |_: serde_json::Error| {
        Failure::Failed(format!(
            "{}: the Secret's data is not base64 as the API server serves it",
            t.call("get")
        ))
    };
    let secret: Secret = serde_json::to_value(obj)
        .and_then(serde_json::from_value)
        .map_err(malformed)?;
    let mut out = Map::new();
    for (key, bytes) in secret.data.unwrap_or_default() {
        match String::from_utf8(bytes.0) {
            Ok(text) => {
                out.insert(key, Value::String(text));
            }
            Err(_) if keys.is_some_and(|ks| ks.contains(&key)) => {
                return Err(Failure::Failed(format!(
                    "{}: the value of key '{key}' is not UTF-8 text",
                    t.call("get")
                )));
            }
            Err(_) => {}
        }
    }
    Ok(out)
}
