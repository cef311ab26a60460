//! Conformance case: the runtime's per-node tally of a run is stored with
//! its index row as given, replaced by every append (also when folded into
//! the create of the same batch), and read back by every read path.

use super::StoreFactory;
use super::fixtures::*;
use crate::batch::Batch;
use crate::instance::{InstanceQuery, InstanceStatus, InstanceUpdate};
use crate::store::*;
use windlass_types::Timestamp;

fn update_with(t: i64, tally: &[u8]) -> InstanceUpdate {
    InstanceUpdate {
        tally: tally.to_vec(),
        ..update(InstanceStatus::Running, t)
    }
}

async fn tally_of<S: Store>(s: &S, id: &str) -> Vec<u8> {
    s.instance(&iref(id)).await.unwrap().unwrap().tally
}

/// Create with a tally, append a new one (alone and folded into the same
/// batch's create), read it back through `instance`, `query_instances`,
/// `latest_run` and `load_unfinished`, and after a reopen.
pub async fn tallies_are_stored_and_replaced<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut a = row("a", "d", 100);
    a.tally = b"[[1,1,0,0]]".to_vec();
    let mut b = Batch::new();
    b.create(a, events("a", 1));
    b.create(row("b", "d", 200), events("b", 1));
    b.append(
        iref("b"),
        1,
        events("b2", 1),
        update_with(210, b"[[2,0,1,3]]"),
    );
    s.commit(b).await.unwrap();
    assert_eq!(tally_of(&s, "a").await, b"[[1,1,0,0]]");
    assert_eq!(tally_of(&s, "b").await, b"[[2,0,1,3]]", "folded append");

    let mut b = Batch::new();
    b.append(
        iref("a"),
        1,
        events("a2", 1),
        update_with(300, b"[[1,0,0,1]]"),
    );
    s.commit(b).await.unwrap();
    assert_eq!(tally_of(&s, "a").await, b"[[1,0,0,1]]");

    let listed = s
        .query_instances(&InstanceQuery {
            definition_key: Some("d".into()),
            ..InstanceQuery::default()
        })
        .await
        .unwrap();
    let tallies: Vec<_> = listed.iter().map(|r| r.tally.clone()).collect();
    assert_eq!(
        tallies,
        vec![b"[[1,0,0,1]]".to_vec(), b"[[2,0,1,3]]".to_vec()]
    );
    let latest = s.latest_run(&iref("b").id).await.unwrap().unwrap();
    assert_eq!(latest.tally, b"[[2,0,1,3]]");
    let recovered = s.load_unfinished().await.unwrap();
    assert!(
        recovered
            .iter()
            .any(|r| r.row.instance == iref("a") && r.row.tally == b"[[1,0,0,1]]"),
        "load_unfinished keeps the tally"
    );

    // An empty tally is stored as empty (not as an error or a default).
    let mut b = Batch::new();
    b.append(iref("a"), 2, events("a3", 1), update_with(400, b""));
    s.commit(b).await.unwrap();
    assert_eq!(tally_of(&s, "a").await, b"");

    if let Some(s) = f.reopen(s).await {
        assert_eq!(tally_of(&s, "b").await, b"[[2,0,1,3]]", "after a reopen");
        assert_eq!(
            s.instance(&iref("b")).await.unwrap().unwrap().updated_at,
            Timestamp(210)
        );
    }
}
