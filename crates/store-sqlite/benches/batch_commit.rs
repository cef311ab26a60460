//! Group-commit throughput and recovery time of the SQLite store (and the
//! in-memory store for comparison). A plain `harness = false` benchmark:
//!
//! ```sh
//! cargo bench -p windlass-store-sqlite --bench batch_commit
//! ```
//!
//! Workload per "simple instance", as the runtime writes it: one create with
//! 4 events (one history row), one append of 2 events that completes it
//! (one history row, instance row update), one outbox insert and, in the next
//! batch, its completion. Every commit is one transaction; with
//! `synchronous=FULL` every commit is fsync'd. Files go to a temporary
//! directory on the disk holding `CARGO_TARGET_DIR` (not tmpfs), override
//! with `WINDLASS_BENCH_DIR`.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Instant;
use windlass_store_api::*;
use windlass_store_memory::MemoryStore;
use windlass_store_sqlite::{SqliteOptions, SqliteStore, SyncMode};

fn event(tag: usize, i: usize) -> Vec<u8> {
    // About the size of a compact engine event.
    let mut e = format!("ev{tag}:{i}:").into_bytes();
    e.resize(40, 7);
    e
}

fn row(id: &str, t: i64) -> InstanceRow {
    InstanceRow {
        instance: InstanceRef::new(id, "1"),
        definition_key: "simple:1".into(),
        status: InstanceStatus::Running,
        business_key: None,
        parent: None,
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
        last_seq: 0,
        tally: Vec::new(),
    }
}

/// Batch `n` of `size` instances; completes the outbox rows of batch `n-1`.
fn batch(n: usize, size: usize) -> Batch {
    let mut b = Batch::new();
    for k in 0..size {
        let i = n * size + k;
        let id = format!("i{i}");
        b.create(row(&id, i as i64), (0..4).map(|e| event(e, i)).collect());
        b.append(
            InstanceRef::new(&id, "1"),
            4,
            vec![event(4, i), event(5, i)],
            InstanceUpdate {
                status: InstanceStatus::Completed,
                updated_at: Timestamp(i as i64),
                tally: Vec::new(),
            },
        );
        b.outbox(OutboxChange::Insert(OutboxRow {
            key: format!("{id}/task/1"),
            kind: "job:mock".into(),
            instance: Some(InstanceRef::new(&id, "1")),
            payload: event(9, i),
            due_at: Timestamp(i as i64),
            attempt: 1,
            lease: None,
        }));
        if n > 0 {
            b.outbox(OutboxChange::Complete(format!("i{}/task/1", i - size)));
        }
    }
    b
}

async fn run<S: Store>(label: &str, store: &S, size: usize, total: usize) {
    let batches = total / size;
    let prepared: Vec<Batch> = (0..batches).map(|n| batch(n, size)).collect();
    let start = Instant::now();
    for b in prepared {
        store.commit(b).await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let inst = (batches * size) as f64;
    // Rows touched per instance: instance insert + update, 2 history rows,
    // outbox insert + delete.
    println!(
        "{label:<34} batch {size:>5}: {:>9.0} instances/s  {:>9.0} rows/s  {:>7.0} commits/s",
        inst / secs,
        inst * 6.0 / secs,
        batches as f64 / secs
    );
}

async fn recovery<S: Store>(label: &str, store: &S, n: usize) {
    let size = 1_000;
    for b in 0..n / size {
        let mut batch = Batch::new();
        for k in 0..size {
            let i = b * size + k;
            let id = format!("u{i}");
            batch.create(row(&id, i as i64), (0..3).map(|e| event(e, i)).collect());
            batch.append(
                InstanceRef::new(&id, "1"),
                3,
                vec![event(3, i), event(4, i)],
                InstanceUpdate {
                    status: InstanceStatus::Running,
                    updated_at: Timestamp(1),
                    tally: Vec::new(),
                },
            );
        }
        store.commit(batch).await.unwrap();
    }
    let start = Instant::now();
    let rec = store.load_unfinished().await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(rec.len(), n);
    assert!(rec.iter().all(|r| r.events.len() == 5));
    println!(
        "{label:<34} load_unfinished of {n} instances (5 events each): {:.3} s",
        secs
    );
}

fn main() {
    let base = std::env::var("WINDLASS_BENCH_DIR")
        .or_else(|_| std::env::var("CARGO_TARGET_DIR"))
        .unwrap_or_else(|_| ".".into());
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let total = 100_000;
        for (sync, name) in [(SyncMode::Full, "FULL"), (SyncMode::Normal, "NORMAL")] {
            for size in [100, 1_000] {
                let path = dir.path().join(format!("bench-{name}-{size}.db"));
                let mut opts = SqliteOptions::new(&path);
                opts.sync = sync;
                let store = SqliteStore::open_with(opts).unwrap();
                run(&format!("sqlite synchronous={name}"), &store, size, total).await;
            }
        }
        run("memory", &MemoryStore::new(), 1_000, total).await;
        let store = SqliteStore::open(dir.path().join("recovery.db")).unwrap();
        recovery("sqlite", &store, 100_000).await;
        recovery("memory", &MemoryStore::new(), 100_000).await;
    });
}
