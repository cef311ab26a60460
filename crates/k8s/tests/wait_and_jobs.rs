//! `kubernetes.wait` and `kubernetes.job` against the real API server. The
//! bare API server runs no controllers: no Job controller starts Pods or
//! reports a Job's end, so the test writes the Job's status itself, as
//! the Job controller would (conditions `SuccessCriteriaMet` + `Complete`,
//! or `FailureTarget` + `Failed`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cluster, namespace, run_task};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;
use windlass_store_api::InstanceStatus;

const JOB: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: backup-{db}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: backup
          image: "{image}"
          args: [dump, "{db}"]
"#;

async fn job_appears(api: &Api<Job>, name: &str) -> Job {
    for _ in 0..200 {
        if let Some(job) = api.get_opt(name).await.unwrap() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the Job {name} was never created");
}

/// Writes the Job's end into its status, as the Job controller would.
async fn finish(api: &Api<Job>, name: &str, ok: bool) {
    let now = "2026-12-07T00:00:00Z";
    let status = if ok {
        json!({"status": {
        "startTime": now, "completionTime": now, "succeeded": 1,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
            {"type": "Complete", "status": "True", "lastTransitionTime": now}
        ]}})
    } else {
        json!({"status": {
        "startTime": now, "failed": 1,
        "conditions": [
            {"type": "FailureTarget", "status": "True", "lastTransitionTime": now,
             "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
            {"type": "Failed", "status": "True", "lastTransitionTime": now,
             "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}
        ]}})
    };
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_job_runs_until_it_completes_or_fails() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "jobs").await;
    let jobs = Api::<Job>::namespaced(client.clone(), &ns);
    let settings = [
        ("manifest", JOB),
        ("namespace", ns.as_str()),
        ("resultVariable", "backup"),
    ];
    let run = {
        let client = client.clone();
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::spawn(async move {
            let s: Vec<(&str, &str)> = settings
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            run_task(
                &client,
                "kubernetes.job",
                &s,
                json!({"db": "orders", "image": "postgres:16"}),
            )
            .await
        })
    };
    let job = job_appears(&jobs, "backup-orders").await;
    let key = job
        .metadata
        .annotations
        .unwrap_or_default()
        .get("windlass.io/job-key")
        .cloned()
        .unwrap_or_default();
    assert!(key.ends_with("/0/1"), "the first attempt's job key: {key}");
    let spec = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(spec.containers[0].image.as_deref(), Some("postgres:16"));
    assert_eq!(
        spec.containers[0].args,
        Some(vec!["dump".to_string(), "orders".to_string()])
    );
    finish(&jobs, "backup-orders", true).await;
    let out = run.await.unwrap();
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert_eq!(out.variables["backup"]["succeeded"], 1);

    // A failing Job: the attempt fails with the Job's reason.
    let run = {
        let client = client.clone();
        let ns = ns.clone();
        tokio::spawn(async move {
            run_task(
                &client,
                "kubernetes.job",
                &[("manifest", JOB), ("namespace", &ns)],
                json!({"db": "billing", "image": "postgres:16"}),
            )
            .await
        })
    };
    job_appears(&jobs, "backup-billing").await;
    finish(&jobs, "backup-billing", false).await;
    let out = run.await.unwrap();
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains(&format!(
            "batch/v1 Job {ns}/backup-billing: the Job failed: BackoffLimitExceeded"
        )),
        "{:?}",
        out.incidents
    );
    // A Job of that name that no task made is left alone.
    let out = run_task(
        &client,
        "kubernetes.job",
        &[("manifest", JOB), ("namespace", &ns)],
        json!({"db": "billing", "image": "postgres:16"}),
    )
    .await;
    assert!(
        out.incidents[0].contains("a Job of this name exists that this task did not make"),
        "{:?}",
        out.incidents
    );
}

#[tokio::test]
async fn a_wait_ends_when_its_condition_holds_or_times_out() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "wait").await;
    let run = {
        let client = client.clone();
        let ns = ns.clone();
        tokio::spawn(async move {
            run_task(
                &client,
                "kubernetes.wait",
                &[
                    ("apiVersion", "v1"),
                    ("kind", "ConfigMap"),
                    ("namespace", &ns),
                    ("name", "flag"),
                    ("condition", "object != null && object.data.ready == want"),
                    ("timeout", "PT60S"),
                ],
                json!({"want": "yes"}),
            )
            .await
        })
    };
    let cms = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "flag"}, "data": {"ready": "no"}}))
            .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!run.is_finished(), "not while ready is no");
    cms.patch(
        "flag",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"ready": "yes"}})),
    )
    .await
    .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the wait ends once the condition holds")
        .unwrap();
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert_eq!(out.variables["object"]["data"]["ready"], "yes");

    let out = run_task(
        &client,
        "kubernetes.wait",
        &[
            ("apiVersion", "v1"),
            ("kind", "ConfigMap"),
            ("namespace", &ns),
            ("name", "flag"),
            ("condition", "object.data.ready == 'never'"),
            ("timeout", "PT1S"),
        ],
        json!({}),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0]
            .contains("the condition `object.data.ready == 'never'` did not hold within 1s"),
        "{:?}",
        out.incidents
    );
}
