//! Conformance case: every history event carries the time its commit
//! recorded for its instance, through every read path and a reopen.

use super::StoreFactory;
use super::fixtures::*;
use crate::batch::Batch;
use crate::history::HistoryEvent;
use crate::instance::InstanceStatus;
use crate::store::*;
use windlass_types::Timestamp;

fn times(h: &[HistoryEvent]) -> Vec<i64> {
    h.iter().map(|e| e.recorded_at.millis()).collect()
}

/// A creation's events carry the row's `created_at` (not its
/// `updated_at`), an append's events its `update.updated_at`; per batch and
/// per instance, also with several appends to one instance in one batch,
/// when a read starts inside one commit's events, in recovery and after a
/// reopen. The store takes the times as given (no clock, no ordering).
pub async fn history_events_carry_their_commit_time<F: StoreFactory>(f: &F) {
    const BIG: i64 = 1_700_000_000_123;
    let s = f.fresh().await;
    let mut a = row("a", "d", 100);
    a.updated_at = Timestamp(150);
    let mut b = Batch::new();
    b.create(a, events("a", 2));
    b.create(row("b", "d", 200), events("b", 1));
    b.create(row("empty", "d", 250), vec![]);
    b.append(
        iref("a"),
        2,
        events("a2", 1),
        update(InstanceStatus::Running, 300),
    );
    b.append(
        iref("a"),
        3,
        events("a3", 2),
        update(InstanceStatus::Running, 310),
    );
    b.append(
        iref("b"),
        1,
        events("b2", 1),
        update(InstanceStatus::Running, BIG),
    );
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.append(
        iref("a"),
        5,
        events("a4", 1),
        update(InstanceStatus::Running, 500),
    );
    // Earlier than the creation: stored as given.
    b.append(
        iref("empty"),
        0,
        events("e", 2),
        update(InstanceStatus::Running, -7),
    );
    s.commit(b).await.unwrap();

    let want_a = [100, 100, 300, 310, 310, 500];
    let want_b = [200, BIG];
    let want_empty = [-7, -7];
    let check = async |s: &F::Store| {
        assert_eq!(times(&s.history(&iref("a")).await.unwrap()), want_a);
        assert_eq!(times(&s.history(&iref("b")).await.unwrap()), want_b);
        assert_eq!(times(&s.history(&iref("empty")).await.unwrap()), want_empty);
        // Starting inside the commit of events 4..=5.
        let after = s.history_after(&iref("a"), 4).await.unwrap();
        assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6]);
        assert_eq!(times(&after), [310, 500]);
        let rec = s.load_unfinished().await.unwrap();
        let ids: Vec<&str> = rec.iter().map(|r| r.row.instance.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "empty"]);
        assert_eq!(times(&rec[0].events), want_a);
        assert_eq!(times(&rec[1].events), want_b);
        assert_eq!(times(&rec[2].events), want_empty);
    };
    check(&s).await;
    if let Some(s) = f.reopen(s).await {
        check(&s).await;
    }
}
