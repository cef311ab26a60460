//! `kubernetes.delete`: deletes one object with `propagationPolicy`
//! (`Foreground`, `Background` — the API server's default — or `Orphan`).
//! An object already gone is fine (`ignoreNotFound`, default true: a job
//! delivered again after a crash finds it deleted). With `wait` = true the
//! job ends when the object is gone (finalizers done), at most `timeout`.

use super::Context;
use super::common::{ADDRESS, Failure, Outcome, client, flag, target};
use super::wait::{DEFAULT_TIMEOUT, until};
use crate::error::K8sError;
use kube::api::{DeleteParams, PropagationPolicy};
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};
use windlass_types::Vars;

const KNOWN: Known<'static> = Known {
    names: &[
        ADDRESS[0],
        ADDRESS[1],
        ADDRESS[2],
        ADDRESS[3],
        "propagationPolicy",
        "ignoreNotFound",
        "wait",
        "timeout",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    let policy = match s.get("propagationPolicy") {
        None => None,
        Some("Foreground") => Some(PropagationPolicy::Foreground),
        Some("Background") => Some(PropagationPolicy::Background),
        Some("Orphan") => Some(PropagationPolicy::Orphan),
        Some(other) => {
            return Err(s
                .invalid(
                    "propagationPolicy",
                    format!("'{other}' is none of Foreground, Background, Orphan"),
                )
                .into());
        }
    };
    let ignore_missing = flag(&s, "ignoreNotFound", true)?;
    let wait = flag(&s, "wait", false)?;
    let timeout = s.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    let params = DeleteParams {
        propagation_policy: policy,
        ..DeleteParams::default()
    };
    match t.api(&client).delete(&t.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 && ignore_missing => {}
        Err(e) => return Err(K8sError::of(t.call("delete"), e).into()),
    }
    if wait {
        let gone = until(&t, &client, |obj| Ok(obj.is_none()));
        if tokio::time::timeout(timeout, gone).await.is_err() {
            return Err(Failure::Retry(format!(
                "{}: still there after {timeout:?} (finalizers pending?)",
                t.call("delete")
            )));
        }
    }
    Ok(Vars::new())
}
