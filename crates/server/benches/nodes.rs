//! `scripts/bench-nodes [N] [CONCURRENCY]`: instance starts per second
//! through the REST API of real `windlass server` processes, in one run:
//!
//! - one server on a SQLite file (the default set-up);
//! - one, two and three servers on one PostgreSQL database (a fresh
//!   schema each): one holds the database's lease and writes, the others
//!   stand by and forward (`docs/postgres.md`);
//! - one, two and three servers on one PostgreSQL database as nodes
//!   (`--node`), each writing an equal share of the partitions: a start
//!   without an instance id gets an id in the partitions of the node it
//!   reaches, so no call is forwarded.
//!
//! The load (`POST /api/v1/instances`, answered once the start is
//! committed; CONCURRENCY clients, default 32) is spread round-robin over
//! the nodes, so with two or three nodes most calls take the forwarding
//! hop. The process is a start event, one abstract task and an end event.
//! Servers, load generator and PostgreSQL share the machine's cores.
//!
//! Needs `WINDLASS_BIN` (the `windlass` binary to run) and
//! `WINDLASS_TEST_PG` (a PostgreSQL server, as `scripts/pg-test-env` gives);
//! the script sets both.
#![allow(missing_docs)]

mod common;

use common::{PROCESS, Row, load};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// A running server process.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn start(bin: &str, db: &str, dir: &Path, extra: &[String]) -> Node {
        let mut child = Command::new(bin)
            .args(["server", "--db", db, "--listen", "127.0.0.1:0"])
            .arg("--token-file")
            .arg(dir.join("token"))
            .args(["--lease-seconds", "5"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn windlass server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("a first line").expect("read");
        std::thread::spawn(move || for _ in lines {});
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        Node { child, url }
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts `count` servers on `db` (as partitioned nodes with an equal
/// share each when `partitioned`), drives `n` starts over them, stops them.
async fn measure(
    what: &'static str,
    bin: &str,
    db: &str,
    (count, partitioned): (usize, bool),
    n: usize,
    concurrency: usize,
) -> Row {
    let dir = tempfile::tempdir().expect("tempdir");
    // Single writer: the first takes the lease; the others find it held
    // and stand by. Partitioned: each claims its share.
    let nodes: Vec<Node> = (0..count)
        .map(|i| {
            let extra = if partitioned {
                let share = windlass_store_api::PartitionSet::share(i as u16, count as u16);
                vec![
                    "--node".to_string(),
                    format!("n{i}"),
                    "--partitions".to_string(),
                    share.to_string(),
                ]
            } else {
                Vec::new()
            };
            Node::start(bin, db, dir.path(), &extra)
        })
        .collect();
    let token = std::fs::read_to_string(dir.path().join("token")).expect("token");
    let token = token.trim().to_string();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let deployed = client
        .post(format!("{}/api/v1/definitions", nodes[0].url))
        .bearer_auth(&token)
        .header("content-type", "application/xml")
        .body(PROCESS)
        .send()
        .await
        .expect("deploy");
    assert!(
        deployed.status().is_success(),
        "deploy: {}",
        deployed.status()
    );
    let urls: Arc<Vec<String>> = Arc::new(
        nodes
            .iter()
            .map(|n| format!("{}/api/v1/instances", n.url))
            .collect(),
    );
    let row = load(what, n, concurrency, move |i| {
        let (client, urls, token) = (client.clone(), urls.clone(), token.clone());
        async move {
            let answer = client
                .post(&urls[i % urls.len()])
                .bearer_auth(&token)
                .json(&serde_json::json!({"processId": "simple"}))
                .send()
                .await
                .expect("start");
            assert_eq!(answer.status(), reqwest::StatusCode::CREATED);
        }
    })
    .await;
    for node in nodes.into_iter().rev() {
        node.stop();
    }
    row
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let (Ok(bin), Some(_)) = (
        std::env::var("WINDLASS_BIN"),
        windlass_pg_testing::server_url(),
    ) else {
        eprintln!("set WINDLASS_BIN and WINDLASS_TEST_PG (scripts/bench-nodes does)");
        return;
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let sqlite_dir = tempfile::tempdir().expect("tempdir");
    let sqlite = sqlite_dir.path().join("bench.db");
    let sqlite = sqlite.to_str().expect("utf-8 path").to_string();
    let mut rows = vec![(
        "SQLite",
        1,
        tokio.block_on(measure("sqlite", &bin, &sqlite, (1, false), n, concurrency)),
    )];
    for partitioned in [false, true] {
        for count in 1..=3 {
            let db = windlass_pg_testing::schema_url_blocking("nodes").expect("PostgreSQL");
            let what = if partitioned { "nodes" } else { "postgres" };
            let row = tokio.block_on(measure(
                what,
                &bin,
                &db,
                (count, partitioned),
                n,
                concurrency,
            ));
            let store = if partitioned {
                "PG nodes"
            } else {
                "PG 1 writer"
            };
            rows.push((store, count, row));
        }
    }
    println!(
        "\n{n} starts through the REST API, {concurrency} clients, round-robin over the nodes"
    );
    println!(
        "{:12} {:>5} {:>10} {:>8} {:>8} {:>9}",
        "store", "nodes", "starts/s", "p50 ms", "p99 ms", "vs SQLite"
    );
    let base = rows[0].2.rate;
    for (store, count, row) in &rows {
        println!(
            "{:12} {:>5} {:>10.0} {:>8.2} {:>8.2} {:>8.2}x",
            store,
            count,
            row.rate,
            row.p50.as_secs_f64() * 1000.0,
            row.p99.as_secs_f64() * 1000.0,
            row.rate / base
        );
    }
}
