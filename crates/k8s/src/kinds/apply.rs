//! `kubernetes.apply`: server-side apply of the documents of `manifest`
//! (templated YAML or JSON, `manifest.rs`) as field manager
//! `fieldManager` (default `windlass`), forcing conflicts by default like
//! a controller that owns its fields; optionally owned by another object
//! (`ownerKind`, …; see `metadata.rs`). Applying is idempotent: a job
//! delivered again after a crash applies the same documents again.

use super::Context;
use super::common::{
    Outcome, client, flag, object_value, outputs, place_in_namespace, result_name,
};
use super::metadata::{OWNER_SETTINGS, owner_reference, set_owner};
use crate::error::K8sError;
use crate::manifest::render_documents;
use kube::api::{Patch, PatchParams};
use serde_json::Value;
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};

const NAMES: &[&str] = &[
    "manifest",
    "namespace",
    "fieldManager",
    "force",
    "resultVariable",
    "ownerApiVersion",
    "ownerKind",
    "ownerName",
    "controller",
    "blockOwnerDeletion",
];

const KNOWN: Known<'static> = Known {
    names: NAMES,
    prefixes: &[],
    unsupported: &[],
    // Rendered here, placeholders in string values only.
    verbatim: &["manifest"],
};

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    debug_assert!(OWNER_SETTINGS.iter().all(|o| NAMES.contains(o)));
    let s = Settings::read(input, KNOWN)?;
    let source = s.required("manifest")?;
    let docs = render_documents(source, &input.inputs).map_err(|e| s.invalid("manifest", e))?;
    if docs.is_empty() {
        return Err(s.invalid("manifest", "it holds no document").into());
    }
    let force = flag(&s, "force", true)?;
    let manager = s.get("fieldManager").unwrap_or(&ctx.manager).to_string();
    let result = result_name(&s, None)?;
    let client = client(ctx).await?;
    let owner = owner_reference(ctx, &client, &s).await?;
    let mut params = PatchParams::apply(&manager);
    if force {
        params = params.force();
    }
    let mut applied = Vec::with_capacity(docs.len());
    for (i, mut doc) in docs.into_iter().enumerate() {
        let field = |name: &str| -> Result<String, super::common::Failure> {
            let v = match name {
                "name" => doc.pointer("/metadata/name"),
                other => doc.get(other),
            };
            v.and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    s.invalid(
                        "manifest",
                        format!("document {} has no {name} (a string)", i + 1),
                    )
                    .into()
                })
        };
        let api_version = field("apiVersion")?;
        let kind = field("kind")?;
        let name = field("name")?;
        let resource = ctx.resolver.resolve(&client, &api_version, &kind).await?;
        let namespace = place_in_namespace(&mut doc, resource.namespaced, &client, &s);
        if let Some(owner) = &owner {
            set_owner(&mut doc, owner);
        }
        let api = resource.api(&client, namespace.as_deref());
        let out = api
            .patch(&name, &params, &Patch::Apply(&doc))
            .await
            .map_err(|e| {
                K8sError::of(resource.call("apply", namespace.as_deref(), Some(&name)), e)
            })?;
        applied.push(object_value(&out));
    }
    let value = if applied.len() == 1 {
        applied.remove(0)
    } else {
        Value::Array(applied)
    };
    Ok(outputs(result, value))
}
