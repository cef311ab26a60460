//! `kubernetes.patch`: patches one object with `patch` (templated YAML or
//! JSON, `manifest.rs`) as a `merge` (default), `strategic` or `json`
//! (RFC 6902, a list of operations) patch. `kubernetes.status`: merges
//! `status` into the object's status subresource (a custom resource's
//! status, as its controller reports it). Either answers the patched
//! object in `resultVariable` when set.

use super::Context;
use super::common::{ADDRESS, Outcome, client, object_value, outputs, result_name, target};
use crate::error::K8sError;
use crate::manifest::render_document;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};

const PATCH: Known<'static> = Known {
    names: &[
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        "patch",
        "patchType",
        "resultVariable",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &["patch"],
};

const STATUS: Known<'static> = Known {
    names: &[
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        "status",
        "resultVariable",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &["status"],
};

pub(super) async fn run_patch(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, PATCH)?;
    let doc =
        render_document(s.required("patch")?, &input.inputs).map_err(|e| s.invalid("patch", e))?;
    let result = result_name(&s, None)?;
    let patch = match s.get("patchType").unwrap_or("merge") {
        "merge" => Patch::Merge(doc),
        "strategic" => Patch::Strategic(doc),
        "json" => {
            let ops: json_patch::Patch = serde_json::from_value(doc).map_err(|e| {
                s.invalid(
                    "patch",
                    format!("a json patch is a list of RFC 6902 operations: {e}"),
                )
            })?;
            Patch::Json(ops)
        }
        other => {
            return Err(s
                .invalid(
                    "patchType",
                    format!("'{other}' is none of merge, strategic, json"),
                )
                .into());
        }
    };
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    let out = t
        .api(&client)
        .patch(&t.name, &PatchParams::default(), &patch)
        .await
        .map_err(|e| K8sError::of(t.call("patch"), e))?;
    Ok(outputs(result, object_value(&out)))
}

pub(super) async fn run_status(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, STATUS)?;
    let status: Value = render_document(s.required("status")?, &input.inputs)
        .map_err(|e| s.invalid("status", e))?;
    let result = result_name(&s, None)?;
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    let mut call = t.call("patch");
    if let Some((plural, _)) = &mut call.rbac {
        plural.push_str("/status");
    }
    let out = t
        .api(&client)
        .patch_status(
            &t.name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .map_err(|e| K8sError::of(call, e))?;
    Ok(outputs(result, object_value(&out)))
}
