//! `kubernetes.values`: the values of a ConfigMap (`name`, `namespace`;
//! `keys`, a comma list, picks some, each then required) as one map in
//! `resultVariable` (default `values`); binary data is left out.
//!
//! A Secret (`kind` = `Secret`) is refused by name: its values would be
//! written into the instance's history and shown wherever variables are.
//! A task that needs a Secret's value takes it as a `secret:NAME` setting
//! (`docs/tasks.md`, Secrets), which never reaches the history.

use super::Context;
use super::common::{Failure, Outcome, Target, client, outputs, result_name};
use crate::error::K8sError;
use serde_json::Value;
use windlass_jobs::settings::{Known, Settings};
use windlass_jobs::{ConfigError, TaskInput};

const KNOWN: Known<'static> = Known {
    names: &["kind", "namespace", "name", "keys", "resultVariable"],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    match s.get("kind").unwrap_or("ConfigMap") {
        "ConfigMap" => {}
        "Secret" => {
            return Err(ConfigError::Unsupported {
                task: input.label.clone(),
                kind: input.kind.clone(),
                name: "kind".into(),
                detail: ": reading a Secret's values into variables would write them into the \
                         instance's history; pass the value to the task that needs it as a \
                         `secret:NAME` setting instead (`--secrets-from NAMESPACE/NAME` reads \
                         it from the Secret)"
                    .into(),
            }
            .into());
        }
        other => {
            return Err(s
                .invalid("kind", format!("'{other}' is neither ConfigMap nor Secret"))
                .into());
        }
    }
    let name = s.required("name")?.to_string();
    let keys: Option<Vec<String>> = s.get("keys").map(|k| {
        k.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect()
    });
    let result = result_name(&s, Some("values"))?;
    let client = client(ctx).await?;
    let resource = ctx.resolver.resolve(&client, "v1", "ConfigMap").await?;
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
    let data = obj
        .data
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let values = match keys {
        None => data,
        Some(keys) => {
            let mut picked = serde_json::Map::new();
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
