//! Failover between runtimes serving partitions of one real PostgreSQL
//! database. Node `b` is a real child process (this test binary,
//! re-executed) that owns half the partitions and starts instances until
//! it is killed (SIGKILL) or paused (SIGSTOP); node `a` (this process) owns
//! the other half and starts instances too. When `b` dies, `a` takes its
//! partitions over in the store within `b`'s lease and adopts them in its
//! runtime; when `b` is paused past its lease, `a` fences it, and `b`'s
//! writes after it resumes are refused. Either way every instance either
//! node reported started exists once, completes, and has its job completed
//! exactly once in its history. Node `b` also holds a schedule firing every
//! second (its id lies in `b`'s partitions): `a` fires it from the takeover
//! on, and no occurrence fires twice across the two nodes.
//!
//! Skipped without a PostgreSQL server (`WINDLASS_TEST_PG`), failing
//! instead under `WINDLASS_REQUIRE_PG=1` (as in `scripts/test`).
#![allow(clippy::unwrap_used)]

mod common;

use common::doc;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use windlass_engine::Event;
use windlass_engine::codec::decode_event;
use windlass_pg_testing as pg;
use windlass_runtime::{
    HandlerResult, Handlers, Job, JobOutcome, Runtime, RuntimeHandle, RuntimeOptions, StartRequest,
};
use windlass_store_api::{
    HistoryRead, InstanceIndex, InstanceQuery, InstanceStatus, PartitionSet, StoreError,
};
use windlass_store_postgres::{LeaseOptions, PgStore};
use windlass_types::Vars;

/// Set in the child's environment: the schema and the node name.
const SCHEMA: &str = "WINDLASS_FAILOVER_SCHEMA";
const NODE: &str = "WINDLASS_FAILOVER_NODE";
/// The line the child prints once it serves its partitions.
const READY: &str = "WINDLASS-FAILOVER-READY";
/// Printed by the child after each committed start, with the instance id.
const STARTED: &str = "STARTED ";
/// Printed by the child for each refused start.
const REFUSED: &str = "REFUSED ";
/// The nodes' lease: a dead or paused node's partitions move after this.
const LEASE: Duration = Duration::from_secs(2);

/// start → "Work" (a short asynchronous job) → end.
fn process() -> String {
    doc(r#"<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#)
}

/// The process id whose schedule `{id}/s` lies in `b`'s partitions.
fn ticking_id() -> String {
    (0..)
        .map(|i| format!("tick{i}"))
        .find(|id| PartitionSet::share(1, 2).has_instance(&format!("{id}/s")))
        .unwrap_or_default()
}

/// The schedule id of [`ticking`].
fn tick_schedule() -> String {
    format!("{}/s", ticking_id())
}

/// A process started every second by its timer start event `s`, running
/// "Work" like [`process`].
fn ticking() -> String {
    doc(&format!(
        r#"<process id="{}" isExecutable="true">
  <startEvent id="s"><timerEventDefinition><timeCycle>R/PT1S</timeCycle></timerEventDefinition></startEvent>
  <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
  <serviceTask id="work" name="Work"/>
  <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  <endEvent id="e"/>
</process>"#,
        ticking_id()
    ))
}

fn handlers() -> Handlers {
    Handlers::new().on_name("Work", |_: &Job| {
        HandlerResult::Pending(Box::pin(async {
            tokio::time::sleep(Duration::from_millis(3)).await;
            JobOutcome::done(Vars::new())
        }))
    })
}

/// Joins the database in `schema` as node `name` (retrying while an
/// earlier process under the name is still seen alive) and claims
/// `partitions`.
async fn join(schema: &str, name: &str, partitions: &PartitionSet) -> PgStore {
    let mut options = pg::options(schema);
    // A node paused inside a transaction loses it (and its locks) soon.
    options.idle_in_transaction_timeout = LEASE;
    let lease = LeaseOptions::new(name)
        .address(format!("http://{name}.test:8080"))
        .duration(LEASE);
    let deadline = Instant::now() + Duration::from_secs(10);
    let store = loop {
        let store = PgStore::connect_with(options.clone()).await.unwrap();
        match store.join_as_node(lease.clone()).await {
            Ok(s) => break s,
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(
        &store.claim_partitions(partitions).await.unwrap(),
        partitions
    );
    store
}

async fn start_node(store: PgStore, partitions: PartitionSet) -> RuntimeHandle<PgStore> {
    let opts = RuntimeOptions {
        partitions: Some(partitions),
        shards: 2,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(opts, store, handlers()).await.unwrap();
    rt.deploy(&process()).await.unwrap();
    rt
}

/// Not a test of its own: the body of node `b`, started by the failover
/// tests (it runs only with `--ignored` and its environment set).
#[test]
#[ignore = "the child process of the failover tests"]
fn failover_node_child() {
    let (Ok(schema), Ok(name)) = (std::env::var(SCHEMA), std::env::var(NODE)) else {
        panic!("run by the failover tests, with {SCHEMA} and {NODE} set");
    };
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(async {
        let mine = PartitionSet::share(1, 2);
        let rt = start_node(join(&schema, &name, &mine).await, mine).await;
        // Its schedule: deployed here, the node serving its partition.
        rt.deploy(&ticking()).await.unwrap();
        println!("{READY}");
        // Start instances until killed, one at a time, saying which
        // committed (a start refused once fenced is said too).
        for n in 0.. {
            let id = format!("{name}-{n}");
            if !mine.has_instance(&id) {
                continue;
            }
            let req = StartRequest {
                instance_id: Some(id),
                ..StartRequest::new("p")
            };
            match rt.start_instance(req).await {
                Ok(r) => println!("{STARTED}{}", r.id),
                Err(e) => {
                    println!("{REFUSED}{e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    });
}

/// Node `b`, running, with what it printed (read on a thread of its own
/// so its pipe never fills).
struct ChildNode {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl ChildNode {
    fn start(schema: &str, name: &str) -> ChildNode {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["failover_node_child", "--exact", "--ignored", "--nocapture"])
            .env(SCHEMA, schema)
            .env(NODE, name)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == READY {
                    let _ = ready_tx.send(());
                }
                sink.lock().unwrap().push(line);
            }
        });
        if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            panic!("node b never got ready: {:?}", lines.lock().unwrap());
        }
        ChildNode {
            child,
            lines,
            reader,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    /// The lines printed so far that start with `prefix`, without it.
    fn said(&self, prefix: &str) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(prefix).map(str::to_string))
            .collect()
    }

    /// Kills it (`Child::kill` is SIGKILL: no destructor, no drain, no
    /// leave) and answers the ids it said it started, to its last line.
    fn kill(self) -> Vec<String> {
        let ChildNode {
            mut child,
            lines,
            reader,
        } = self;
        child.kill().unwrap();
        child.wait().unwrap();
        // Its stdout is closed now: the reader takes what is left and ends.
        reader.join().unwrap();
        let lines = lines.lock().unwrap();
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(STARTED).map(str::to_string))
            .collect()
    }
}

/// Node `a`'s load: starts instances until stopped; returns their ids.
fn load(
    rt: &RuntimeHandle<PgStore>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    let rt = rt.clone();
    tokio::spawn(async move {
        let mut ids = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let id = rt.start_instance(StartRequest::new("p")).await.unwrap();
            ids.push(id.id.0);
        }
        ids
    })
}

/// Claims `all` for node `a` until it gets it; returns how long it took.
async fn take_over(rt: &RuntimeHandle<PgStore>, since: Instant, limit: Duration) -> Duration {
    loop {
        let got = rt
            .store()
            .claim_partitions(&PartitionSet::all())
            .await
            .unwrap();
        if got.is_all() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < limit,
            "b's partitions were not taken over within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every instance in the store has finished, then checks that
/// each of `started` exists with one run, completed, its job completed
/// exactly once.
async fn check_all_done_once(rt: &RuntimeHandle<PgStore>, started: &[String]) {
    let store = rt.store();
    let deadline = Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let rows = store
            .query_instances(&InstanceQuery::default())
            .await
            .unwrap();
        if rows.iter().all(|r| r.status != InstanceStatus::Running) {
            break rows;
        }
        let stuck: Vec<_> = rows
            .iter()
            .filter(|r| r.status == InstanceStatus::Running)
            .map(|r| r.instance.to_string())
            .collect();
        assert!(Instant::now() < deadline, "stuck: {stuck:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut runs: HashMap<String, usize> = HashMap::new();
    for row in &rows {
        *runs.entry(row.instance.id.0.clone()).or_default() += 1;
        assert_eq!(row.status, InstanceStatus::Completed, "{}", row.instance);
        let completions = store
            .history(&row.instance)
            .await
            .unwrap()
            .iter()
            .filter(|h| matches!(decode_event(&h.payload), Ok(Event::JobCompleted { .. })))
            .count();
        assert_eq!(
            completions, 1,
            "{}: job completed {completions} times",
            row.instance
        );
    }
    for id in started {
        assert_eq!(
            runs.get(id),
            Some(&1),
            "{id}: reported started, runs in the store"
        );
    }
}

/// The runs of the schedule so far, each with the occurrence it fired
/// for (`scheduledTime`).
async fn fires(rt: &RuntimeHandle<PgStore>) -> Vec<String> {
    let q = InstanceQuery {
        id: Some(windlass_store_api::InstanceId::new(tick_schedule())),
        ..InstanceQuery::default()
    };
    let mut out = Vec::new();
    for row in rt.store().query_instances(&q).await.unwrap() {
        let outcome = rt.outcome(&row.instance).await.unwrap();
        out.push(outcome.variables["scheduledTime"].to_string());
    }
    out
}

/// Waits (up to 20 s) until the schedule has fired `n` times in all.
async fn fired(rt: &RuntimeHandle<PgStore>, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let f = fires(rt).await;
        if f.len() >= n {
            return f;
        }
        assert!(Instant::now() < deadline, "the schedule fired {f:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Once `a` has fired the schedule twice after the takeover (it had
/// fired `before` times), checks that no occurrence fired twice.
async fn check_fired_once_each(rt: &RuntimeHandle<PgStore>, before: usize) {
    // a holds it (a schedule not held is unknown to a serving its
    // partition).
    rt.next_fire_times(&tick_schedule(), 1).await.unwrap();
    let mut times = fired(rt, before + 2).await;
    let n = times.len();
    times.sort();
    times.dedup();
    assert_eq!(times.len(), n, "an occurrence fired twice: {times:?}");
}

/// Node `a`, in this process, with its load running.
struct NodeA {
    rt: RuntimeHandle<PgStore>,
    stop: Arc<AtomicBool>,
    load: tokio::task::JoinHandle<Vec<String>>,
}

/// Node `b` (a child process) and node `a` (here, loaded) on a fresh
/// schema, each serving its half, after half a second of work.
async fn two_nodes(tag: &str) -> (ChildNode, NodeA) {
    let schema = pg::fresh_schema(tag).await;
    let b = ChildNode::start(&schema, "b");
    let mine = PartitionSet::share(0, 2);
    let rt = start_node(join(&schema, "a", &mine).await, mine).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = load(&rt, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    (b, NodeA { rt, stop, load })
}

impl NodeA {
    /// Stops the load after a moment more and checks every instance
    /// (those `b` said it started among them).
    async fn stop_and_check(self, started_by_b: Vec<String>) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.stop.store(true, Ordering::SeqCst);
        let mut started = self.load.await.unwrap();
        assert!(!started.is_empty());
        started.extend(started_by_b);
        check_all_done_once(&self.rt, &started).await;
        self.rt.shutdown().await.unwrap();
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_killed_nodes_partitions_are_adopted_and_nothing_is_lost_or_doubled() {
    if pg::server_url().is_none() {
        return;
    }
    tokio_rt().block_on(async {
        let (b, a) = two_nodes("failover").await;
        fired(&a.rt, 1).await;
        b.signal("-0"); // still alive: it did not end on its own
        let killed = Instant::now();
        let started_by_b = b.kill();
        // Its session ended with it: no need to wait for the lease.
        let took = take_over(&a.rt, killed, LEASE * 3).await;
        let report = a.rt.adopt(PartitionSet::all()).await.unwrap();
        let before = fires(&a.rt).await.len();
        eprintln!(
            "b killed after {} starts; taken over in {took:?}; adopted {} instances, {} outbox rows",
            started_by_b.len(),
            report.instances,
            report.outbox_rows
        );
        assert!(!started_by_b.is_empty(), "b started nothing before the kill");
        check_fired_once_each(&a.rt, before).await;
        a.stop_and_check(started_by_b).await;
    });
}

#[test]
fn a_paused_node_is_fenced_and_its_writes_after_resuming_are_refused() {
    if pg::server_url().is_none() {
        return;
    }
    tokio_rt().block_on(async {
        let (b, a) = two_nodes("fenced").await;
        fired(&a.rt, 1).await;
        b.signal("-STOP");
        let paused = Instant::now();
        // Its session lives on; its lease (or, paused inside a
        // transaction, that transaction) runs out first.
        let took = take_over(&a.rt, paused, LEASE * 4).await;
        assert!(
            took >= LEASE / 2,
            "taken over after {took:?}, before b's lease ran out"
        );
        let report = a.rt.adopt(PartitionSet::all()).await.unwrap();
        let said_before = b.said(STARTED).len();
        let before = fires(&a.rt).await.len();
        b.signal("-CONT");
        // Resumed, b goes on starting instances: every one is refused.
        let deadline = Instant::now() + Duration::from_secs(20);
        while b.said(REFUSED).len() < 3 {
            assert!(Instant::now() < deadline, "b was never refused");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let said_after = b.said(STARTED).len();
        // At most the start in flight at the pause (committed before it,
        // said after it) is said after resuming.
        assert!(
            said_after <= said_before + 1,
            "b started {} instances after it was fenced",
            said_after - said_before
        );
        let refusal = b.said(REFUSED).remove(0);
        assert!(
            refusal.contains("fenced") || refusal.contains("lease"),
            "{refusal}"
        );
        let started_by_b = b.kill();
        eprintln!(
            "b paused; taken over in {took:?}; adopted {} instances; b refused: {refusal}",
            report.instances
        );
        // b resumed with the schedule armed: its fires are refused too.
        check_fired_once_each(&a.rt, before).await;
        a.stop_and_check(started_by_b).await;
    });
}
