//! What the tests of several servers on one PostgreSQL database share: a
//! process whose job and timer must each happen once, starting through a
//! node, counting job completions, restarting the test server, starting a
//! node and watching its partitions taken over.

use super::ServerProc;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use windlass_store_api::PartitionSet;

/// A shell job, then a half-second timer: both must happen once per
/// instance whichever node runs it.
pub const PIPELINE_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="pipeline" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="build"/>
    <serviceTask id="build" name="Build">
      <extensionElements>
        <windlass:task kind="shell">
          <windlass:setting name="command" value="printf built"/>
        </windlass:task>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="build" targetRef="settle"/>
    <intermediateCatchEvent id="settle" name="Settle">
      <timerEventDefinition><timeDuration>PT0.5S</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="settle" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"#;

/// One task handed to remote workers (kind `remote`).
pub const REMOTE_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="remote" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <serviceTask id="work" name="Work">
      <extensionElements><windlass:task kind="remote"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>
"#;

/// Deploys [`REMOTE_BPMN`] through `nodes.a` and starts 12 instances
/// (`{prefix}-0` …) through both nodes in turn, once `nodes.b` has read the
/// new version; answers their ids and those in `b`'s partitions (some,
/// not all).
pub async fn remote_jobs_on_both(
    nodes: &TwoNodes,
    prefix: &str,
) -> (Vec<String>, std::collections::BTreeSet<String>) {
    let (status, body) = nodes.a.deploy(REMOTE_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // b reads the latest versions once a second.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &nodes.a } else { &nodes.b };
        let id = start(node, "remote", &format!("{prefix}-{i}")).await;
        ids.push(id.unwrap_or_else(|| panic!("{prefix}-{i} not accepted")));
    }
    let on_b: std::collections::BTreeSet<String> = ids
        .iter()
        .filter(|id| !nodes.a_half.has_instance(id))
        .cloned()
        .collect();
    assert!(!on_b.is_empty() && on_b.len() < ids.len(), "{on_b:?}");
    (ids, on_b)
}

/// A fresh schema on the test server, as a URL (`None`: skipped).
pub fn database(tag: &str) -> Option<String> {
    windlass_pg_testing::schema_url_blocking(tag)
}

/// Starts one `process` instance with id `id` through `node`: its id if
/// accepted.
pub async fn start(node: &ServerProc, process: &str, id: &str) -> Option<String> {
    let rb = node
        .req(reqwest::Method::POST, "/api/v1/instances")
        .json(&json!({"processId": process, "instanceId": id}))
        .timeout(Duration::from_secs(10));
    match rb.send().await {
        Ok(r) if r.status() == StatusCode::CREATED => Some(id.to_string()),
        _ => None,
    }
}

/// How many times a job of instance `id` was completed.
pub async fn completions(node: &ServerProc, id: &str) -> usize {
    let (status, v) = node
        .get(&format!(
            "/api/v1/instances/{}/history?limit=10000",
            id.replace('/', "%2F")
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            let text = e["text"].as_str().unwrap_or_default();
            text.starts_with("job of token") && text.contains(" completed ")
        })
        .count()
}

/// Restarts the test server (`scripts/pg-test-env restart`): every
/// connection to it is cut.
pub async fn restart_postgres() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-env");
    let restarted = tokio::task::spawn_blocking(move || {
        std::process::Command::new(script)
            .arg("restart")
            .output()
            .expect("run pg-test-env")
    })
    .await
    .expect("join");
    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
}

/// Steady load: one `pipeline` start every 10 ms (ids `p-0`, `p-1`, …),
/// round-robin over the nodes, until stopped.
pub struct Load {
    accepted: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl Load {
    /// Starts the load over `nodes`.
    pub fn start(nodes: &[Arc<ServerProc>]) -> Load {
        let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (nodes, sink, halt) = (nodes.to_vec(), accepted.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut i = 0usize;
            let mut calls = tokio::task::JoinSet::new();
            while !halt.load(Ordering::SeqCst) {
                let node = nodes[i % nodes.len()].clone();
                let sink = sink.clone();
                calls.spawn(async move {
                    if let Some(id) = start(&node, "pipeline", &format!("p-{i}")).await {
                        sink.lock().expect("lock").push(id);
                    }
                });
                i += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            while calls.join_next().await.is_some() {}
            i
        });
        Load {
            accepted,
            stop,
            task,
        }
    }

    /// The ids accepted so far, in the order their answers came.
    pub fn accepted(&self) -> Vec<String> {
        self.accepted.lock().expect("lock").clone()
    }

    /// Stops it once the calls in flight are answered: how many starts were
    /// sent, and the ids accepted.
    pub async fn stop(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let sent = self.task.await.expect("load");
        let accepted = self.accepted.lock().expect("lock").clone();
        (sent, accepted)
    }
}

/// Every `accepted` instance completes once with its job completed once;
/// every `pipeline` instance in the database has one run and completes too
/// (starts whose answer was lost in a kill included: the database is the
/// truth, not the answers). Read through `survivor`.
pub async fn check_all_completed_once(survivor: &ServerProc, accepted: &[String]) {
    for id in accepted {
        survivor.wait_for(id, |v| v["status"] == "completed").await;
        assert_eq!(completions(survivor, id).await, 1, "{id}: job completions");
    }
    let (status, list) = survivor
        .get("/api/v1/instances?limit=10000&processId=pipeline")
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let rows = list["items"].as_array().cloned().unwrap_or_default();
    assert!(rows.len() >= accepted.len(), "{} rows", rows.len());
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *runs
            .entry(r["id"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    assert!(runs.values().all(|n| *n == 1), "one run per id: {runs:?}");
    for r in &rows {
        let id = r["id"].as_str().unwrap_or_default();
        survivor.wait_for(id, |v| v["status"] == "completed").await;
    }
}

/// Resumes `paused` (SIGCONT), a writer whose lease another node took
/// while it was stopped: a start of `late` through it is not accepted, it
/// exits with a failure after logging `lost`, and `late` exists nowhere
/// (read through `other`).
pub async fn resumed_writer_is_refused_and_stops(
    paused: ServerProc,
    other: &ServerProc,
    late: &str,
    lost: &str,
) {
    paused.signal("CONT");
    let answer = paused
        .req(reqwest::Method::POST, "/api/v1/instances")
        .json(&json!({"processId": "review", "instanceId": late}))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    if let Ok(r) = answer {
        assert_ne!(r.status(), StatusCode::CREATED, "a fenced node wrote");
    }
    let log_path = paused.log.clone();
    let status = paused.wait_exit(Duration::from_secs(15));
    assert!(!status.success());
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    assert!(log.contains(lost), "{log}");
    let (status, _) = other.get(&format!("/api/v1/instances/{late}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing of the fenced node's"
    );
}

/// `review` starts with ids `before-N` and `during-N` through `nodes`
/// (round-robin): 20 that must be accepted, then 200 while the test server
/// restarts (some are refused while it is down). Answers the ids
/// accepted, and how many of the 200 were.
pub async fn review_starts_through_a_restart(nodes: &[Arc<ServerProc>]) -> (Vec<String>, usize) {
    let mut accepted = Vec::new();
    for i in 0..20 {
        let id = format!("before-{i}");
        let started = start(&nodes[i % nodes.len()], "review", &id).await;
        assert_eq!(started.as_deref(), Some(id.as_str()), "{id} refused");
        accepted.push(id);
    }
    let load = {
        let nodes = nodes.to_vec();
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..200 {
                let id = format!("during-{i}");
                if let Some(id) = start(&nodes[i % nodes.len()], "review", &id).await {
                    ok.push(id);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            ok
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    restart_postgres().await;
    let during = load.await.expect("load");
    eprintln!("accepted during the load: {} of 200", during.len());
    let count = during.len();
    accepted.extend(during);
    (accepted, count)
}

/// `windlass server --node NAME --partitions SET` with a lease of `lease`
/// seconds.
pub fn node(
    db: &str,
    dir: &std::path::Path,
    name: &str,
    set: &PartitionSet,
    lease: &str,
) -> ServerProc {
    node_with(db, dir, name, set, lease, &[])
}

/// [`node`] with more arguments.
pub fn node_with(
    db: &str,
    dir: &std::path::Path,
    name: &str,
    set: &PartitionSet,
    lease: &str,
    more: &[&str],
) -> ServerProc {
    let set = set.to_string();
    let mut args = vec![
        "--node",
        name,
        "--partitions",
        &set,
        "--lease-seconds",
        lease,
    ];
    args.extend_from_slice(more);
    ServerProc::start_postgres(db, dir, &args)
}

/// A store reading the owners table (joined as nothing).
pub async fn reader(db: &str) -> windlass_store_postgres::PgStore {
    windlass_store_postgres::PgStore::connect_with(
        windlass_store_postgres::PgOptions::new(db).migrate(false),
    )
    .await
    .expect("a reader")
}

/// Waits until no partition is owned by `gone` and every one by a live
/// node; how long after `since` that was. Fails after `within`.
pub async fn taken_over(
    reader: &windlass_store_postgres::PgStore,
    gone: &str,
    since: Instant,
    within: Duration,
) -> Duration {
    loop {
        let owners = reader.partition_owners().await.expect("owners");
        if owners.len() == 256 && owners.iter().all(|o| o.live && o.node != gone) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < within,
            "{gone}'s partitions were not taken over within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two nodes on one fresh schema, `a` serving the first half of the
/// partitions and `b` the second, with a 2 s lease.
pub struct TwoNodes {
    /// The database URL.
    pub db: String,
    /// Their data directory (removed when dropped).
    pub dir: tempfile::TempDir,
    /// Node `a` and the partitions it claimed.
    pub a: ServerProc,
    pub a_half: PartitionSet,
    /// Node `b` and the partitions it claimed.
    pub b: ServerProc,
    pub b_half: PartitionSet,
}

/// Starts [`TwoNodes`] on a fresh schema named after `tag` (`None`: no
/// PostgreSQL server, the test is skipped).
pub async fn two_nodes(tag: &'static str) -> Option<TwoNodes> {
    two_nodes_with(tag, &[]).await
}

/// [`two_nodes`], each started with `more` arguments too.
pub async fn two_nodes_with(tag: &'static str, more: &[&str]) -> Option<TwoNodes> {
    let db = tokio::task::spawn_blocking(move || database(tag))
        .await
        .expect("join")?;
    let dir = tempfile::tempdir().expect("tempdir");
    let (a_half, b_half) = (PartitionSet::share(0, 2), PartitionSet::share(1, 2));
    let a = node_with(&db, dir.path(), "a", &a_half, "2", more);
    let b = node_with(&db, dir.path(), "b", &b_half, "2", more);
    Some(TwoNodes {
        db,
        dir,
        a,
        a_half,
        b,
        b_half,
    })
}
