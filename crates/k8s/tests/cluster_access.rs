//! Reaching the cluster: standalone mode with a kubeconfig file and a
//! context (the context's namespace is the default one), a context that
//! does not exist, and an identity without permission: the task's
//! incident names the verb, the resource, the namespace and the RBAC
//! permission that is missing. The identity is a ServiceAccount whose
//! token the test requests from the real API server (TokenRequest).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cluster, namespace, one_task, run_process};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use std::path::Path;
use windlass_k8s::{ClusterOptions, LazyClient};
use windlass_store_api::InstanceStatus;

/// A copy of the test kubeconfig with a context `reader` that uses the
/// token of ServiceAccount `reader` in `ns`, `ns` its namespace.
async fn reader_kubeconfig(admin: &kube::Client, kubeconfig: &Path, ns: &str, out: &Path) {
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "reader"}})).unwrap();
    let accounts = Api::<ServiceAccount>::namespaced(admin.clone(), ns);
    accounts.create(&PostParams::default(), &sa).await.unwrap();
    let request = json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}
    });
    let answer: Value = accounts
        .create_subresource("token", "reader", &PostParams::default(), &request)
        .await
        .unwrap();
    let token = answer["status"]["token"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let mut config: Value = serde_norway::from_str(&text).unwrap();
    let cluster = config["clusters"][0]["name"].as_str().unwrap().to_string();
    config["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "reader", "user": {"token": token}}));
    config["contexts"].as_array_mut().unwrap().push(json!({
        "name": "reader",
        "context": {"cluster": cluster, "user": "reader", "namespace": ns}
    }));
    std::fs::write(out, serde_norway::to_string(&config).unwrap()).unwrap();
}

#[tokio::test]
async fn a_kubeconfig_context_is_used_and_an_rbac_denial_names_the_permission() {
    let Some((kubeconfig, admin)) = cluster().await else {
        return;
    };
    let ns = namespace(&admin, "rbac").await;
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "app"}, "data": {"k": "v"}})).unwrap();
    Api::<ConfigMap>::namespaced(admin.clone(), &ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubeconfig");
    reader_kubeconfig(&admin, &kubeconfig, &ns, &file).await;
    let reader = || {
        LazyClient::new(ClusterOptions {
            kubeconfig: Some(file.clone()),
            context: Some("reader".into()),
        })
    };
    // No namespace setting: the context's namespace.
    let get = one_task(
        "kubernetes.get",
        &[("apiVersion", "v1"), ("kind", "ConfigMap"), ("name", "app")],
    );
    let out = run_process(reader(), &get, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    let want = format!(
        "get v1 ConfigMap {ns}/app: forbidden: the identity needs RBAC permission 'get' on \
         'configmaps' (the core group) in namespace {ns}"
    );
    assert!(out.incidents[0].contains(&want), "{:?}", out.incidents);
    assert!(
        out.incidents[0].contains("system:serviceaccount"),
        "{:?}",
        out.incidents
    );

    // Granted, the same task reads it.
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "read-config"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
    }))
    .unwrap();
    Api::<Role>::namespaced(admin.clone(), &ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "reader-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-config"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(admin.clone(), &ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let mut granted = None;
    for _ in 0..50 {
        let out = run_process(reader(), &get, json!({})).await;
        if out.status == InstanceStatus::Completed {
            granted = Some(out);
            break;
        }
        // The authorizer's cache catches up with the new binding.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = granted.expect("the granted identity reads the ConfigMap");
    assert_eq!(out.variables["object"]["data"]["k"], "v");
}

#[tokio::test]
async fn a_missing_context_is_a_clear_error() {
    let Some((kubeconfig, _)) = cluster().await else {
        return;
    };
    let client = LazyClient::new(ClusterOptions {
        kubeconfig: Some(kubeconfig.clone()),
        context: Some("no-such-context".into()),
    });
    let get = one_task(
        "kubernetes.get",
        &[("apiVersion", "v1"), ("kind", "ConfigMap"), ("name", "x")],
    );
    let out = run_process(client, &get, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    let text = &out.incidents[0];
    assert!(
        text.contains(&format!("cannot use kubeconfig {}", kubeconfig.display()))
            && text.contains("no-such-context"),
        "{text}"
    );
}
