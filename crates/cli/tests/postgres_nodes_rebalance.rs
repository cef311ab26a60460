//! Rebalancing between `windlass server --node` processes on one
//! PostgreSQL database: node `a` starts alone and owns every partition;
//! under steady load through `a`, node `b` joins with no partitions of its
//! own, then node `c`. Each time the nodes even out their shares — the
//! fuller nodes' runtimes let instances go and give partitions up, the
//! newcomer claims and adopts them at once — and afterwards no accepted
//! instance is lost, stuck or doubled, and no job is completed twice.

mod server_common;

use reqwest::StatusCode;
use server_common::ServerProc;
use server_common::cluster::{
    Load, PIPELINE_BPMN, check_all_completed_once, database, node, reader,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use windlass_store_api::PartitionSet;

/// `windlass server --node NAME` claiming what nobody owns (nothing, here).
fn newcomer(db: &str, dir: &std::path::Path, name: &str) -> ServerProc {
    ServerProc::start_postgres(db, dir, &["--node", name, "--lease-seconds", "2"])
}

/// Waits until the live nodes own every partition between them, each
/// between `low` and `high`; the shares then, and how long it took.
async fn even(
    reader: &windlass_store_postgres::PgStore,
    nodes: usize,
    (low, high): (usize, usize),
    since: Instant,
) -> (BTreeMap<String, usize>, Duration) {
    loop {
        let owners = reader.partition_owners().await.expect("owners");
        let mut shares: BTreeMap<String, usize> = BTreeMap::new();
        for o in owners.iter().filter(|o| o.live) {
            *shares.entry(o.node.clone()).or_default() += 1;
        }
        let total: usize = shares.values().sum();
        let spread = shares.values().all(|n| (low..=high).contains(n));
        if total == 256 && shares.len() == nodes && spread {
            let took = since.elapsed();
            // Even for good: the shares hold for a lease (3 rounds).
            tokio::time::sleep(Duration::from_secs(2)).await;
            let owners = reader.partition_owners().await.expect("owners");
            let mut again: BTreeMap<String, usize> = BTreeMap::new();
            for o in owners.iter().filter(|o| o.live) {
                *again.entry(o.node.clone()).or_default() += 1;
            }
            if again == shares {
                return (shares, took);
            }
            continue;
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "not even after 30 s: {shares:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn joining_nodes_get_their_share_under_load_and_nothing_is_lost_or_doubled() {
    let Some(db) = tokio::task::spawn_blocking(|| database("nodes_rebalance"))
        .await
        .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Arc::new(node(&db, dir.path(), "a", &PartitionSet::all(), "2"));
    let (status, body) = a.deploy(PIPELINE_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let owners = reader(&db).await;
    let load = Load::start(std::slice::from_ref(&a));
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // b joins: a gives half up, b takes it.
    let b = newcomer(&db, dir.path(), "b");
    let (two, took) = even(&owners, 2, (128, 128), Instant::now()).await;
    eprintln!("two nodes even after {took:?}: {two:?}");

    // c joins: both give a third up.
    let c = newcomer(&db, dir.path(), "c");
    let (three, took) = even(&owners, 3, (85, 86), Instant::now()).await;
    eprintln!("three nodes even after {took:?}: {three:?}");
    let (sent, accepted) = load.stop().await;
    eprintln!("{} of {sent} starts accepted through a", accepted.len());
    assert!(accepted.len() > sent / 2, "{} of {sent}", accepted.len());

    // Nothing lost, stuck or doubled, whichever node ran it.
    check_all_completed_once(&a, &accepted).await;
    for (n, log) in [("a", a.stderr()), ("b", b.stderr()), ("c", c.stderr())] {
        let moves: Vec<&str> = log.lines().filter(|l| l.contains("partitions")).collect();
        eprintln!("--- {n}:\n{}", moves.join("\n"));
    }
    // The shares stayed put once even.
    let (still, _) = even(&owners, 3, (85, 86), Instant::now()).await;
    assert_eq!(still, three);
    assert_eq!(two.values().sum::<usize>(), 256);
    assert!(a.stderr().contains("gave partitions"), "{}", a.stderr());
    assert!(
        b.stderr().contains("took over partitions"),
        "{}",
        b.stderr()
    );
    drop(c);
    drop(b);
}
