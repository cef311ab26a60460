//! `windlass operator` against the real test API server
//! (`scripts/k8s-test-env`; skipped without it unless
//! `WINDLASS_REQUIRE_K8S=1`): the manifests of `--print-manifests` apply,
//! their least-privilege RBAC is enough for the operator's own work, a
//! `ProcessDefinition` is deployed and its status written, and two
//! replicas elect a leader on a Lease: when the leader is killed the
//! standby takes over and no reconcile is lost or run twice; a graceful
//! shutdown hands over; a leader paused past its Lease is fenced by the
//! database (the new holder waits for it) and stops when it resumes.
//!
//! The API server runs no controllers (no Pods); the operator replicas are
//! real processes on this machine sharing one SQLite file, as two pods
//! would share a PostgreSQL database.

mod common;
mod k8s_common;
mod server_common;

use common::text;
use k8s_common::{
    apply, cluster, definition, kubectl, operator_as_service_account, service_account_kubeconfig,
    wait_object,
};
use server_common::ServerProc;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SIMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="hello" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

/// A task without a way to run: deploying it is refused, naming it.
const INVALID: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="broken" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/>
  </process>
</definitions>"#;

#[tokio::test]
async fn process_definitions_deploy_under_the_least_privilege_rbac() {
    let Some((kubeconfig, ns)) = cluster("op") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sa = service_account_kubeconfig(&kubeconfig, &dir.path().join("sa.kubeconfig"));
    let lease = format!("rbac-{}", std::process::id());
    let op = operator_as_service_account(dir.path(), &sa, &lease, &ns, &[]);
    let applied = apply(&kubeconfig, &definition(&ns, "hello", SIMPLE));
    assert!(applied.status.success(), "{}", text(&applied));
    let pd = wait_object(&kubeconfig, &ns, "processdefinition/hello", |v| {
        v["status"]["conditions"][0]["status"] == "True"
    });
    assert_eq!(pd["status"]["processes"][0]["id"], "hello", "{pd:#}");
    assert_eq!(pd["status"]["processes"][0]["version"], 1, "{pd:#}");
    assert_eq!(pd["status"]["conditions"][0]["reason"], "Deployed");
    let (status, started) = op
        .post(
            "/api/v1/instances",
            serde_json::json!({"processId": "hello"}),
        )
        .await;
    assert!(status.is_success(), "{started}: {}", op.stderr());

    let applied = apply(&kubeconfig, &definition(&ns, "broken", INVALID));
    assert!(applied.status.success(), "{}", text(&applied));
    let pd = wait_object(&kubeconfig, &ns, "processdefinition/broken", |v| {
        v["status"]["conditions"][0]["status"] == "False"
    });
    assert_eq!(pd["status"]["conditions"][0]["reason"], "Invalid", "{pd:#}");
    let problems = pd["status"]["problems"].to_string();
    assert!(problems.contains("nowhere"), "{problems}");

    // The leader named itself and its address on the Lease; a graceful
    // stop releases it.
    let held = kubectl(
        &kubeconfig,
        &[
            "-n",
            "windlass-system",
            "get",
            "lease",
            &lease,
            "-o",
            "json",
        ],
    );
    let held: serde_json::Value = serde_json::from_slice(&held.stdout).expect("lease");
    let announced = held["metadata"]["annotations"]["windlass.io/leader-address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(announced.ends_with(&op.url), "{held:#}");
    assert!(op.stop().success());
    let released = kubectl(
        &kubeconfig,
        &[
            "-n",
            "windlass-system",
            "get",
            "lease",
            &lease,
            "-o",
            "json",
        ],
    );
    let released: serde_json::Value = serde_json::from_slice(&released.stdout).expect("lease");
    assert!(
        released["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{released:#}"
    );
}

/// Reconciles each labelled ConfigMap once: writes `done-{name}`.
fn reconciler(ns: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<message id="m" name="source-changed"/>
<process id="reconcile" isExecutable="true">
  <extensionElements>
    <windlass:kubernetesWatch message="source-changed" apiVersion="v1" kind="ConfigMap"
        namespace="{ns}" labelSelector="role=source"/>
  </extensionElements>
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{{event.key}}"/></extensionElements>
    <messageEventDefinition messageRef="m"/>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="mark"/>
  <serviceTask id="mark" name="Mark {{event.name}} done">
    <extensionElements><windlass:task kind="kubernetes.apply">
      <windlass:setting name="namespace" value="{ns}"/>
      <windlass:setting name="manifest" value="apiVersion: v1&#10;kind: ConfigMap&#10;metadata:&#10;  name: done-{{event.name}}&#10;data:&#10;  source: &quot;{{event.resourceVersion}}&quot;&#10;"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="mark" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

fn create_sources(kubeconfig: &str, ns: &str, range: std::ops::Range<usize>) {
    let mut yaml = String::new();
    for i in range {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: src-{i}\n  namespace: {ns}\n  \
             labels: {{role: source}}\ndata: {{n: \"{i}\"}}\n"
        ));
    }
    let applied = apply(kubeconfig, &yaml);
    assert!(applied.status.success(), "{}", text(&applied));
}

/// The names of the `done-*` ConfigMaps in `ns`.
fn done_maps(kubeconfig: &str, ns: &str) -> Vec<String> {
    let out = kubectl(
        kubeconfig,
        &[
            "-n",
            ns,
            "get",
            "configmaps",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|n| n.starts_with("done-"))
        .map(str::to_string)
        .collect()
}

/// Whether `n` objects were reconciled within 60 s.
fn done_within(kubeconfig: &str, ns: &str, n: usize) -> bool {
    for _ in 0..600 {
        if done_maps(kubeconfig, ns).len() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn wait_done(kubeconfig: &str, ns: &str, n: usize, log: &dyn Fn() -> String) {
    if !done_within(kubeconfig, ns, n) {
        panic!(
            "only {:?} of {n} reconciled: {}",
            done_maps(kubeconfig, ns),
            log()
        );
    }
}

/// The object key of every `reconcile` instance, sorted, once each has
/// completed.
async fn reconciled_keys(srv: &ServerProc) -> Vec<String> {
    let (status, list) = srv
        .get("/api/v1/instances?processId=reconcile&limit=100")
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items").clone();
    let mut keys = Vec::new();
    for item in &items {
        let id = item["id"].as_str().expect("id");
        let view = srv.wait_for(id, |v| v["status"] == "completed").await;
        let key = view["variables"]["event"]["key"].as_str().unwrap_or("");
        keys.push(key.to_string());
    }
    keys.sort();
    keys
}

/// Replica `name` of an operator on `db` (the admin `kubeconfig`),
/// electing on Lease `windlass-system/{lease}` of `seconds`, deploying the
/// ProcessDefinitions of `ns`.
fn replica(
    db: &Path,
    kubeconfig: &str,
    lease: &str,
    seconds: u64,
    ns: &str,
    name: &str,
) -> ServerProc {
    let seconds = seconds.to_string();
    ServerProc::start_operator(
        db,
        name,
        &[
            "--kubeconfig",
            kubeconfig,
            "--lease-namespace",
            "windlass-system",
            "--lease-name",
            lease,
            "--election-seconds",
            &seconds,
            "--identity",
            name,
            "--definitions-namespace",
            ns,
        ],
    )
}

/// The Lease's holder.
fn holder(kubeconfig: &str, lease: &str) -> String {
    let out = kubectl(
        kubeconfig,
        &[
            "-n",
            "windlass-system",
            "get",
            "lease",
            lease,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// How long until `who` holds the Lease (60 s at most).
fn until_held_by(kubeconfig: &str, lease: &str, who: &str) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if holder(kubeconfig, lease) == who {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{who} never took the Lease {lease}");
}

#[tokio::test]
async fn a_standby_takes_over_and_no_reconcile_is_lost_or_run_twice() {
    let Some((kubeconfig, ns)) = cluster("failover") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let lease = format!("failover-{}", std::process::id());
    let seconds = 3;
    let replica = |name: &str| replica(&db, &kubeconfig, &lease, seconds, &ns, name);
    let a = replica("a");
    until_held_by(&kubeconfig, &lease, "a");
    let b = replica("b");
    let applied = apply(&kubeconfig, &definition(&ns, "reconcile", &reconciler(&ns)));
    assert!(applied.status.success(), "{}", text(&applied));
    wait_object(&kubeconfig, &ns, "processdefinition/reconcile", |v| {
        v["status"]["conditions"][0]["status"] == "True"
    });
    create_sources(&kubeconfig, &ns, 0..10);
    wait_done(&kubeconfig, &ns, 10, &|| a.stderr());

    // The standby forwards API calls to the leader.
    let (status, list) = b.get("/api/v1/instances?processId=reconcile").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{list}");

    // Kill the leader; changes made while nobody leads are reconciled by
    // the new leader.
    let killed = Command::new("kill")
        .args(["-KILL", &a.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    create_sources(&kubeconfig, &ns, 10..20);
    let took = until_held_by(&kubeconfig, &lease, "b");
    eprintln!("the standby took the Lease {took:?} after the leader was killed");
    // Within the lease, plus the election's retry jitter (up to 1 s).
    assert!(
        took <= Duration::from_secs(seconds + 2),
        "took over after {took:?}"
    );
    wait_done(&kubeconfig, &ns, 20, &|| b.stderr());

    // Exactly one instance per object, each completed.
    let keys = reconciled_keys(&b).await;
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(keys.len(), 20, "instances: {keys:?}\n{}", b.stderr());
    assert_eq!(unique.len(), 20, "an object reconciled twice: {keys:?}");

    // A graceful stop hands the Lease over at once.
    let c = replica("c");
    let stopping = Instant::now();
    assert!(b.stop().success());
    until_held_by(&kubeconfig, &lease, "c");
    let took = stopping.elapsed();
    eprintln!("after a graceful stop the standby led within {took:?}");
    assert!(
        took <= Duration::from_secs(seconds + 2),
        "took over after {took:?}"
    );
    create_sources(&kubeconfig, &ns, 20..21);
    wait_done(&kubeconfig, &ns, 21, &|| c.stderr());
    assert!(c.stop().success());
}

#[tokio::test]
async fn a_stalled_leader_is_fenced_by_the_database() {
    let Some((kubeconfig, ns)) = cluster("fence") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let lease = format!("fence-{}", std::process::id());
    let replica = |name: &str| replica(&db, &kubeconfig, &lease, 2, &ns, name);
    let a = replica("a");
    until_held_by(&kubeconfig, &lease, "a");
    let b = replica("b");
    let applied = apply(&kubeconfig, &definition(&ns, "reconcile", &reconciler(&ns)));
    assert!(applied.status.success(), "{}", text(&applied));
    create_sources(&kubeconfig, &ns, 0..5);
    wait_done(&kubeconfig, &ns, 5, &|| a.stderr());

    // Paused past its Lease, the leader still holds the database: the new
    // Lease holder waits for it instead of writing beside it.
    a.signal("STOP");
    create_sources(&kubeconfig, &ns, 5..10);
    until_held_by(&kubeconfig, &lease, "b");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !b.stderr().contains("recovered"),
        "the new leader opened the database the old one still held: {}",
        b.stderr()
    );

    // Resumed, the old leader finds the Lease lost and stops; the new one
    // opens the database and reconciles what changed meanwhile. (The old
    // leader may deliver some of those changes as it stops: their jobs,
    // stopped by its shutdown, stay open for the new leader rather than
    // becoming incidents: `runtime/tests/graceful_shutdown_jobs.rs`.)
    a.signal("CONT");
    let log = a.log.clone();
    let status = a.wait_exit(Duration::from_secs(30));
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!status.success(), "{said}");
    assert!(said.contains("lost the Lease"), "{said}");
    if !done_within(&kubeconfig, &ns, 10) {
        let (_, dump) = b.get("/api/v1/dump").await;
        panic!(
            "only {:?} of 10 reconciled\nthe new leader's state: {dump:#}\nits log: {}\nthe old \
             leader's log: {said}",
            done_maps(&kubeconfig, &ns),
            b.stderr()
        );
    }
    let mut keys = reconciled_keys(&b).await;
    let count = keys.len();
    keys.dedup();
    assert_eq!((count, keys.len()), (10, 10), "{keys:?}");
    assert!(b.stop().success());
}
