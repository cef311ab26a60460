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

/// A run created with events carried over from another run (a reset)
/// stores them first, each group with its original time, then its own
/// events at `created_at`; the sequence is gap-free across them, an append
/// continues it, an append in the same batch too, and a reopen keeps it.
pub async fn carried_events_keep_their_times<F: StoreFactory>(f: &F) {
    use crate::batch::CarriedEvents;
    let s = f.fresh().await;
    let carried = vec![
        CarriedEvents {
            recorded_at: Timestamp(10),
            events: events("c1", 2),
        },
        CarriedEvents {
            recorded_at: Timestamp(20),
            events: events("c2", 1),
        },
        // At the run's own creation time: stored together with its own
        // events or apart, the times read back the same.
        CarriedEvents {
            recorded_at: Timestamp(500),
            events: events("c3", 1),
        },
    ];
    let mut b = Batch::new();
    b.create_carried(row("a", "d", 500), carried, events("own", 2));
    b.create_carried(row("only", "d", 600), Vec::new(), events("o", 1));
    b.create_carried(
        row("carried-only", "d", 700),
        vec![CarriedEvents {
            recorded_at: Timestamp(5),
            events: events("x", 2),
        }],
        Vec::new(),
    );
    b.append(
        iref("carried-only"),
        2,
        events("y", 1),
        update(InstanceStatus::Running, 710),
    );
    assert_eq!(b.event_count(), 6 + 1 + 3);
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.append(
        iref("a"),
        6,
        events("next", 1),
        update(InstanceStatus::Running, 800),
    );
    s.commit(b).await.unwrap();

    let check = async |s: &F::Store| {
        let h = s.history(&iref("a")).await.unwrap();
        assert_eq!(
            h.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(times(&h), [10, 10, 20, 500, 500, 500, 800]);
        let payloads: Vec<String> = h
            .iter()
            .map(|e| String::from_utf8_lossy(&e.payload).into_owned())
            .collect();
        assert_eq!(
            payloads,
            ["c1#0", "c1#1", "c2#0", "c3#0", "own#0", "own#1", "next#0"]
        );
        assert_eq!(s.instance(&iref("a")).await.unwrap().unwrap().last_seq, 7);
        let after = s.history_after(&iref("a"), 2).await.unwrap();
        assert_eq!(times(&after), [20, 500, 500, 500, 800]);
        assert_eq!(times(&s.history(&iref("only")).await.unwrap()), [600]);
        let h = s.history(&iref("carried-only")).await.unwrap();
        assert_eq!(times(&h), [5, 5, 710]);
    };
    check(&s).await;
    if let Some(s) = f.reopen(s).await {
        check(&s).await;
    }
}
