//! A watched object's change as the message a process receives.

use crate::kinds::object_value;
use kube::api::DynamicObject;
use kube::discovery::ApiResource;
use serde_json::json;
use windlass_runtime::Message;

/// What happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// It was created or changed (or is delivered again by a resync).
    Applied,
    /// It is being deleted (its deletion timestamp is set) or is gone.
    Deleted,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Applied => "applied",
            Change::Deleted => "deleted",
        }
    }
}

/// `{namespace}/{name}`, or `{name}` for a cluster-scoped object.
pub(crate) fn key_of(obj: &DynamicObject) -> String {
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    match obj.metadata.namespace.as_deref() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The message `name` delivering `change` of `obj`. Its id makes
/// publishing idempotent: the object's uid, resource version and the
/// change, plus the time of a resync (every resync delivers again).
pub(crate) fn message(
    name: &str,
    obj: &DynamicObject,
    resource: &ApiResource,
    change: Change,
    resync_at: Option<u64>,
) -> Message {
    let key = key_of(obj);
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let rv = obj.metadata.resource_version.clone().unwrap_or_default();
    let id = match resync_at {
        Some(at) => format!("k8s:{uid}:{rv}:resync:{at}"),
        None => format!("k8s:{uid}:{rv}:{}", change.as_str()),
    };
    let event = json!({
        "type": change.as_str(),
        "key": key,
        "namespace": obj.metadata.namespace,
        "name": obj.metadata.name,
        "uid": uid,
        "resourceVersion": rv,
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "object": object_value(obj),
        "resync": resync_at.is_some(),
    });
    Message {
        name: name.to_string(),
        correlation_key: Some(key),
        message_id: Some(id),
        vars: serde_json::Map::from_iter([("event".to_string(), event)]),
        // A change nothing waits for is not kept: the next change, or a
        // resync, delivers the object's state again.
        ttl_millis: Some(0),
    }
}

/// Whether `obj` carries `finalizer`.
pub(crate) fn has_finalizer(obj: &DynamicObject, finalizer: &str) -> bool {
    obj.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// The value of `event.type` for the `events` filter: `added` for the
/// first sight of an object, `modified` later, `deleted`.
pub(crate) fn filter_name(change: Change, first: bool) -> &'static str {
    match (change, first) {
        (Change::Deleted, _) => "deleted",
        (Change::Applied, true) => "added",
        (Change::Applied, false) => "modified",
    }
}
