//! The database example operator (`examples/operators/database/`) end to
//! end on the real test API server, run as its README says: `windlass
//! operator --processes examples/operators/database` under the
//! ServiceAccount of `deploy/rbac.yaml` plus the example's `rbac.yaml`
//! (so the test also proves those grants are enough).
//!
//! Lifecycle: `sample.yaml` applied → backups PVC, headless Service and
//! StatefulSet owned by the Database, an init Job, then status Ready; a
//! new `spec.image` → an upgrade Job first, then the StatefulSet rolled
//! and the status updated; the nightly schedule triggered now → a backup
//! Job per Database and `status.lastBackup`; `kubectl delete` → the
//! Database stays (finalizer) until its snapshot Job ends, then
//! everything is removed.
//!
//! The bare API server runs no controllers: no Pods run, so the test ends
//! each Job as the Job controller would (`finish_job`), and no
//! garbage collector or PVC-protection controller runs (a deleted PVC
//! keeps its `kubernetes.io/pvc-protection` finalizer: the test checks it
//! is being deleted, not gone).

mod common;
mod k8s_common;
mod server_common;

use common::text;
use k8s_common::{
    cluster, exists, finish_job, kubectl, operator_as_service_account, service_account_kubeconfig,
    wait_gone, wait_object,
};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/operators/database"
);

fn apply_file(kubeconfig: &str, ns: Option<&str>, file: &str) {
    let path = format!("{EXAMPLE}/{file}");
    let mut args = vec!["apply", "-f", &path];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    let out = kubectl(kubeconfig, &args);
    assert!(out.status.success(), "{file}: {}", text(&out));
}

/// The owner reference kinds of `what` in `ns`.
fn owners(kubeconfig: &str, ns: &str, what: &str) -> String {
    let out = kubectl(
        kubeconfig,
        &[
            "-n",
            ns,
            "get",
            what,
            "-o",
            "jsonpath={.metadata.ownerReferences[*].kind}/{.metadata.ownerReferences[*].name}",
        ],
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The name of the one Job in `ns` whose name starts with `prefix`.
fn job_named(kubeconfig: &str, ns: &str, prefix: &str, log: &dyn Fn() -> String) -> String {
    for _ in 0..300 {
        let out = kubectl(
            kubeconfig,
            &[
                "-n",
                ns,
                "get",
                "jobs",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
        );
        let names = String::from_utf8_lossy(&out.stdout).to_string();
        if let Some(name) = names.split_whitespace().find(|n| n.starts_with(prefix)) {
            return name.to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no Job {prefix}* in {ns}: {}", log());
}

#[tokio::test]
async fn the_database_operator_runs_its_whole_lifecycle() {
    let Some((kubeconfig, ns)) = cluster("dbop") else {
        return;
    };
    apply_file(&kubeconfig, None, "crd.yaml");
    apply_file(&kubeconfig, None, "rbac.yaml");
    let established = kubectl(
        &kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "crd/databases.example.windlass.io",
            "--timeout=30s",
        ],
    );
    assert!(established.status.success(), "{}", text(&established));
    let dir = tempfile::tempdir().expect("tempdir");
    let sa = service_account_kubeconfig(&kubeconfig, &dir.path().join("sa.kubeconfig"));
    let lease = format!("dbop-{}", std::process::id());
    let op = operator_as_service_account(dir.path(), &sa, &lease, &ns, &["--processes", EXAMPLE]);
    let log = || op.stderr();

    // Create: resources, the init Job, then Ready.
    apply_file(&kubeconfig, Some(&ns), "sample.yaml");
    finish_job(&kubeconfig, &ns, "init-orders", true);
    for what in [
        "persistentvolumeclaim/backups-orders",
        "service/db-orders",
        "statefulset/db-orders",
    ] {
        assert_eq!(
            owners(&kubeconfig, &ns, what),
            "Database/orders",
            "{what}: {}",
            log()
        );
    }
    let db = wait_object(&kubeconfig, &ns, "database/orders", |v| {
        v["status"]["phase"] == "Ready"
    });
    assert_eq!(db["status"]["initialized"], true, "{db:#}");
    assert_eq!(db["status"]["image"], "postgres:16.4", "{db:#}");
    assert_eq!(
        db["metadata"]["finalizers"],
        serde_json::json!(["example.windlass.io/snapshot"]),
        "{db:#}"
    );
    let sts = wait_object(&kubeconfig, &ns, "statefulset/db-orders", |_| true);
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "2Gi"
    );

    // Upgrade: the Job first, then the StatefulSet and the status.
    let patched = kubectl(
        &kubeconfig,
        &[
            "-n",
            &ns,
            "patch",
            "database",
            "orders",
            "--type=merge",
            "-p",
            r#"{"spec":{"image":"postgres:17.0"}}"#,
        ],
    );
    assert!(patched.status.success(), "{}", text(&patched));
    wait_object(&kubeconfig, &ns, "job/upgrade-orders-2", |_| true);
    let sts = wait_object(&kubeconfig, &ns, "statefulset/db-orders", |_| true);
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"], "postgres:16.4",
        "the StatefulSet moved before the upgrade Job ended"
    );
    finish_job(&kubeconfig, &ns, "upgrade-orders-2", true);
    wait_object(&kubeconfig, &ns, "database/orders", |v| {
        v["status"]["image"] == "postgres:17.0"
    });
    wait_object(&kubeconfig, &ns, "statefulset/db-orders", |v| {
        v["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:17.0"
    });

    // The nightly backup, now.
    let (status, body) = op
        .post(
            "/api/v1/schedules/database-backup%2Fcron%2Fdatabase-backup-nightly/trigger",
            serde_json::json!({}),
        )
        .await;
    assert!(status.is_success(), "{body}: {}", log());
    let backup = job_named(&kubeconfig, &ns, "backup-orders-", &log);
    finish_job(&kubeconfig, &ns, &backup, true);
    wait_object(&kubeconfig, &ns, "database/orders", |v| {
        v["status"]["lastBackup"].is_string()
    });

    // Delete: held by the finalizer until the snapshot ends.
    let deleted = kubectl(
        &kubeconfig,
        &["-n", &ns, "delete", "database", "orders", "--wait=false"],
    );
    assert!(deleted.status.success(), "{}", text(&deleted));
    wait_object(&kubeconfig, &ns, "job/snapshot-orders", |_| true);
    assert!(
        exists(&kubeconfig, &ns, "database/orders"),
        "the Database went before its snapshot"
    );
    finish_job(&kubeconfig, &ns, "snapshot-orders", true);
    wait_gone(&kubeconfig, &ns, "database/orders");
    wait_gone(&kubeconfig, &ns, "statefulset/db-orders");
    wait_gone(&kubeconfig, &ns, "service/db-orders");
    let pvc = kubectl(
        &kubeconfig,
        &[
            "-n",
            &ns,
            "get",
            "pvc",
            "backups-orders",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ],
    );
    assert!(
        !pvc.status.success() || !pvc.stdout.is_empty(),
        "the backups PVC is not being deleted"
    );

    // Every reconcile of this Database ended well (the watch covers all
    // namespaces: a shared API server may hold other tests' Databases).
    let (status, list) = op
        .get("/api/v1/instances?processId=database&limit=100")
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items").clone();
    let mut ours = 0;
    for item in &items {
        let id = item["id"].as_str().expect("id");
        let (_, view) = op.get(&format!("/api/v1/instances/{id}")).await;
        if view["variables"]["event"]["key"] == format!("{ns}/orders") {
            ours += 1;
            let view = op.wait_for(id, |v| v["status"] != "running").await;
            assert_eq!(view["status"], "completed", "{view:#}");
        }
    }
    assert!(ours >= 4, "{ours} reconciles: {list:#}");
    assert!(op.stop().success());
}
