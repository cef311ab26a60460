//! Metadata edits: `kubernetes.finalizer` adds or removes (`action`) the
//! finalizer `finalizer` of one object; `kubernetes.owner` makes one
//! object owned by another (`ownerApiVersion`, `ownerKind`, `ownerName`,
//! in the same namespace; `controller` and `blockOwnerDeletion` default
//! true), so the garbage collector deletes it with its owner. Both read
//! the object and write the whole list back under its resourceVersion,
//! trying again when another writer got there first; both are idempotent.
//! `kubernetes.apply` takes the owner settings too.

use super::Context;
use super::common::{ADDRESS, Failure, Outcome, Target, client, flag, target};
use crate::error::K8sError;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};
use windlass_types::Vars;

/// The settings naming an owner.
pub(super) const OWNER_SETTINGS: [&str; 5] = [
    "ownerApiVersion",
    "ownerKind",
    "ownerName",
    "controller",
    "blockOwnerDeletion",
];

const FINALIZER: Known<'static> = Known {
    names: &[
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        "finalizer",
        "action",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

const OWNER: Known<'static> = Known {
    names: &[
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        OWNER_SETTINGS[0],
        OWNER_SETTINGS[1],
        OWNER_SETTINGS[2],
        OWNER_SETTINGS[3],
        OWNER_SETTINGS[4],
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

/// How often a metadata edit is tried when other writers keep changing
/// the object in between.
const TRIES: usize = 5;

pub(super) async fn run_finalizer(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, FINALIZER)?;
    let finalizer = s.required("finalizer")?.to_string();
    let add = match s.get("action").unwrap_or("add") {
        "add" => true,
        "remove" => false,
        other => {
            return Err(s
                .invalid("action", format!("'{other}' is neither add nor remove"))
                .into());
        }
    };
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    edit_list(&t, &client, "finalizers", |list| {
        let has = list.iter().any(|f| f.as_str() == Some(&finalizer));
        match (add, has) {
            (true, false) => list.push(Value::String(finalizer.clone())),
            (false, true) => list.retain(|f| f.as_str() != Some(&finalizer)),
            _ => return false,
        }
        true
    })
    .await
    .or_else(|e| match e {
        // Removing from an object that is gone: nothing left to do.
        Failure::Kube(e) if !add && matches!(*e, K8sError::NotFound { .. }) => Ok(()),
        other => Err(other),
    })?;
    Ok(Vars::new())
}

pub(super) async fn run_owner(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, OWNER)?;
    let client = client(ctx).await?;
    let Some(owner) = owner_reference(ctx, &client, &s).await? else {
        return Err(s.invalid("ownerKind", "the owner is not named").into());
    };
    let t = target(ctx, &client, &s).await?;
    edit_list(&t, &client, "ownerReferences", |list| {
        let before = list.clone();
        replace_owner(list, &owner);
        *list != before
    })
    .await?;
    Ok(Vars::new())
}

/// The owner reference the owner settings name (`None` when they name
/// none), its uid read from the API server.
pub(super) async fn owner_reference(
    ctx: &Context,
    client: &kube::Client,
    s: &Settings<'_>,
) -> Result<Option<Value>, Failure> {
    let Some(kind) = s.get("ownerKind") else {
        if let Some(stray) = OWNER_SETTINGS.iter().find(|n| s.get(n).is_some()) {
            return Err(s
                .invalid(stray, "it needs ownerKind (and ownerApiVersion, ownerName)")
                .into());
        }
        return Ok(None);
    };
    let api_version = s.required("ownerApiVersion")?;
    let name = s.required("ownerName")?;
    let controller = flag(s, "controller", true)?;
    let block = flag(s, "blockOwnerDeletion", true)?;
    let resource = ctx.resolver.resolve(client, api_version, kind).await?;
    let namespace = super::common::namespace(&resource, client, s);
    let owner = Target {
        resource,
        namespace,
        name: name.to_string(),
    };
    let found = owner
        .api(client)
        .get(name)
        .await
        .map_err(|e| K8sError::of(owner.call("get"), e))?;
    let uid = found.metadata.uid.clone().unwrap_or_default();
    Ok(Some(json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": controller,
        "blockOwnerDeletion": block,
    })))
}

/// Makes `owner` one of `doc`'s owner references (replacing one with the
/// same uid).
pub(super) fn set_owner(doc: &mut Value, owner: &Value) {
    let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let list = meta
        .entry("ownerReferences")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Value::Array(items) = list {
        replace_owner(items, owner);
    }
}

fn replace_owner(list: &mut Vec<Value>, owner: &Value) {
    list.retain(|o| o.get("uid") != owner.get("uid"));
    list.push(owner.clone());
}

/// Reads `t`, lets `edit` change its `metadata.<field>` list (answering
/// whether it changed anything) and writes the list back under the
/// object's resourceVersion, trying again on a conflict.
async fn edit_list(
    t: &Target,
    client: &kube::Client,
    field: &str,
    mut edit: impl FnMut(&mut Vec<Value>) -> bool,
) -> Result<(), Failure> {
    let api = t.api(client);
    for _ in 0..TRIES {
        let obj = api
            .get(&t.name)
            .await
            .map_err(|e| K8sError::of(t.call("get"), e))?;
        let value = serde_json::to_value(&obj.metadata).unwrap_or(Value::Null);
        let mut list = value
            .get(field)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !edit(&mut list) {
            return Ok(());
        }
        let patch = json!({
            "metadata": {
                field: list,
                "resourceVersion": obj.metadata.resource_version,
            }
        });
        match api
            .patch(&t.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(K8sError::of(t.call("patch"), e).into()),
        }
    }
    Err(Failure::Retry(format!(
        "{}: the object kept changing while its {field} were edited",
        t.call("patch")
    )))
}
