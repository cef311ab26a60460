//! `windlass run` with Kubernetes tasks against the real test API server
//! (`scripts/k8s-test-env`; skipped without it unless
//! `WINDLASS_REQUIRE_K8S=1`): standalone mode, the cluster named by
//! `--kubeconfig` and `--context`; `kubectl` checks what the process did.

mod common;

use common::{text, windlass};
use std::process::Command;

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="provision" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="apply"/>
  <serviceTask id="apply" name="Apply the settings of {app}">
    <extensionElements><windlass:task kind="kubernetes.apply">
      <windlass:setting name="namespace" value="{ns}"/>
      <windlass:setting name="manifest" value="apiVersion: v1&#10;kind: ConfigMap&#10;metadata:&#10;  name: {app}-settings&#10;data:&#10;  replicas: &quot;{replicas}&quot;&#10;"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="apply" targetRef="read"/>
  <serviceTask id="read" name="Read them back">
    <extensionElements><windlass:task kind="kubernetes.values">
      <windlass:setting name="namespace" value="{ns}"/>
      <windlass:setting name="name" value="{app}-settings"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f3" sourceRef="read" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

fn kubectl(kubeconfig: &str, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl")
}

/// The test API server's kubeconfig and a new namespace `{prefix}-{pid}`,
/// or `None` (skipped) without a server.
fn cluster_and_namespace(prefix: &str) -> Option<(String, String)> {
    let Some(kubeconfig) = windlass_k8s::test_env::kubeconfig_from_env().expect("test env") else {
        eprintln!("SKIPPED: no test API server (KUBECONFIG)");
        return None;
    };
    let kubeconfig = kubeconfig.to_str().expect("utf-8").to_string();
    let ns = format!("{prefix}-{}", std::process::id());
    let made = kubectl(&kubeconfig, &["create", "namespace", &ns]);
    assert!(made.status.success(), "{}", text(&made));
    Some((kubeconfig, ns))
}

#[test]
fn run_applies_to_the_cluster_of_its_kubeconfig_and_context() {
    let Some((kubeconfig, ns)) = cluster_and_namespace("cli") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let bpmn = dir.path().join("provision.bpmn");
    std::fs::write(&bpmn, PROCESS).expect("write");
    let context = kubectl(&kubeconfig, &["config", "current-context"]);
    let context = String::from_utf8_lossy(&context.stdout).trim().to_string();
    let input = format!(r#"{{"app": "shop", "replicas": 2, "ns": "{ns}"}}"#);
    let out = windlass(&[
        "run",
        bpmn.to_str().expect("utf-8"),
        "--memory",
        "--kubeconfig",
        &kubeconfig,
        "--context",
        &context,
        "--input",
        &input,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = common::json(&out);
    assert_eq!(v["variables"]["values"]["replicas"], "2", "{v}");
    let got = kubectl(
        &kubeconfig,
        &[
            "get",
            "configmap",
            "shop-settings",
            "-n",
            &ns,
            "-o",
            "jsonpath={.data.replicas}",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&got.stdout), "2", "{}", text(&got));

    // A context the kubeconfig does not have: the task's incident says so.
    let out = windlass(&[
        "run",
        bpmn.to_str().expect("utf-8"),
        "--memory",
        "--kubeconfig",
        &kubeconfig,
        "--context",
        "nowhere",
        "--input",
        &input,
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("nowhere"), "{}", text(&out));
}

mod server_common;

/// A process started by every change of a labelled ConfigMap.
fn watched(ns: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<message id="m" name="config-changed"/>
<process id="on-config" isExecutable="true">
  <extensionElements>
    <windlass:kubernetesWatch message="config-changed" apiVersion="v1" kind="ConfigMap"
        namespace="{ns}" labelSelector="app=watched"/>
  </extensionElements>
  <startEvent id="s">
    <extensionElements><windlass:dedup key="{{event.key}}"/></extensionElements>
    <messageEventDefinition messageRef="m"/>
  </startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

#[tokio::test]
async fn the_server_watches_the_sources_of_its_processes() {
    let Some((kubeconfig, ns)) = cluster_and_namespace("srv") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let processes = dir.path().join("processes");
    std::fs::create_dir(&processes).expect("mkdir");
    std::fs::write(processes.join("on-config.bpmn"), watched(&ns)).expect("write");
    let srv = server_common::ServerProc::start(
        &dir.path().join("w.db"),
        &[
            "--processes",
            processes.to_str().expect("utf-8"),
            "--kubeconfig",
            &kubeconfig,
        ],
    );
    let manifest = dir.path().join("cm.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n  namespace: {ns}\n  \
             labels: {{app: watched}}\ndata: {{k: v}}\n"
        ),
    )
    .expect("write");
    let applied = kubectl(
        &kubeconfig,
        &["apply", "-f", manifest.to_str().expect("utf-8")],
    );
    assert!(applied.status.success(), "{}", text(&applied));
    let mut found = None;
    for _ in 0..200 {
        let (status, list) = srv.get("/api/v1/instances?processId=on-config").await;
        assert_eq!(status, reqwest::StatusCode::OK, "{list}");
        if let Some(first) = list["items"].as_array().and_then(|a| a.first()) {
            found = Some(first["id"].as_str().unwrap_or_default().to_string());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let id = found.unwrap_or_else(|| panic!("no instance started: {}", srv.stderr()));
    let view = srv.wait_for(&id, |v| v["status"] == "completed").await;
    assert_eq!(view["variables"]["event"]["key"], format!("{ns}/shop"));
    assert_eq!(view["variables"]["event"]["object"]["data"]["k"], "v");
    assert!(srv.stop().success());
}

/// A shell task given a secret from a Kubernetes Secret.
const SECRET_USER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="urn:t">
<process id="use-secret" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
  <serviceTask id="call" name="Call with the token">
    <extensionElements><windlass:task kind="shell">
      <windlass:setting name="shell" value="sh"/>
      <windlass:setting name="command" value="echo token=$TOKEN"/>
      <windlass:setting name="env.TOKEN" value="secret:api-token"/>
    </windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#;

#[tokio::test]
async fn secrets_come_from_a_watched_kubernetes_secret_and_stay_masked() {
    let Some((kubeconfig, ns)) = cluster_and_namespace("sec") else {
        return;
    };
    let made = kubectl(
        &kubeconfig,
        &[
            "-n",
            &ns,
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=api-token=first-s3cret",
        ],
    );
    assert!(made.status.success(), "{}", text(&made));
    let dir = tempfile::tempdir().expect("tempdir");
    let from = format!("{ns}/creds");

    // A Secret that cannot be read stops the start, naming it.
    let missing = format!("{ns}/nothing");
    let out = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["server", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("x.db"))
        .args(["--kubeconfig", &kubeconfig, "--secrets-from", &missing])
        .output()
        .expect("windlass");
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!("get v1 Secret {ns}/nothing")),
        "{}",
        text(&out)
    );

    let srv = server_common::ServerProc::start(
        &dir.path().join("w.db"),
        &["--kubeconfig", &kubeconfig, "--secrets-from", &from],
    );
    let (status, body) = srv.deploy(SECRET_USER).await;
    assert!(status.is_success(), "{body}");
    let first = settled(&srv, "use-secret").await;
    assert_eq!(first["status"], "completed", "{first:#}");
    assert_eq!(first["variables"]["stdout"], "token=***\n", "{first:#}");

    // Rotated: the next task gets the new value, with no restart.
    let rotated = kubectl(
        &kubeconfig,
        &[
            "-n",
            &ns,
            "patch",
            "secret",
            "creds",
            "--type=merge",
            "-p",
            r#"{"stringData":{"api-token":"second-s3cret"}}"#,
        ],
    );
    assert!(rotated.status.success(), "{}", text(&rotated));
    let mut seen = false;
    for _ in 0..100 {
        let again = settled(&srv, "use-secret").await;
        let id = again["id"].as_str().unwrap_or_default().to_string();
        let (_, history) = srv.get(&format!("/api/v1/instances/{id}/history")).await;
        assert!(!history.to_string().contains("s3cret"), "{history}");
        // The masked output cannot tell the values apart; the shell can.
        if again["variables"]["stdout"] == "token=***\n" && rotated_in_effect(&srv).await {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        seen,
        "the rotated value never reached a task: {}",
        srv.stderr()
    );
    assert!(srv.stop().success());
}

/// Whether tasks get the rotated value now: a process whose shell task
/// fails unless `$TOKEN` is the new one.
async fn rotated_in_effect(srv: &server_common::ServerProc) -> bool {
    let check = SECRET_USER
        .replace("id=\"use-secret\"", "id=\"check-secret\"")
        .replace(
            "echo token=$TOKEN",
            "test &quot;$TOKEN&quot; = second-s3cret",
        );
    let (status, body) = srv.deploy(&check).await;
    assert!(status.is_success(), "{body}");
    settled(srv, "check-secret").await["status"] == "completed"
}

/// Starts an instance of `process` and answers once it settled.
async fn settled(srv: &server_common::ServerProc, process: &str) -> serde_json::Value {
    let (status, started) = srv
        .post(
            "/api/v1/instances",
            serde_json::json!({"processId": process, "wait": "settled"}),
        )
        .await;
    assert!(status.is_success(), "{started}: {}", srv.stderr());
    started
}
