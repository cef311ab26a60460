//! The Kubernetes job kinds end to end: a process whose task is of a
//! `kubernetes.*` kind runs in a real runtime against the real test API
//! server (kube-apiserver + etcd, `scripts/k8s-test-env`), and the test
//! checks both the instance's variables or incident and the cluster.
//! A bare API server runs no controllers: Jobs start no Pods and nothing is
//! garbage-collected, so the tests complete or fail Jobs by writing their
//! status themselves, as the Job controller would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cluster, namespace, run_task};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};
use std::time::Duration;
use windlass_store_api::InstanceStatus;

const CONFIG_MAP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: "settings-{name}"
  labels: {{app: "{name}", tier: demo}}
data:
  replicas: "{replicas}"
  greeting: "hello {name}"
"#;

async fn config_map(client: &kube::Client, ns: &str, name: &str) -> Option<ConfigMap> {
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .unwrap()
}

#[tokio::test]
async fn apply_get_patch_list_and_delete_a_config_map() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "kinds").await;
    let vars = json!({"name": "orders", "replicas": "3"});
    let out = run_task(
        &client,
        "kubernetes.apply",
        &[
            ("manifest", CONFIG_MAP),
            ("namespace", &ns),
            ("resultVariable", "applied"),
        ],
        vars.clone(),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert_eq!(out.variables["applied"]["data"]["greeting"], "hello orders");
    assert!(
        out.variables["applied"]["metadata"]
            .get("managedFields")
            .is_none()
    );
    let cm = config_map(&client, &ns, "settings-orders").await.unwrap();
    assert_eq!(
        cm.data.unwrap().get("replicas").map(String::as_str),
        Some("3")
    );
    // Applying again is idempotent.
    let again = run_task(
        &client,
        "kubernetes.apply",
        &[("manifest", CONFIG_MAP), ("namespace", &ns)],
        vars,
    )
    .await;
    assert_eq!(
        again.status,
        InstanceStatus::Completed,
        "{:?}",
        again.incidents
    );

    let address = [
        ("apiVersion", "v1"),
        ("kind", "ConfigMap"),
        ("namespace", ns.as_str()),
        ("name", "settings-orders"),
    ];
    let out = run_task(&client, "kubernetes.get", &address, json!({})).await;
    assert_eq!(
        out.variables["object"]["metadata"]["labels"]["app"],
        "orders"
    );

    let mut patch = address.to_vec();
    patch.push(("patch", r#"{{"data": {{"greeting": "{text}"}}}}"#));
    let out = run_task(&client, "kubernetes.patch", &patch, json!({"text": "hi"})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let cm = config_map(&client, &ns, "settings-orders").await.unwrap();
    assert_eq!(
        cm.data.unwrap().get("greeting").map(String::as_str),
        Some("hi")
    );
    let mut json_patch = address.to_vec();
    json_patch.push(("patchType", "json"));
    json_patch.push((
        "patch",
        r#"[{{"op": "add", "path": "/data/extra", "value": "x"}}]"#,
    ));
    let out = run_task(&client, "kubernetes.patch", &json_patch, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);

    let out = run_task(
        &client,
        "kubernetes.list",
        &[
            ("apiVersion", "v1"),
            ("kind", "ConfigMap"),
            ("namespace", &ns),
            ("labelSelector", "tier=demo"),
        ],
        json!({}),
    )
    .await;
    let items = out.variables["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["data"]["extra"], "x");

    let mut delete = address.to_vec();
    delete.push(("wait", "true"));
    let out = run_task(&client, "kubernetes.delete", &delete, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert!(config_map(&client, &ns, "settings-orders").await.is_none());
    // Deleting what is gone is fine; getting it is not, unless optional.
    let out = run_task(&client, "kubernetes.delete", &address, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let out = run_task(&client, "kubernetes.get", &address, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains(&format!("get v1 ConfigMap {ns}/settings-orders: not found")),
        "{:?}",
        out.incidents
    );
    let mut optional = address.to_vec();
    optional.push(("optional", "true"));
    let out = run_task(&client, "kubernetes.get", &optional, json!({})).await;
    assert_eq!(out.variables["object"], Value::Null);
}

#[tokio::test]
async fn bad_manifests_are_refused_naming_the_setting_and_the_place() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "bad").await;
    let out = run_task(
        &client,
        "kubernetes.apply",
        &[("manifest", CONFIG_MAP), ("namespace", &ns)],
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains("setting 'manifest'")
            && out.incidents[0].contains("data.replicas")
            && out.incidents[0].contains("{replicas}"),
        "{:?}",
        out.incidents
    );
    let out = run_task(
        &client,
        "kubernetes.apply",
        &[("manifest", "kind: ConfigMap\nmetadata: {{name: x}}\n")],
        json!({}),
    )
    .await;
    assert!(
        out.incidents[0].contains("document 1 has no apiVersion"),
        "{:?}",
        out.incidents
    );
    let out = run_task(
        &client,
        "kubernetes.apply",
        &[(
            "manifest",
            "apiVersion: nope.example/v1\nkind: Thing\nmetadata: {{name: x}}\n",
        )],
        json!({}),
    )
    .await;
    assert!(
        out.incidents[0].contains("nope.example/v1 Thing: the API server serves no such resource"),
        "{:?}",
        out.incidents
    );
    let out = run_task(
        &client,
        "kubernetes.values",
        &[("kind", "Secret"), ("name", "x"), ("resultVariable", "db")],
        json!({}),
    )
    .await;
    assert!(
        out.incidents[0].contains("setting 'resultVariable'")
            && out.incidents[0].contains("'db' is not a secret name"),
        "{:?}",
        out.incidents
    );
}

/// A Secret's values go into a variable under a secret name, decoded, for
/// the next task to use; objects read with `kubernetes.get` keep a
/// Secret's keys but not its values.
#[tokio::test]
async fn a_secrets_values_reach_a_secret_variable_and_nothing_else() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "secretvalues").await;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "db-credentials"},
        "stringData": {"username": "ada", "password": "hunter2"},
        // Not UTF-8: left out unless asked for.
        "data": {"blob": "/w=="}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();

    // The Secret's address, with more settings.
    let address = [
        ("kind", "Secret"),
        ("name", "db-credentials"),
        ("namespace", ns.as_str()),
    ];
    let with = |more: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        address.iter().chain(more).copied().collect()
    };
    let read = with(&[("resultVariable", "dbSecret")]);
    let out = run_task(&client, "kubernetes.values", &read, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert_eq!(
        out.variables["dbSecret"],
        json!({"username": "ada", "password": "hunter2"})
    );

    // The default variable is `secret`; `keys` picks, and a picked value
    // that is not text fails naming the key, never the value.
    let picked = with(&[("keys", "password")]);
    let out = run_task(&client, "kubernetes.values", &picked, json!({})).await;
    assert_eq!(out.variables["secret"], json!({"password": "hunter2"}));
    let not_text = with(&[("keys", "password,blob")]);
    let out = run_task(&client, "kubernetes.values", &not_text, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains(&format!(
            "get v1 Secret {ns}/db-credentials: the value of key 'blob' is not UTF-8 text"
        )),
        "{:?}",
        out.incidents
    );

    // A value the next task uses: a ConfigMap built from the password.
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: dsn}}\n\
                    data: {{dsn: \"postgres://{dbSecret.username}:{dbSecret.password}@db\"}}\n";
    let apply = [("namespace", ns.as_str()), ("manifest", manifest)];
    let xml = common::tasks_in_a_row(&[("kubernetes.values", &read), ("kubernetes.apply", &apply)]);
    let out = common::run_process(
        windlass_k8s::LazyClient::of(client.clone()),
        &xml,
        json!({}),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let cm = config_map(&client, &ns, "dsn").await.unwrap();
    assert_eq!(
        cm.data.unwrap().get("dsn").map(String::as_str),
        Some("postgres://ada:hunter2@db")
    );

    // `kubernetes.get` of the Secret: keys, no values.
    let out = run_task(
        &client,
        "kubernetes.get",
        &[
            ("apiVersion", "v1"),
            ("kind", "Secret"),
            ("name", "db-credentials"),
            ("namespace", &ns),
        ],
        json!({}),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let data = &out.variables["object"]["data"];
    assert_eq!(data["password"], windlass_engine::secret_names::MASK);
    assert_eq!(data["username"], windlass_engine::secret_names::MASK);
    assert_eq!(data["blob"], windlass_engine::secret_names::MASK);
    let all = serde_json::to_string(&out.variables).unwrap();
    // Neither the value nor its base64 form.
    assert!(
        !all.contains("hunter2") && !all.contains("aHVudGVyMg"),
        "{all}"
    );
}

/// A custom resource with a status subresource, installed once per test.
async fn install_gizmos(client: &kube::Client) {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "gizmos.kinds.windlass.test"},
        "spec": {
            "group": "kinds.windlass.test",
            "names": {"kind": "Gizmo", "plural": "gizmos", "singular": "gizmo"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}}
            }]
        }
    }))
    .unwrap();
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let params = PatchParams::apply("windlass-tests").force();
    api.patch("gizmos.kinds.windlass.test", &params, &Patch::Apply(&crd))
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(
            api,
            "gizmos.kinds.windlass.test",
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
}

#[tokio::test]
async fn status_finalizers_owners_and_events_on_a_custom_resource() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    install_gizmos(&client).await;
    let ns = namespace(&client, "gizmo").await;
    let gizmo = r#"{{"apiVersion": "kinds.windlass.test/v1", "kind": "Gizmo",
                    "metadata": {{"name": "{name}"}}, "spec": {{"size": {size}}}}}"#;
    let out = run_task(
        &client,
        "kubernetes.apply",
        &[("manifest", gizmo), ("namespace", &ns)],
        json!({"name": "g1", "size": 3}),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let address = [
        ("apiVersion", "kinds.windlass.test/v1"),
        ("kind", "Gizmo"),
        ("namespace", ns.as_str()),
        ("name", "g1"),
    ];
    let mut status = address.to_vec();
    status.push(("status", r#"{{"phase": "Ready", "size": {size}}}"#));
    let out = run_task(&client, "kubernetes.status", &status, json!({"size": 3})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &kube::discovery::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("kinds.windlass.test", "v1", "Gizmo"),
            "gizmos",
        ),
    );
    let g = api.get("g1").await.unwrap();
    assert_eq!(g.data["status"], json!({"phase": "Ready", "size": 3}));
    assert_eq!(
        g.data["spec"]["size"], 3,
        "a sole placeholder keeps its type"
    );

    let mut finalizer = address.to_vec();
    finalizer.push(("finalizer", "windlass.io/snapshot"));
    for _ in 0..2 {
        let out = run_task(&client, "kubernetes.finalizer", &finalizer, json!({})).await;
        assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    }
    let g = api.get("g1").await.unwrap();
    assert_eq!(
        g.metadata.finalizers,
        Some(vec!["windlass.io/snapshot".to_string()]),
        "added once"
    );
    // Delete: the finalizer holds the object until it is removed.
    let mut delete = address.to_vec();
    delete.push(("wait", "true"));
    delete.push(("timeout", "PT1S"));
    let out = run_task(&client, "kubernetes.delete", &delete, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Incident);
    assert!(
        out.incidents[0].contains("finalizers pending"),
        "{:?}",
        out.incidents
    );
    assert!(
        api.get("g1")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );

    // A ConfigMap owned by the gizmo; an event on the gizmo.
    let cm = r#"{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "g1-data"}}}}"#;
    let out = run_task(
        &client,
        "kubernetes.apply",
        &[
            ("manifest", cm),
            ("namespace", &ns),
            ("ownerApiVersion", "kinds.windlass.test/v1"),
            ("ownerKind", "Gizmo"),
            ("ownerName", "g1"),
        ],
        json!({}),
    )
    .await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let owners = config_map(&client, &ns, "g1-data")
        .await
        .unwrap()
        .metadata
        .owner_references
        .unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].uid, g.metadata.uid.clone().unwrap());
    assert_eq!(owners[0].controller, Some(true));

    let mut event = address.to_vec();
    event.push(("reason", "SnapshotTaken"));
    event.push(("note", "snapshot of {name} done"));
    event.push(("type", "Normal"));
    let out = run_task(&client, "kubernetes.event", &event, json!({"name": "g1"})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), &ns);
    let list = events.list(&Default::default()).await.unwrap();
    let found = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("SnapshotTaken"))
        .expect("the event");
    assert_eq!(found.note.as_deref(), Some("snapshot of g1 done"));
    assert_eq!(
        found.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("g1")
    );

    // Removing the finalizer lets the deletion finish.
    finalizer.push(("action", "remove"));
    let out = run_task(&client, "kubernetes.finalizer", &finalizer, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    delete.retain(|(k, _)| *k != "timeout");
    let out = run_task(&client, "kubernetes.delete", &delete, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert!(api.get_opt("g1").await.unwrap().is_none());
    // Removing a finalizer from what is gone is fine.
    let out = run_task(&client, "kubernetes.finalizer", &finalizer, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
}

#[tokio::test]
async fn values_of_a_config_map_become_variables() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "values").await;
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "app"},
        "data": {"url": "http://db:5432", "mode": "fast"}
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let out = run_task(
        &client,
        "kubernetes.values",
        &[("name", "app"), ("namespace", &ns), ("keys", "url")],
        json!({}),
    )
    .await;
    assert_eq!(out.variables["values"], json!({"url": "http://db:5432"}));
    let out = run_task(
        &client,
        "kubernetes.values",
        &[
            ("name", "app"),
            ("namespace", &ns),
            ("keys", "url, missing"),
        ],
        json!({}),
    )
    .await;
    assert!(
        out.incidents[0].contains("no key 'missing'"),
        "{:?}",
        out.incidents
    );
}
