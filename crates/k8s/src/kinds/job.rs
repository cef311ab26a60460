//! `kubernetes.job`: runs the batch/v1 Job of `manifest` (templated YAML
//! or JSON, its `metadata.name` set) and waits until it succeeds
//! (condition `Complete`) or fails (condition `Failed`), at most `timeout`
//! (default one hour). The Job's status goes to `resultVariable` when set.
//! A failed Job fails the attempt (the task's retries apply: the next
//! attempt deletes the failed Job and runs it again) or, with `errorCode`
//! set, throws that BPMN error for a boundary event to catch.
//!
//! The Job carries the job key in the annotation `windlass.io/job-key`: an
//! attempt delivered again after a crash finds its own Job and waits for
//! it instead of running it twice. A Job of the same name that no task of
//! this process made is not touched (the attempt fails, naming it).

use super::Context;
use super::common::{Failure, Outcome, Target, client, outputs, place_in_namespace, result_name};
use super::wait::until;
use crate::error::K8sError;
use crate::manifest::render_document;
use kube::api::{DeleteParams, DynamicObject, PostParams, PropagationPolicy};
use serde_json::Value;
use std::time::Duration;
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};
use windlass_runtime::JobOutcome;

const KNOWN: Known<'static> = Known {
    names: &[
        "manifest",
        "namespace",
        "timeout",
        "resultVariable",
        "errorCode",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &["manifest"],
};

/// The annotation naming the job attempt a Job runs for.
pub(crate) const JOB_KEY: &str = "windlass.io/job-key";

/// How long a Job may run when the task does not say.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// How a Job ended.
enum End {
    Complete(Value),
    Failed(Value, String),
}

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    let mut doc = render_document(s.required("manifest")?, &input.inputs)
        .map_err(|e| s.invalid("manifest", e))?;
    if doc.get("apiVersion").and_then(Value::as_str) != Some("batch/v1")
        || doc.get("kind").and_then(Value::as_str) != Some("Job")
    {
        return Err(s
            .invalid(
                "manifest",
                "it must be a Job (apiVersion batch/v1, kind Job)",
            )
            .into());
    }
    let Some(name) = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(s.invalid("manifest", "the Job has no metadata.name").into());
    };
    let timeout = s.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    let result = result_name(&s, None)?;
    let error_code = s.get("errorCode").map(str::to_string);
    let key = input.job_key.clone().unwrap_or_default();
    let client = client(ctx).await?;
    let resource = ctx.resolver.resolve(&client, "batch/v1", "Job").await?;
    let namespace = place_in_namespace(&mut doc, true, &client, &s);
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        let notes = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(notes) = notes {
            notes.insert(JOB_KEY.into(), Value::String(key.clone()));
        }
    }
    let t = Target {
        resource,
        namespace,
        name,
    };
    start(&t, &client, doc, &key).await?;
    let ended = tokio::time::timeout(timeout, wait_end(&t, &client)).await;
    match ended {
        Err(_) => Err(Failure::Retry(format!(
            "{}: the Job did not finish within {timeout:?}",
            t.call("watch")
        ))),
        Ok(Err(e)) => Err(e),
        Ok(Ok(End::Complete(status))) => Ok(outputs(result, status)),
        Ok(Ok(End::Failed(status, why))) => {
            let message = format!("{}: the Job failed: {why}", t.call("watch"));
            match error_code {
                Some(code) => Err(Failure::Bpmn(JobOutcome::bpmn_error(code, Some(message)))),
                None => {
                    let _ = status;
                    Err(Failure::Retry(message))
                }
            }
        }
    }
}

/// Creates the Job unless this attempt's Job exists; replaces a Job an
/// earlier attempt of this task left behind.
async fn start(t: &Target, client: &kube::Client, doc: Value, key: &str) -> Result<(), Failure> {
    let api = t.api(client);
    if let Some(existing) = api
        .get_opt(&t.name)
        .await
        .map_err(|e| K8sError::of(t.call("get"), e))?
    {
        let theirs = existing
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(JOB_KEY))
            .cloned();
        match theirs {
            Some(k) if k == key => return Ok(()),
            Some(k) if same_task(&k, key) => {
                let params = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Background),
                    ..DeleteParams::default()
                };
                match api.delete(&t.name, &params).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(K8sError::of(t.call("delete"), e).into()),
                }
                until(t, client, |obj| Ok(obj.is_none())).await?;
            }
            _ => {
                return Err(Failure::Failed(format!(
                    "{}: a Job of this name exists that this task did not make \
                     (annotation {JOB_KEY} {}); rename one of them",
                    t.call("create"),
                    theirs.map_or("absent".into(), |k| format!("'{k}'"))
                )));
            }
        }
    }
    let obj: DynamicObject = serde_json::from_value(doc)
        .map_err(|e| Failure::Failed(format!("{}: {e}", t.call("create"))))?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(()),
        Err(e) => Err(K8sError::of(t.call("create"), e).into()),
    }
}

/// Two job keys (`{instance}/{run}/{node}/{token}/{attempt}`) of one task
/// of one run: all but the attempt agree.
fn same_task(a: &str, b: &str) -> bool {
    match (a.rsplit_once('/'), b.rsplit_once('/')) {
        (Some((a, _)), Some((b, _))) => a == b,
        _ => false,
    }
}

/// Waits until the Job has condition `Complete` or `Failed`.
async fn wait_end(t: &Target, client: &kube::Client) -> Result<End, Failure> {
    let mut end = None;
    until(t, client, |obj| {
        let Some(obj) = obj else {
            end = Some(End::Failed(
                Value::Null,
                "it was deleted before it finished".into(),
            ));
            return Ok(true);
        };
        let status = obj.data.get("status").cloned().unwrap_or(Value::Null);
        let condition = |kind: &str| {
            status
                .get("conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter().find(|c| {
                        c.get("type").and_then(Value::as_str) == Some(kind)
                            && c.get("status").and_then(Value::as_str) == Some("True")
                    })
                })
                .cloned()
        };
        if condition("Complete").is_some() {
            end = Some(End::Complete(status));
            return Ok(true);
        }
        if let Some(c) = condition("Failed") {
            let why = [c.get("reason"), c.get("message")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(": ");
            end = Some(End::Failed(status, why));
            return Ok(true);
        }
        Ok(false)
    })
    .await?;
    end.ok_or_else(|| Failure::Retry(format!("{}: the watch ended", t.call("watch"))))
}

#[cfg(test)]
mod tests {
    use super::same_task;

    #[test]
    fn attempts_of_one_task_are_told_from_other_tasks() {
        assert!(same_task("i/1/run-job/0/1", "i/1/run-job/0/2"));
        assert!(!same_task("i/1/run-job/0/1", "i/1/other/0/1"));
        assert!(!same_task("x", "y"));
    }
}
