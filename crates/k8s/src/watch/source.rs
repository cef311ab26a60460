//! One watch source: a kube-runtime watcher on the resource it names
//! (namespace, label and field selectors), whose changes are published as
//! messages, in order, each until it is durable.
//!
//! - **Robustness.** The watcher lists, then watches from the list's
//!   resource version, re-lists after `410 Gone`, and retries failed calls
//!   with backoff. A watch that yields nothing for
//!   [`WatchOptions::stall_after`](super::WatchOptions::stall_after) is
//!   dropped and started again (a fresh list): a silent stream is not
//!   trusted. Objects that disappeared while the watch was down are found
//!   missing from the next list and delivered as deleted.
//! - **What is delivered.** Each object's resource version once (a re-list
//!   does not deliver an unchanged object again). `events` filters by
//!   `added` (the first sight of an object since this watch started),
//!   `modified` and `deleted`.
//! - **Resync** (`resync`): every period, every object known is delivered
//!   again with `event.resync` = true, for conditions that change with time
//!   (a certificate nearing expiry).
//! - **Finalizer** (`finalizer`): the watch adds it to every object that
//!   lacks it, so a deletion is seen while the object still exists: when
//!   its deletion timestamp appears the change is delivered as `deleted`,
//!   and the object stays until the process removes the finalizer
//!   (`kubernetes.finalizer` with `action` = `remove`).

use super::event::{Change, filter_name, has_finalizer, message};
use super::{Counters, Shared};
use crate::resolve::Resource;
use futures::StreamExt as _;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use windlass_model::MessageSource;
use windlass_runtime::RuntimeError;

/// What one source watches and how it delivers.
struct Spec {
    process: String,
    message: String,
    api_version: String,
    kind: String,
    namespace: Option<String>,
    labels: Option<String>,
    fields: Option<String>,
    events: Vec<String>,
    resync: Option<Duration>,
    finalizer: Option<String>,
}

/// What the watch remembers across restarts of its stream.
#[derive(Default)]
struct State {
    /// Every object known, by uid.
    objects: BTreeMap<String, DynamicObject>,
    /// The uids whose deletion was delivered (finalizer or deletion
    /// timestamp), so the final removal is not delivered again.
    deletion_delivered: BTreeSet<String>,
    /// The uids of the list under way.
    listing: Option<BTreeSet<String>>,
}

/// Why a stream ended.
enum Ended {
    Cancelled,
    Stalled,
}

/// Watches `source` of `process` until `cancel`.
pub(crate) async fn run(
    shared: Arc<Shared>,
    process: String,
    source: MessageSource,
    cancel: CancellationToken,
) {
    let MessageSource::KubernetesWatch {
        message,
        api_version,
        kind,
        namespace,
        label_selector,
        field_selector,
        events,
        resync_millis,
        finalizer,
    } = source
    else {
        return;
    };
    let spec = Spec {
        process,
        message,
        api_version,
        kind,
        namespace,
        labels: label_selector,
        fields: field_selector,
        events,
        resync: resync_millis.map(Duration::from_millis),
        finalizer,
    };
    let mut state = State::default();
    let mut wait = Duration::from_millis(200);
    loop {
        match watch(&shared, &spec, &mut state, &cancel).await {
            Ok(Ended::Cancelled) => return,
            Ok(Ended::Stalled) => {
                Counters::bump(&shared.counters.stalls);
                tracing::warn!(
                    process = %spec.process,
                    "the watch of {} {} delivered nothing for {:?}: starting it again",
                    spec.api_version,
                    spec.kind,
                    shared.options.stall_after
                );
                wait = Duration::from_millis(200);
            }
            Err(e) => {
                tracing::warn!(
                    process = %spec.process,
                    "watching {} {} for message '{}': {e} (trying again in {wait:?})",
                    spec.api_version,
                    spec.kind,
                    spec.message
                );
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(shared.options.max_backoff);
            }
        }
    }
}

/// One watcher stream, until it is cancelled or stalls.
async fn watch(
    shared: &Shared,
    spec: &Spec,
    state: &mut State,
    cancel: &CancellationToken,
) -> Result<Ended, String> {
    let client = shared.client.get().await.map_err(|e| e.to_string())?;
    let resource = shared
        .resolver
        .resolve(&client, &spec.api_version, &spec.kind)
        .await
        .map_err(|e| e.to_string())?;
    let mut config = watcher::Config::default();
    if let Some(l) = &spec.labels {
        config = config.labels(l);
    }
    if let Some(f) = &spec.fields {
        config = config.fields(f);
    }
    let api = resource.api(&client, spec.namespace.as_deref());
    let mut stream = watcher::watcher(api.clone(), config)
        .default_backoff()
        .boxed();
    let mut resync = spec.resync.map(|period| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    tracing::info!(
        process = %spec.process,
        "watching {} {} in {} for message '{}'",
        spec.api_version,
        spec.kind,
        spec.namespace.as_deref().unwrap_or("all namespaces"),
        spec.message
    );
    loop {
        let tick = async {
            match &mut resync {
                Some(i) => {
                    i.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return Ok(Ended::Cancelled),
            () = tick => resync_all(shared, spec, state, &resource, cancel).await,
            next = tokio::time::timeout(shared.options.stall_after, stream.next()) => {
                match next {
                    Err(_) => return Ok(Ended::Stalled),
                    Ok(None) => return Err("the watch stream ended".into()),
                    Ok(Some(Err(e))) => {
                        Counters::bump(&shared.counters.errors);
                        // The stream retries by itself (with backoff).
                        tracing::warn!(process = %spec.process, "watch of {} {}: {e}", spec.api_version, spec.kind);
                    }
                    Ok(Some(Ok(event))) => {
                        on_event(shared, spec, state, &resource, &api, event, cancel).await;
                    }
                }
            }
        }
    }
}

async fn on_event(
    shared: &Shared,
    spec: &Spec,
    state: &mut State,
    resource: &Resource,
    api: &kube::Api<DynamicObject>,
    event: Event<DynamicObject>,
    cancel: &CancellationToken,
) {
    match event {
        Event::Init => {
            Counters::bump(&shared.counters.lists);
            state.listing = Some(BTreeSet::new());
        }
        Event::InitApply(obj) => {
            if let (Some(listing), Some(uid)) = (&mut state.listing, &obj.metadata.uid) {
                listing.insert(uid.clone());
            }
            applied(shared, spec, state, resource, api, obj, cancel).await;
        }
        Event::InitDone => {
            // Known objects the list no longer has went while the watch
            // was down.
            if let Some(listed) = state.listing.take() {
                let gone: Vec<String> = state
                    .objects
                    .keys()
                    .filter(|uid| !listed.contains(*uid))
                    .cloned()
                    .collect();
                for uid in gone {
                    if let Some(obj) = state.objects.remove(&uid) {
                        gone_for_good(shared, spec, state, resource, obj, cancel).await;
                    }
                }
            }
        }
        Event::Apply(obj) => applied(shared, spec, state, resource, api, obj, cancel).await,
        Event::Delete(obj) => {
            if let Some(uid) = &obj.metadata.uid {
                state.objects.remove(uid);
            }
            gone_for_good(shared, spec, state, resource, obj, cancel).await;
        }
    }
}

/// An object as the API server has it now.
async fn applied(
    shared: &Shared,
    spec: &Spec,
    state: &mut State,
    resource: &Resource,
    api: &kube::Api<DynamicObject>,
    obj: DynamicObject,
    cancel: &CancellationToken,
) {
    let Some(uid) = obj.metadata.uid.clone() else {
        return;
    };
    let known = state.objects.get(&uid);
    if known.is_some_and(|k| k.metadata.resource_version == obj.metadata.resource_version) {
        return;
    }
    let first = known.is_none();
    state.objects.insert(uid.clone(), obj.clone());
    if obj.metadata.deletion_timestamp.is_some() {
        if state.deletion_delivered.insert(uid) {
            deliver(
                shared,
                spec,
                resource,
                &obj,
                Change::Deleted,
                first,
                None,
                cancel,
            )
            .await;
        }
        return;
    }
    if let Some(f) = &spec.finalizer
        && !has_finalizer(&obj, f)
    {
        add_finalizer(spec, resource, api, &obj, f).await;
    }
    deliver(
        shared,
        spec,
        resource,
        &obj,
        Change::Applied,
        first,
        None,
        cancel,
    )
    .await;
}

/// An object removed from the cluster.
async fn gone_for_good(
    shared: &Shared,
    spec: &Spec,
    state: &mut State,
    resource: &Resource,
    obj: DynamicObject,
    cancel: &CancellationToken,
) {
    let Some(uid) = obj.metadata.uid.clone() else {
        return;
    };
    if state.deletion_delivered.remove(&uid) {
        return;
    }
    deliver(
        shared,
        spec,
        resource,
        &obj,
        Change::Deleted,
        false,
        None,
        cancel,
    )
    .await;
}

/// Delivers every known object again.
async fn resync_all(
    shared: &Shared,
    spec: &Spec,
    state: &State,
    resource: &Resource,
    cancel: &CancellationToken,
) {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    for obj in state.objects.values() {
        if obj.metadata.deletion_timestamp.is_none() {
            deliver(
                shared,
                spec,
                resource,
                obj,
                Change::Applied,
                false,
                Some(at),
                cancel,
            )
            .await;
        }
    }
}

/// Adds the source's finalizer (under the object's resource version: if
/// the object changed meanwhile, its next event tries again). The patch
/// goes to the object's own namespace (a watch over all namespaces has no
/// address for one object).
async fn add_finalizer(
    spec: &Spec,
    resource: &Resource,
    watched: &kube::Api<DynamicObject>,
    obj: &DynamicObject,
    finalizer: &str,
) {
    let api = resource.api(
        &watched.clone().into_client(),
        obj.metadata.namespace.as_deref(),
    );
    let mut list = obj.metadata.finalizers.clone().unwrap_or_default();
    list.push(finalizer.to_string());
    let patch = json!({
        "metadata": {"finalizers": list, "resourceVersion": obj.metadata.resource_version}
    });
    let name = obj.metadata.name.clone().unwrap_or_default();
    if let Err(e) = api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        tracing::warn!(
            process = %spec.process,
            "adding finalizer {finalizer} to {}: {e}",
            super::event::key_of(obj)
        );
    }
}

/// Publishes one change (unless the source's `events` leave it out),
/// trying until it is durable or the watch stops.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    shared: &Shared,
    spec: &Spec,
    resource: &Resource,
    obj: &DynamicObject,
    change: Change,
    first: bool,
    resync_at: Option<u64>,
    cancel: &CancellationToken,
) {
    if resync_at.is_none()
        && !spec.events.is_empty()
        && !spec.events.iter().any(|e| e == filter_name(change, first))
    {
        return;
    }
    let msg = message(&spec.message, obj, &resource.api, change, resync_at);
    let mut wait = Duration::from_millis(100);
    loop {
        match shared.publisher.publish(msg.clone()).await {
            Ok(outcome) => {
                Counters::bump(&shared.counters.delivered);
                tracing::debug!(process = %spec.process, ?outcome, id = ?msg.message_id, "delivered");
                return;
            }
            Err(RuntimeError::ShuttingDown) => return,
            Err(e) => {
                tracing::warn!(
                    process = %spec.process,
                    "publishing message '{}' for {}: {e} (trying again in {wait:?})",
                    spec.message,
                    super::event::key_of(obj)
                );
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(shared.options.max_backoff);
            }
        }
    }
}
