//! The example operator `examples/operators/certificates` end to end on the
//! real test API server (`scripts/k8s-test-env`; skipped without it unless
//! `WINDLASS_REQUIRE_K8S=1`): `windlass operator --processes` on the
//! example folder as it ships, under the windlass ServiceAccount with only
//! `deploy/rbac.yaml` and the example's `rbac.yaml`, reconciling the
//! example's `sample.yaml` and Ingresses made like it.
//!
//! No ACME server is reachable and the API server runs no controllers, so
//! an issuer Job never starts a Pod: the test does the Job's work itself
//! (a self-signed certificate from openssl, stored in the TLS Secret with
//! `kubectl create secret tls … | kubectl apply`, as the Job's `store`
//! container would) and then completes the Job by patching its status
//! (`finish_job`), as the Job controller would.
//!
//! Covered: an Ingress without a TLS entry is left alone; a new Ingress
//! without a certificate gets one (Job, Secret owned by the Ingress, Event
//! `CertificateIssued`, instance completed); a certificate valid for 90
//! days is left alone (no Job); one expiring in a day is renewed; a Job
//! that stored nothing fails the instance with a Warning Event; a burst of
//! changes while a reconcile waits on its Job makes exactly one more
//! reconcile, with the latest change.

mod common;
mod k8s_common;
mod server_common;

use common::text;
use k8s_common::{
    apply, cluster, exists, finish_job, kubectl, operator_as_service_account,
    service_account_kubeconfig, wait_gone, wait_object,
};
use serde_json::Value;
use server_common::ServerProc;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The example folder, deployed as it is.
const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/operators/certificates"
);

/// The example's process id.
const PROCESS: &str = "certificates";

/// The label that opts an Ingress in (the watch's label selector).
const OPT_IN: &str = "example.windlass.io/certificates";

/// Thirty days, the renewal margin of the process, in seconds.
const THIRTY_DAYS: i64 = 30 * 24 * 3600;

/// Deletes the test's opted-in Ingresses when the test ends (passed or
/// not): the namespace stays (a bare API server runs no namespace
/// controller), and the operator of a later run watches every namespace.
struct Leftovers {
    kubeconfig: String,
    ns: String,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let _ = kubectl(
            &self.kubeconfig,
            &[
                "-n",
                &self.ns,
                "delete",
                "ingresses",
                "-l",
                OPT_IN,
                "--wait=false",
            ],
        );
    }
}

/// An opted-in Ingress like the sample's: host `host`, Secret `secret`.
fn ingress(ns: &str, name: &str, host: &str, secret: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  \
         namespace: {ns}\n  labels:\n    {OPT_IN}: acme\nspec:\n  tls:\n  - hosts: [{host}]\n    \
         secretName: {secret}\n  rules:\n  - host: {host}\n    http:\n      paths:\n      \
         - path: /\n        pathType: Prefix\n        backend:\n          service:\n            \
         name: web\n            port:\n              number: 80\n"
    )
}

/// Stores a new self-signed certificate for `host`, valid `days` days, in
/// TLS Secret `secret` of `ns` (made or replaced): what the issuer Job's
/// containers do, with openssl in place of the ACME server.
fn store_certificate(kubeconfig: &str, ns: &str, secret: &str, host: &str, days: u32, dir: &Path) {
    let cert = dir.join(format!("{secret}-{days}.crt"));
    let key = dir.join(format!("{secret}-{days}.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days"])
        .arg(days.to_string())
        .arg("-subj")
        .arg(format!("/CN={host}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{host}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{}", text(&made));
    let doc = kubectl(
        kubeconfig,
        &[
            "-n",
            ns,
            "create",
            "secret",
            "tls",
            secret,
            &format!("--cert={}", cert.display()),
            &format!("--key={}", key.display()),
            "--dry-run=client",
            "-o",
            "yaml",
        ],
    );
    assert!(doc.status.success(), "{}", text(&doc));
    let stored = apply(kubeconfig, &String::from_utf8_lossy(&doc.stdout));
    assert!(stored.status.success(), "{}", text(&stored));
}

/// `kubectl get WHAT -o json` in `ns`.
fn get(kubeconfig: &str, ns: &str, what: &str) -> Value {
    let out = kubectl(kubeconfig, &["-n", ns, "get", what, "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The Events (events.k8s.io) of `ns` about Ingress `name` with `reason`.
fn events(kubeconfig: &str, ns: &str, name: &str, reason: &str) -> Vec<Value> {
    let list = get(kubeconfig, ns, "events.events.k8s.io");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| {
            e["regarding"]["kind"] == "Ingress"
                && e["regarding"]["name"] == name
                && e["reason"] == reason
        })
        .cloned()
        .collect()
}

/// The views (`GET /api/v1/instances/{id}`) of the example's instances
/// for Ingress key `key` (`{namespace}/{name}`), oldest first. The
/// operator watches every namespace, so Ingresses other tests left are
/// reconciled beside these: they are filtered out by key.
async fn instances(op: &ServerProc, key: &str) -> Vec<Value> {
    let (status, list) = op
        .get(&format!(
            "/api/v1/instances?processId={PROCESS}&limit=10000"
        ))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{list}");
    let mut out = Vec::new();
    for item in list["items"].as_array().expect("items") {
        let id = item["id"].as_str().expect("id");
        let (status, view) = op.get(&format!("/api/v1/instances/{id}")).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{view}");
        if view["variables"]["event"]["key"] == key {
            out.push(view);
        }
    }
    out
}

/// Polls [`instances`] until `done` holds (60 s at most).
async fn wait_instances(op: &ServerProc, key: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let views = instances(op, key).await;
        if done(&views) {
            return views;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the instances of {key} never got there: {views:#?}\n{}",
            op.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The one instance of `key` once it finished with `status`.
async fn finished(op: &ServerProc, key: &str, status: &str) -> Value {
    let views = wait_instances(op, key, |v| v.len() == 1 && v[0]["status"] != "running").await;
    assert_eq!(
        views[0]["status"],
        status,
        "{:#}\n{}",
        views[0],
        op.stderr()
    );
    views[0].clone()
}

/// The element ids instance `id` passed through, from its history.
async fn visited(op: &ServerProc, id: &str) -> Vec<String> {
    let (status, history) = op.get(&format!("/api/v1/instances/{id}/history")).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{history}");
    assert!(history["nextAfter"].is_null(), "one page: {history}");
    history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["node"].as_str().map(str::to_string))
        .collect()
}

/// `windlass_dedup_coalesced_total` from `/metrics`: starts queued
/// behind a held dedup key.
async fn coalesced(op: &ServerProc) -> u64 {
    let body = op
        .client()
        .get(format!("{}/metrics", op.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    body.lines()
        .filter(|l| l.starts_with("windlass_dedup_coalesced_total"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// Waits until the Job of Ingress `name` exists and returns it.
fn issuer_job(kubeconfig: &str, ns: &str, name: &str) -> Value {
    wait_object(kubeconfig, ns, &format!("job/issue-{name}"), |_| true)
}

#[tokio::test]
async fn the_certificates_example_issues_renews_and_deduplicates() {
    let Some((kubeconfig, ns)) = cluster("certex") else {
        return;
    };
    let _leftovers = Leftovers {
        kubeconfig: kubeconfig.clone(),
        ns: ns.clone(),
    };
    let dir = tempfile::tempdir().expect("tempdir");

    // The example's RBAC, and the operator under the ServiceAccount it
    // grants: the test fails if rbac.yaml misses a right a task needs.
    let granted = kubectl(
        &kubeconfig,
        &["apply", "-f", &format!("{EXAMPLE}/rbac.yaml")],
    );
    assert!(granted.status.success(), "{}", text(&granted));
    let sa = service_account_kubeconfig(&kubeconfig, &dir.path().join("sa.kubeconfig"));
    let lease = format!("certex-{}", std::process::id());
    let op = operator_as_service_account(dir.path(), &sa, &lease, &ns, &["--processes", EXAMPLE]);
    // It answers once it leads and has deployed the folder.
    let start = Instant::now();
    loop {
        let (status, deployed) = op.get(&format!("/api/v1/definitions/{PROCESS}")).await;
        if status == reqwest::StatusCode::OK {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{PROCESS} was not deployed: {deployed}\n{}",
            op.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A certificate valid for 90 days: nothing to do, no Job, the
    // Secret is left as it is.
    store_certificate(
        &kubeconfig,
        &ns,
        "valid-tls",
        "valid.example.com",
        90,
        dir.path(),
    );
    let applied = apply(
        &kubeconfig,
        &ingress(&ns, "valid", "valid.example.com", "valid-tls"),
    );
    assert!(applied.status.success(), "{}", text(&applied));
    let view = finished(&op, &format!("{ns}/valid"), "completed").await;
    assert!(
        view["variables"]["certificate"]["secondsLeft"].as_i64() > Some(80 * 24 * 3600),
        "{view:#}"
    );
    let nodes = visited(&op, view["id"].as_str().expect("id")).await;
    assert!(nodes.contains(&"still-valid".to_string()), "{nodes:?}");
    assert!(!nodes.contains(&"issue".to_string()), "{nodes:?}");
    assert!(
        !exists(&kubeconfig, &ns, "job/issue-valid"),
        "a Job for a valid certificate"
    );
    let secret = get(&kubeconfig, &ns, "secret/valid-tls");
    assert!(
        secret["metadata"]["ownerReferences"].is_null(),
        "a Secret nobody issued was adopted: {secret:#}"
    );

    // An opted-in Ingress without a TLS entry: nothing to secure.
    let plain = format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: plain\n  \
         namespace: {ns}\n  labels:\n    {OPT_IN}: acme\nspec:\n  defaultBackend:\n    \
         service:\n      name: web\n      port:\n        number: 80\n"
    );
    let applied = apply(&kubeconfig, &plain);
    assert!(applied.status.success(), "{}", text(&applied));
    let view = finished(&op, &format!("{ns}/plain"), "completed").await;
    let nodes = visited(&op, view["id"].as_str().expect("id")).await;
    assert!(nodes.contains(&"no-tls".to_string()), "{nodes:?}");
    assert!(!nodes.contains(&"check".to_string()), "{nodes:?}");

    // The sample as it ships: no Secret yet, so a certificate is
    // issued. The sample's issuer identity may write Secrets.
    let applied = kubectl(
        &kubeconfig,
        &["-n", &ns, "apply", "-f", &format!("{EXAMPLE}/sample.yaml")],
    );
    assert!(applied.status.success(), "{}", text(&applied));
    let can = kubectl(
        &kubeconfig,
        &[
            "-n",
            &ns,
            "auth",
            "can-i",
            "patch",
            "secrets",
            &format!("--as=system:serviceaccount:{ns}:certificate-issuer"),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&can.stdout).trim(),
        "yes",
        "{}",
        text(&can)
    );
    let web = get(&kubeconfig, &ns, "ingress/web");
    let web_uid = web["metadata"]["uid"].as_str().expect("uid").to_string();
    let job = issuer_job(&kubeconfig, &ns, "web");
    // The Job as the process rendered it: owned by the Ingress, its
    // attempt's key on it, the host and Secret passed to its containers.
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["uid"],
        web_uid.as_str(),
        "{job:#}"
    );
    assert!(
        job["metadata"]["annotations"]["windlass.io/job-key"].is_string(),
        "{job:#}"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "certificate-issuer", "{job:#}");
    assert_eq!(
        pod["volumes"][0]["emptyDir"],
        serde_json::json!({}),
        "{job:#}"
    );
    let args = pod["initContainers"][0]["args"].to_string();
    assert!(args.contains("--domains=web.example.com"), "{args}");
    let store = &pod["containers"][0];
    assert_eq!(
        store["env"][0],
        serde_json::json!({"name": "HOST", "value": "web.example.com"})
    );
    assert_eq!(
        store["env"][1],
        serde_json::json!({"name": "SECRET", "value": "web-tls"})
    );
    let script = store["command"][2].as_str().expect("script");
    assert!(
        script.contains("kubectl create secret tls \"$SECRET\"")
            && script.contains("kubectl apply"),
        "{script}"
    );
    // While the Job runs the reconcile waits for it.
    let running = instances(&op, &format!("{ns}/web")).await;
    assert_eq!(running.len(), 1, "{running:#?}");
    assert_eq!(running[0]["status"], "running", "{:#}", running[0]);

    store_certificate(
        &kubeconfig,
        &ns,
        "web-tls",
        "web.example.com",
        90,
        dir.path(),
    );
    finish_job(&kubeconfig, &ns, "issue-web", true);
    let view = finished(&op, &format!("{ns}/web"), "completed").await;
    assert!(view["variables"]["certificate"].is_null(), "{view:#}");
    assert_eq!(
        view["variables"]["issued"]["dnsNames"],
        serde_json::json!(["web.example.com"]),
        "{view:#}"
    );
    let secret = get(&kubeconfig, &ns, "secret/web-tls");
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(owner["uid"], web_uid.as_str(), "{secret:#}");
    assert_eq!(owner["kind"], "Ingress", "{secret:#}");
    assert_eq!(owner["name"], "web", "{secret:#}");
    assert_eq!(owner["controller"], true, "{secret:#}");
    let issued = events(&kubeconfig, &ns, "web", "CertificateIssued");
    assert_eq!(issued.len(), 1, "{issued:#?}");
    assert_eq!(issued[0]["regarding"]["uid"], web_uid.as_str());
    assert_eq!(issued[0]["type"], "Normal");
    let note = issued[0]["note"].as_str().unwrap_or("");
    assert!(
        note.contains("web.example.com") && note.contains("web-tls"),
        "{note}"
    );
    // The finished Job is removed, so the next renewal can run its own.
    wait_gone(&kubeconfig, &ns, "job/issue-web");

    // A certificate expiring tomorrow is renewed.
    store_certificate(
        &kubeconfig,
        &ns,
        "expiring-tls",
        "expiring.example.com",
        1,
        dir.path(),
    );
    let applied = apply(
        &kubeconfig,
        &ingress(&ns, "expiring", "expiring.example.com", "expiring-tls"),
    );
    assert!(applied.status.success(), "{}", text(&applied));
    issuer_job(&kubeconfig, &ns, "expiring");
    store_certificate(
        &kubeconfig,
        &ns,
        "expiring-tls",
        "expiring.example.com",
        90,
        dir.path(),
    );
    finish_job(&kubeconfig, &ns, "issue-expiring", true);
    let view = finished(&op, &format!("{ns}/expiring"), "completed").await;
    let before = view["variables"]["certificate"]["secondsLeft"]
        .as_i64()
        .expect("the old certificate");
    let after = view["variables"]["issued"]["secondsLeft"]
        .as_i64()
        .expect("the new certificate");
    assert!(0 < before && before <= 24 * 3600, "{view:#}");
    assert!(after > THIRTY_DAYS, "{view:#}");
    assert_ne!(
        view["variables"]["certificate"]["serial"], view["variables"]["issued"]["serial"],
        "{view:#}"
    );
    let expiring = get(&kubeconfig, &ns, "ingress/expiring");
    let secret = get(&kubeconfig, &ns, "secret/expiring-tls");
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["uid"], expiring["metadata"]["uid"],
        "{secret:#}"
    );
    assert_eq!(
        events(&kubeconfig, &ns, "expiring", "CertificateIssued").len(),
        1
    );

    // A Job that ends without storing a certificate: the check after it
    // fails the instance and warns on the Ingress; nothing is adopted.
    let applied = apply(
        &kubeconfig,
        &ingress(&ns, "broken", "broken.example.com", "broken-tls"),
    );
    assert!(applied.status.success(), "{}", text(&applied));
    issuer_job(&kubeconfig, &ns, "broken");
    finish_job(&kubeconfig, &ns, "issue-broken", true);
    let view = finished(&op, &format!("{ns}/broken"), "failed").await;
    assert!(view["variables"]["issued"].is_null(), "{view:#}");
    let warned = events(&kubeconfig, &ns, "broken", "CertificateInvalid");
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert_eq!(warned[0]["type"], "Warning");
    assert!(events(&kubeconfig, &ns, "broken", "CertificateIssued").is_empty());

    // Dedup: three changes of an Ingress while its reconcile waits on
    // the issuer Job are coalesced, the latest waiting; when the first
    // reconcile ends exactly one more runs, with the latest change, and
    // finds the certificate valid (no second Job).
    let key = format!("{ns}/busy");
    let applied = apply(
        &kubeconfig,
        &ingress(&ns, "busy", "busy.example.com", "busy-tls"),
    );
    assert!(applied.status.success(), "{}", text(&applied));
    issuer_job(&kubeconfig, &ns, "busy");
    let first = instances(&op, &key).await;
    assert_eq!(first.len(), 1, "{first:#?}");
    let first_id = first[0]["id"].as_str().expect("id").to_string();
    let queued_before = coalesced(&op).await;
    let mut last_version = String::new();
    for n in 1..=3 {
        let changed = kubectl(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "annotate",
                "--overwrite",
                "ingress/busy",
                &format!("example.windlass.io/change={n}"),
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            ],
        );
        assert!(changed.status.success(), "{}", text(&changed));
        last_version = String::from_utf8_lossy(&changed.stdout).trim().to_string();
    }
    assert!(!last_version.is_empty());
    let start = Instant::now();
    while coalesced(&op).await < queued_before + 3 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the three changes were not all queued: {} → {}\n{}",
            queued_before,
            coalesced(&op).await,
            op.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Still one reconcile: the holder of the key (per process id, so
    // `{PROCESS}/{key}`); one start waits.
    let during = instances(&op, &key).await;
    assert_eq!(during.len(), 1, "{during:#?}");
    assert_eq!(during[0]["status"], "running", "{:#}", during[0]);
    let (status, entries) = op.get("/api/v1/dedup").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{entries}");
    let entry = entries
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["key"] == format!("{PROCESS}/{key}").as_str())
        .unwrap_or_else(|| panic!("no dedup entry for {key}: {entries:#}"))
        .clone();
    assert!(
        entry["holder"]
            .as_str()
            .is_some_and(|h| h.starts_with(&format!("{first_id}/"))),
        "{entry:#}"
    );
    assert!(entry["waiting"].is_string(), "{entry:#}");

    store_certificate(
        &kubeconfig,
        &ns,
        "busy-tls",
        "busy.example.com",
        90,
        dir.path(),
    );
    finish_job(&kubeconfig, &ns, "issue-busy", true);
    let both = wait_instances(&op, &key, |v| {
        v.len() >= 2 && v.iter().all(|i| i["status"] == "completed")
    })
    .await;
    assert_eq!(both.len(), 2, "one reconcile per burst: {both:#?}");
    let second = both
        .iter()
        .find(|v| v["id"] != first_id.as_str())
        .expect("the second reconcile");
    assert_eq!(
        second["variables"]["event"]["resourceVersion"],
        last_version.as_str(),
        "the latest change wins: {second:#}"
    );
    let nodes = visited(&op, second["id"].as_str().expect("id")).await;
    assert!(nodes.contains(&"still-valid".to_string()), "{nodes:?}");
    assert!(
        !nodes.contains(&"issue".to_string()),
        "a second Job: {nodes:?}"
    );
    assert_eq!(
        events(&kubeconfig, &ns, "busy", "CertificateIssued").len(),
        1
    );

    assert!(op.stop().success());
}
