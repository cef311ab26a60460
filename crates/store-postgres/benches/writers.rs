//! Store-level write throughput with one writer and with several nodes
//! under partitioned ownership, on one PostgreSQL server:
//!
//! ```text
//! WINDLASS_TEST_PG=postgres://… cargo bench -p windlass-store-postgres --bench writers \
//!     -- [INSTANCES] [BATCH] [MAX NODES] [ROUNDS]
//! ```
//!
//! (`scripts/bench-writers` starts a server and runs it.) Each instance's
//! life is two batches of `BATCH` instances: a create with three events and
//! a job's outbox row, then an append of two events that completes the run
//! and the job. The single writer (the database lease, fenced per batch)
//! writes every instance, one batch at a time, as the runtime's group
//! commit does; then 1..=MAX NODES nodes each own an equal share of the
//! partitions and write their share of the instances at the same time, one
//! batch at a time each. Every run is on a fresh schema. This measures
//! the store only, not the runtime (which does not run partitioned yet).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};
use windlass_pg_testing as common;
use windlass_store_api::conformance::{events, iref, outbox_row, row, update};
use windlass_store_api::{Batch, InstanceStatus, OutboxChange, PartitionSet, StoreWrite};
use windlass_store_postgres::{LeaseOptions, PgStore};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Writes the lives of `ids` through `store`, `batch` at a time.
async fn write(store: PgStore, ids: Vec<String>, batch: usize) {
    for chunk in ids.chunks(batch) {
        let mut b = Batch::new();
        for id in chunk {
            b.create(row(id, "bench:1", 1), events(id, 3));
            b.outbox(OutboxChange::Insert(outbox_row(
                &format!("{id}/job"),
                id,
                1,
            )));
        }
        store.commit(b).await.unwrap();
        let mut b = Batch::new();
        for id in chunk {
            b.append(
                iref(id),
                3,
                events("done", 2),
                update(InstanceStatus::Completed, 2),
            );
            b.outbox(OutboxChange::Complete(format!("{id}/job")));
        }
        store.commit(b).await.unwrap();
    }
}

/// `n` ids in `set`'s partitions.
fn ids_in(set: &PartitionSet, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("bench-{i}"))
        .filter(|id| set.has_instance(id))
        .take(n)
        .collect()
}

/// One run: `nodes` nodes (0: the single writer) writing `instances`.
async fn run(nodes: u16, instances: usize, batch: usize) -> Duration {
    let schema = common::fresh_schema("bench").await;
    let base = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut writers = Vec::new();
    if nodes == 0 {
        let single = base.with_lease(LeaseOptions::new("single")).await.unwrap();
        writers.push((single, ids_in(&PartitionSet::all(), instances)));
    } else {
        for i in 0..nodes {
            let share = PartitionSet::share(i, nodes);
            let store = PgStore::connect_with(common::options(&schema))
                .await
                .unwrap()
                .join_as_node(LeaseOptions::new(format!("node-{i}")))
                .await
                .unwrap();
            assert_eq!(store.claim_partitions(&share).await.unwrap(), share);
            let n = instances / usize::from(nodes);
            writers.push((store, ids_in(&share, n)));
        }
    }
    let started = Instant::now();
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|(store, ids)| tokio::spawn(write(store, ids, batch)))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    common::admin(&format!("DROP SCHEMA {schema} CASCADE")).await;
    took
}

#[tokio::main]
async fn main() {
    if common::server_url().is_none() {
        return;
    }
    let instances = arg(0, 60_000);
    let batch = arg(1, 256);
    let max_nodes = u16::try_from(arg(2, 3)).unwrap_or(3);
    let rounds = arg(3, 3);
    println!("{instances} instances, batches of {batch}, median of {rounds} rounds");
    let mut medians = Vec::new();
    for nodes in 0..=max_nodes {
        let mut rates: Vec<f64> = Vec::new();
        for _ in 0..rounds {
            let took = run(nodes, instances, batch).await;
            let written = if nodes == 0 {
                instances
            } else {
                instances / usize::from(nodes) * usize::from(nodes)
            };
            rates.push(written as f64 / took.as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        medians.push(median);
        let base = medians[0];
        let who = if nodes == 0 {
            "single writer".to_string()
        } else {
            format!("{nodes} node(s)")
        };
        println!(
            "{who:>14}: {median:>9.0} inst/s  ({:.2}x the single writer)",
            median / base
        );
    }
}
