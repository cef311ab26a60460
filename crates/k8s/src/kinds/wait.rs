//! `kubernetes.wait`: waits until `condition` (CEL over `object`, the
//! object as the API server has it, `null` while it does not exist, and
//! the task's variables) holds, at most `timeout` (default 5 minutes;
//! then the attempt fails and the task's retries apply). The object goes
//! to `resultVariable` (default `object`). It watches the one object
//! (kube-runtime's watcher: re-lists after a 410 Gone, reconnects with
//! backoff), so a change is seen at once, not at the next poll.

use super::Context;
use super::common::{
    ADDRESS, Failure, Outcome, Target, client, object_value, outputs, result_name, target,
};
use crate::error::K8sError;
use futures::StreamExt as _;
use kube::api::DynamicObject;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::time::Duration;
use windlass_expr::{Expression, Language};
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};

const KNOWN: Known<'static> = Known {
    names: &[
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        "condition",
        "timeout",
        "resultVariable",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &["condition"],
};

/// How long a wait lasts when the task does not say.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    s.required("condition")?;
    let source = s.expression("condition")?.unwrap_or_default();
    let condition = Expression::compile(Language::Cel, &source)
        .map_err(|e| s.invalid("condition", e.to_string()))?;
    let timeout = s.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    let result = result_name(&s, Some("object"))?;
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    let holds = |obj: Option<&DynamicObject>| -> Result<bool, Failure> {
        let mut vars = input.inputs.clone();
        vars.insert("object".into(), obj.map_or(Value::Null, object_value));
        condition
            .evaluate_bool(&vars)
            .map_err(|e| Failure::Failed(format!("condition `{source}` on {}: {e}", t.call("get"))))
    };
    match tokio::time::timeout(timeout, until(&t, &client, holds)).await {
        Ok(found) => Ok(outputs(
            result,
            found?.as_ref().map_or(Value::Null, object_value),
        )),
        Err(_) => Err(Failure::Retry(format!(
            "{}: the condition `{source}` did not hold within {timeout:?}",
            t.call("watch")
        ))),
    }
}

/// Watches `t` until `holds` says yes for its state (`None`: it does not
/// exist); answers that state. A refusal by the API server (RBAC, a
/// resource that cannot be watched) fails at once; other watch errors are
/// retried with backoff.
pub(super) async fn until(
    t: &Target,
    client: &kube::Client,
    mut holds: impl FnMut(Option<&DynamicObject>) -> Result<bool, Failure>,
) -> Result<Option<DynamicObject>, Failure> {
    let config = watcher::Config::default().fields(&format!("metadata.name={}", t.name));
    let mut events = watcher::watcher(t.api(client), config)
        .default_backoff()
        .boxed();
    // What a (re-)list found so far; judged once the list is complete.
    let mut listing: Option<DynamicObject> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => listing = None,
            Ok(Event::InitApply(obj)) => listing = Some(obj),
            Ok(Event::InitDone) => {
                let listed = listing.take();
                if holds(listed.as_ref())? {
                    return Ok(listed);
                }
            }
            Ok(Event::Apply(obj)) => {
                if holds(Some(&obj))? {
                    return Ok(Some(obj));
                }
            }
            Ok(Event::Delete(_)) => {
                if holds(None)? {
                    return Ok(None);
                }
            }
            Err(e) => {
                let refused = match &e {
                    watcher::Error::InitialListFailed(kube::Error::Api(s))
                    | watcher::Error::WatchStartFailed(kube::Error::Api(s))
                    | watcher::Error::WatchFailed(kube::Error::Api(s)) => {
                        matches!(s.code, 401 | 403 | 404 | 405)
                    }
                    _ => false,
                };
                if refused
                    && let watcher::Error::InitialListFailed(k)
                    | watcher::Error::WatchStartFailed(k)
                    | watcher::Error::WatchFailed(k) = e
                {
                    return Err(K8sError::of(t.call("watch"), k).into());
                }
                tracing::warn!("watching {}: {e} (retrying)", t.call("watch"));
            }
        }
    }
    Err(Failure::Retry(format!(
        "{}: the watch ended",
        t.call("watch")
    )))
}
