//! Several stores (as on several nodes) writing one run at once: for each
//! sequence number exactly one append wins and the others get a conflict,
//! so a run's history is never appended twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use windlass_pg_testing as common;

use windlass_store_api::conformance::{events, iref, row, update};
use windlass_store_api::{Batch, HistoryRead, InstanceStatus, StoreError, StoreWrite};
use windlass_store_postgres::PgStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_append_per_sequence_number_wins() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("race").await;
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(
            PgStore::connect_with(common::options(&schema))
                .await
                .unwrap(),
        );
    }
    let run = iref("shared");
    let mut b = Batch::new();
    b.create(row("shared", "d:1", 1), events("start", 1));
    nodes[0].commit(b).await.unwrap();
    for round in 1..=10u64 {
        let tasks: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                let (node, run) = (node.clone(), run.clone());
                tokio::spawn(async move {
                    let mut b = Batch::new();
                    let moved = update(InstanceStatus::Running, round as i64 + 1);
                    b.append(run, round, vec![format!("{round}:{n}").into_bytes()], moved);
                    node.commit(b).await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => won += 1,
                Err(StoreError::Conflict {
                    expected, actual, ..
                }) => {
                    assert_eq!((expected, actual), (round, round + 1));
                }
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one writer wins");
    }
    let history = nodes[1].history(&run).await.unwrap();
    let seqs: Vec<u64> = history.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=11).collect::<Vec<_>>());
}
