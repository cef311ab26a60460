//! `kubernetes.get` (one object into `resultVariable`, default `object`;
//! with `optional` = true a missing object is `null` instead of a
//! failure) and `kubernetes.list` (the objects matching `labelSelector` /
//! `fieldSelector` in `namespace`, or all namespaces with
//! `allNamespaces` = true, into `resultVariable`, default `items`).

use super::Context;
use super::common::{Outcome, client, flag, object_value, outputs, resource, result_name, target};
use crate::error::K8sError;
use kube::api::ListParams;
use serde_json::Value;
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};

const GET: Known<'static> = Known {
    names: &[
        "apiVersion",
        "kind",
        "namespace",
        "name",
        "optional",
        "resultVariable",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

const LIST: Known<'static> = Known {
    names: &[
        "apiVersion",
        "kind",
        "namespace",
        "allNamespaces",
        "labelSelector",
        "fieldSelector",
        "limit",
        "resultVariable",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

pub(super) async fn run_get(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, GET)?;
    let optional = flag(&s, "optional", false)?;
    let result = result_name(&s, Some("object"))?;
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    let found = t
        .api(&client)
        .get_opt(&t.name)
        .await
        .map_err(|e| K8sError::of(t.call("get"), e))?;
    let value = match found {
        Some(obj) => object_value(&obj),
        None if optional => Value::Null,
        None => {
            return Err(K8sError::NotFound {
                call: t.call("get"),
                message: "set optional = true to get null instead".into(),
            }
            .into());
        }
    };
    Ok(outputs(result, value))
}

pub(super) async fn run_list(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, LIST)?;
    let all = flag(&s, "allNamespaces", false)?;
    let result = result_name(&s, Some("items"))?;
    let mut params = ListParams::default();
    if let Some(l) = s.get("labelSelector") {
        params = params.labels(l);
    }
    if let Some(f) = s.get("fieldSelector") {
        params = params.fields(f);
    }
    if let Some(limit) = s.get("limit") {
        let n: u32 = limit
            .parse()
            .map_err(|_| s.invalid("limit", format!("'{limit}' is not a whole number")))?;
        params = params.limit(n);
    }
    let client = client(ctx).await?;
    let resource = resource(ctx, &client, &s).await?;
    let namespace = if all {
        None
    } else {
        super::common::namespace(&resource, &client, &s)
    };
    let list = resource
        .api(&client, namespace.as_deref())
        .list(&params)
        .await
        .map_err(|e| K8sError::of(resource.call("list", namespace.as_deref(), None), e))?;
    let items: Vec<Value> = list.items.iter().map(object_value).collect();
    Ok(outputs(result, Value::Array(items)))
}
