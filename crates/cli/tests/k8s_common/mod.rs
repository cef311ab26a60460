//! Helpers of the end-to-end tests of `windlass operator` on the real
//! test API server (`scripts/k8s-test-env`): kubectl, a namespace per test
//! with the operator's manifests applied, ProcessDefinitions, polling.

#![allow(dead_code)] // each test file uses its own subset

use super::common::text;
use super::server_common::ServerProc;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `kubectl --kubeconfig KUBECONFIG ARGS…`.
pub fn kubectl(kubeconfig: &str, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl")
}

/// `kubectl apply -f -` of `yaml`.
pub fn apply(kubeconfig: &str, yaml: &str) -> std::process::Output {
    let mut child = Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig, "apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write");
    child.wait_with_output().expect("kubectl")
}

/// The test API server's kubeconfig and a new namespace `{prefix}-{pid}`,
/// with the operator's manifests applied; `None` (skipped) without one.
pub fn cluster(prefix: &str) -> Option<(String, String)> {
    let Some(kubeconfig) = windlass_k8s::test_env::kubeconfig_from_env().expect("test env") else {
        eprintln!("SKIPPED: no test API server (KUBECONFIG)");
        return None;
    };
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_string();
    let ns = format!("{prefix}-{}", std::process::id());
    let made = kubectl(&kubeconfig, &["create", "namespace", &ns]);
    assert!(made.status.success(), "{}", text(&made));
    let manifests = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["operator", "--print-manifests"])
        .output()
        .expect("windlass");
    assert!(manifests.status.success(), "{}", text(&manifests));
    // Tests running at once apply the same cluster-wide objects: on a new
    // API server their first creates race (AlreadyExists, Conflict), which
    // the next try finds done.
    let manifests = String::from_utf8_lossy(&manifests.stdout).to_string();
    let mut applied = apply(&kubeconfig, &manifests);
    for _ in 0..10 {
        if applied.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        applied = apply(&kubeconfig, &manifests);
    }
    assert!(applied.status.success(), "{}", text(&applied));
    let ready = kubectl(
        &kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "crd/processdefinitions.windlass.io",
            "--timeout=30s",
        ],
    );
    assert!(ready.status.success(), "{}", text(&ready));
    Some((kubeconfig, ns))
}

/// A ProcessDefinition named `name` in `ns` holding `bpmn`.
pub fn definition(ns: &str, name: &str, bpmn: &str) -> String {
    let doc = serde_json::json!({
        "apiVersion": "windlass.io/v1alpha1",
        "kind": "ProcessDefinition",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"bpmn": bpmn},
    });
    doc.to_string()
}

/// Polls `kubectl get -o json` until `done` holds (30 s at most).
pub fn wait_object(
    kubeconfig: &str,
    ns: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        let out = kubectl(kubeconfig, &["-n", ns, "get", what, "-o", "json"]);
        if out.status.success() {
            last = serde_json::from_slice(&out.stdout).expect("json");
            if done(&last) {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} in {ns} never got there: {last:#}");
}

/// Ends Job `name` in `ns` as the Job controller would (a bare API server
/// runs none): conditions `SuccessCriteriaMet` + `Complete` when
/// `succeeded`, else `FailureTarget` + `Failed`. Waits for the Job to
/// exist first (30 s at most).
pub fn finish_job(kubeconfig: &str, ns: &str, name: &str, succeeded: bool) {
    wait_object(kubeconfig, ns, &format!("job/{name}"), |_| true);
    let now = chrono_now();
    let status = if succeeded {
        serde_json::json!({"status": {
        "startTime": now, "completionTime": now, "succeeded": 1,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
            {"type": "Complete", "status": "True", "lastTransitionTime": now}
        ]}})
    } else {
        serde_json::json!({"status": {
        "startTime": now, "failed": 1,
        "conditions": [
            {"type": "FailureTarget", "status": "True", "lastTransitionTime": now,
             "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
            {"type": "Failed", "status": "True", "lastTransitionTime": now,
             "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}
        ]}})
    };
    let out = kubectl(
        kubeconfig,
        &[
            "-n",
            ns,
            "patch",
            "job",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// Now, RFC 3339 in UTC, whole seconds.
fn chrono_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether `kubectl get WHAT` in `ns` finds it.
pub fn exists(kubeconfig: &str, ns: &str, what: &str) -> bool {
    kubectl(kubeconfig, &["-n", ns, "get", what])
        .status
        .success()
}

/// Waits until `kubectl get WHAT` in `ns` finds nothing (30 s at most).
pub fn wait_gone(kubeconfig: &str, ns: &str, what: &str) {
    for _ in 0..300 {
        if !exists(kubeconfig, ns, what) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} in {ns} is still there");
}

/// A copy of `kubeconfig` whose context `windlass` is the operator's
/// ServiceAccount from `deploy/rbac.yaml` (its token from the API server).
pub fn service_account_kubeconfig(kubeconfig: &str, out: &Path) -> String {
    let token = kubectl(
        kubeconfig,
        &[
            "-n",
            "windlass-system",
            "create",
            "token",
            "windlass",
            "--duration=1h",
        ],
    );
    assert!(token.status.success(), "{}", text(&token));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    std::fs::copy(kubeconfig, out).expect("copy kubeconfig");
    let copy = out.to_str().expect("utf-8").to_string();
    let cluster = kubectl(
        &copy,
        &["config", "view", "-o", "jsonpath={.clusters[0].name}"],
    );
    let cluster = String::from_utf8_lossy(&cluster.stdout).trim().to_string();
    for args in [
        vec![
            "config",
            "set-credentials",
            "windlass",
            &format!("--token={token}"),
        ],
        vec![
            "config",
            "set-context",
            "windlass",
            &format!("--cluster={cluster}"),
            "--user=windlass",
        ],
    ] {
        let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
        let done = kubectl(&copy, &args);
        assert!(done.status.success(), "{}", text(&done));
    }
    copy
}

/// Starts `windlass operator` on a new SQLite file in `dir` as the
/// context `windlass` of `kubeconfig` (see [`service_account_kubeconfig`]),
/// electing on Lease `windlass-system/{lease}` and deploying the
/// ProcessDefinitions of `ns`, with `extra` arguments.
pub fn operator_as_service_account(
    dir: &Path,
    kubeconfig: &str,
    lease: &str,
    ns: &str,
    extra: &[&str],
) -> ServerProc {
    let mut args = vec![
        "--kubeconfig",
        kubeconfig,
        "--context",
        "windlass",
        "--lease-namespace",
        "windlass-system",
        "--lease-name",
        lease,
        "--definitions-namespace",
        ns,
    ];
    args.extend_from_slice(extra);
    ServerProc::start_operator(&dir.join("w.db"), "op", &args)
}
