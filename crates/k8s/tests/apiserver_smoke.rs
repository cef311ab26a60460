//! Smoke test against a real kube-apiserver + etcd (started by
//! `scripts/k8s-test-env start`; `scripts/test` does that and exports
//! `KUBECONFIG` and `WINDLASS_REQUIRE_K8S=1`).
//!
//! Creates a namespace, installs a small CRD and waits until it is
//! Established, then creates, watches, patches (spec and status subresource)
//! and deletes a custom resource, checking the watch saw Added, Modified and
//! Deleted with the expected contents. Without `KUBECONFIG` it skips with a
//! message, unless `WINDLASS_REQUIRE_K8S=1` makes that a failure.

use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config, CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use windlass_k8s::test_env;

/// Upper bound for the whole test; each step has its own smaller bound.
const WHOLE_TEST: Duration = Duration::from_secs(120);
/// Upper bound for one API call or one awaited watch event.
const STEP: Duration = Duration::from_secs(30);
/// Field manager name for server-side apply.
const MANAGER: &str = "windlass-smoke-test";

/// The custom resource installed by the test.
#[derive(CustomResource, Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[kube(
    group = "smoke.windlass.test",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
pub struct WidgetSpec {
    /// How many teeth the widget has.
    pub teeth: i32,
}

/// Status subresource of [`Widget`].
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct WidgetStatus {
    /// Where the widget is in its life.
    pub phase: String,
}

type WidgetWatch = Pin<Box<dyn Stream<Item = kube::Result<WatchEvent<Widget>>> + Send>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_and_custom_resource_round_trip() -> anyhow::Result<()> {
    let required = test_env::required_from_env()?;
    let Some(kubeconfig) = test_env::kubeconfig_from_env()? else {
        eprintln!(
            "SKIPPED apiserver_smoke: {} is not set. Run `scripts/k8s-test-env build && \
             scripts/k8s-test-env start` and `eval \"$(scripts/k8s-test-env env --export)\"`, \
             or run scripts/test (set {}=1 to make this a failure).",
            test_env::KUBECONFIG_VAR,
            test_env::REQUIRE_VAR
        );
        return Ok(());
    };
    let client = match client_for(&kubeconfig, required).await? {
        Some(client) => client,
        None => return Ok(()),
    };
    tokio::time::timeout(WHOLE_TEST, round_trip(client))
        .await
        .with_context(|| format!("smoke test did not finish within {WHOLE_TEST:?}"))?
}

/// Builds a client from the kubeconfig, refusing any server that is not on
/// loopback (skip when optional, error when required).
async fn client_for(kubeconfig: &Path, required: bool) -> anyhow::Result<Option<Client>> {
    let file = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let mut config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading kubeconfig {}", kubeconfig.display()))?;
    let server = config.cluster_url.to_string();
    if !test_env::server_is_loopback(&server) {
        let message = format!(
            "{} points at {server}, which is not a loopback address; the smoke test only runs \
             against the local test API server",
            kubeconfig.display()
        );
        if required {
            bail!(message);
        }
        eprintln!("SKIPPED apiserver_smoke: {message}");
        return Ok(None);
    }
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(90));
    config.write_timeout = Some(Duration::from_secs(30));
    Ok(Some(
        Client::try_from(config).context("building the Kubernetes client")?,
    ))
}

/// Runs `future` with the [`STEP`] bound, naming `what` on time-out.
async fn step<T>(what: &str, future: impl Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(STEP, future)
        .await
        .with_context(|| format!("{what}: no answer within {STEP:?}"))
}

async fn round_trip(client: Client) -> anyhow::Result<()> {
    let suffix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let namespace = format!("windlass-smoke-{}-{suffix}", std::process::id());

    // A namespace of our own.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    step(
        "create namespace",
        namespaces.create(&PostParams::default(), &ns),
    )
    .await?
    .with_context(|| format!("creating namespace {namespace}"))?;

    // The CRD, applied server-side so a rerun against the same server works.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = Widget::crd();
    let crd_name = crd.name_any();
    step(
        "apply CRD",
        crds.patch(
            &crd_name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        ),
    )
    .await?
    .with_context(|| format!("applying CRD {crd_name}"))?;
    step(
        "wait for CRD Established",
        await_condition(crds.clone(), &crd_name, conditions::is_crd_established()),
    )
    .await?
    .with_context(|| format!("waiting for CRD {crd_name} to be Established"))?;

    let widgets: Api<Widget> = Api::namespaced(client.clone(), &namespace);
    let name = "gear";

    // Watch from the current resource version, before anything exists.
    let listed = step("list widgets", widgets.list(&ListParams::default()))
        .await?
        .context("listing widgets (is the CRD served yet?)")?;
    ensure!(listed.items.is_empty(), "new namespace already has widgets");
    let version = listed.metadata.resource_version.unwrap_or_default();
    let params = WatchParams::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(90);
    let mut watch: WidgetWatch = Box::pin(
        step("start watch", widgets.watch(&params, &version))
            .await?
            .context("starting the widget watch")?,
    );

    // Create: the watch sees Added with the spec we sent.
    let created = step(
        "create widget",
        widgets.create(
            &PostParams::default(),
            &Widget::new(name, WidgetSpec { teeth: 12 }),
        ),
    )
    .await?
    .context("creating the widget")?;
    ensure!(
        created.spec.teeth == 12,
        "created widget has {:?}",
        created.spec
    );
    match next_event(&mut watch).await? {
        WatchEvent::Added(w) => {
            ensure!(w.name_any() == name && w.spec.teeth == 12, "Added {w:?}");
        }
        other => bail!("expected Added, saw {other:?}"),
    }

    // Patch the spec: the watch sees Modified with the new value.
    let patched = step(
        "patch widget",
        widgets.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "spec": { "teeth": 24 } })),
        ),
    )
    .await?
    .context("patching the widget's spec")?;
    ensure!(
        patched.spec.teeth == 24,
        "patched widget has {:?}",
        patched.spec
    );
    match next_event(&mut watch).await? {
        WatchEvent::Modified(w) => ensure!(w.spec.teeth == 24, "Modified {w:?}"),
        other => bail!("expected Modified after the spec patch, saw {other:?}"),
    }

    // Patch the status subresource: status changes, the spec does not, and the
    // status cannot be changed through the main resource.
    let status = WidgetStatus {
        phase: "Turning".to_owned(),
    };
    let with_status = step(
        "patch widget status",
        widgets.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": status, "spec": { "teeth": 1 } })),
        ),
    )
    .await?
    .context("patching the widget's status subresource")?;
    ensure!(
        with_status.status.as_ref() == Some(&status) && with_status.spec.teeth == 24,
        "status patch gave {with_status:?}"
    );
    match next_event(&mut watch).await? {
        WatchEvent::Modified(w) => ensure!(
            w.status.as_ref() == Some(&status) && w.spec.teeth == 24,
            "Modified after status patch {w:?}"
        ),
        other => bail!("expected Modified after the status patch, saw {other:?}"),
    }
    let read_back = step("get widget status", widgets.get_status(name))
        .await?
        .context("reading the status subresource")?;
    ensure!(
        read_back.status == Some(status),
        "status read back {read_back:?}"
    );

    // Delete: the watch sees Deleted and the object is gone.
    step(
        "delete widget",
        widgets.delete(name, &DeleteParams::default()),
    )
    .await?
    .context("deleting the widget")?;
    match next_event(&mut watch).await? {
        WatchEvent::Deleted(w) => ensure!(w.name_any() == name, "Deleted {w:?}"),
        other => bail!("expected Deleted, saw {other:?}"),
    }
    let gone = step("get deleted widget", widgets.get_opt(name))
        .await?
        .context("reading the deleted widget")?;
    ensure!(gone.is_none(), "widget still exists after delete: {gone:?}");

    // Clean up: the CRD (served by the API server itself) and the namespace
    // (which stays Terminating without a controller manager; the environment
    // is thrown away afterwards).
    step(
        "delete CRD",
        crds.delete(&crd_name, &DeleteParams::default()),
    )
    .await?
    .with_context(|| format!("deleting CRD {crd_name}"))?;
    step(
        "delete namespace",
        namespaces.delete(&namespace, &DeleteParams::default()),
    )
    .await?
    .with_context(|| format!("deleting namespace {namespace}"))?;
    Ok(())
}

/// The next watch event that is not a bookmark, bounded by [`STEP`].
async fn next_event(watch: &mut WidgetWatch) -> anyhow::Result<WatchEvent<Widget>> {
    loop {
        let event = step("wait for watch event", watch.next())
            .await?
            .context("watch stream ended early")?
            .context("watch stream failed")?;
        match event {
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(status) => bail!("watch reported an error: {status:?}"),
            event => return Ok(event),
        }
    }
}
