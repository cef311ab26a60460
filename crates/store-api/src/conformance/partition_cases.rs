//! Conformance case: the partition-scoped recovery reads
//! (`load_unfinished_in`, `due_timers_in`, `pending_outbox_in`, and
//! `pending_outbox_of_kinds_in` for some kinds) return
//! exactly the rows of the whole-store reads whose instance's partition is
//! in the set, in the same order; two nodes' shares together see every row
//! once; rows written before and after a reopen are scoped alike.

use super::StoreFactory;
use super::fixtures::*;
use crate::batch::Batch;
use crate::instance::InstanceStatus;
use crate::outbox::{OutboxChange, OutboxRow};
use crate::store::*;
use crate::timer::{TimerChange, TimerRow};
use windlass_types::{Partition, PartitionSet, Timestamp};

const IDS: usize = 48;

fn id(i: usize) -> String {
    format!("order-{i}")
}

async fn fill<S: Store>(s: &S) {
    let mut b = Batch::new();
    for i in 0..IDS {
        b.create(row(&id(i), "d", i as i64), events(&id(i), 1));
        b.timer(TimerChange::Insert(TimerRow {
            id: format!("{}/t", id(i)),
            instance: iref(&id(i)),
            due_at: Timestamp(1_000 + (i as i64 % 5)),
            payload: vec![1],
        }));
        b.outbox(OutboxChange::Insert(outbox_row(
            &format!("job/{}", id(i)),
            &id(i),
            (i as i64) % 7,
        )));
        if i % 4 == 0 {
            let mut notice = outbox_row(&format!("child-done:{}", id(i)), &id(i), 2);
            notice.kind = "child-done".into();
            b.outbox(OutboxChange::Insert(notice));
        }
    }
    let mut marker = outbox_row("marker", "none", 3);
    marker.instance = None;
    b.outbox(OutboxChange::Insert(marker));
    s.commit(b).await.unwrap();
    // Every third run finished: left out of the unfinished reads.
    let mut b = Batch::new();
    for i in (0..IDS).step_by(3) {
        b.append(
            iref(&id(i)),
            1,
            events("end", 1),
            update(InstanceStatus::Completed, 5_000),
        );
    }
    s.commit(b).await.unwrap();
}

async fn check<S: Store>(s: &S, set: &PartitionSet) {
    let mine = |p: Partition| set.contains(p);
    let runs = |v: Vec<crate::RecoveredInstance>| {
        v.into_iter()
            .map(|r| (r.row.instance.to_string(), r.events.len()))
            .collect::<Vec<_>>()
    };
    let mut all = s.load_unfinished().await.unwrap();
    all.retain(|r| mine(r.row.instance.partition()));
    assert_eq!(
        runs(s.load_unfinished_in(set).await.unwrap()),
        runs(all),
        "load_unfinished_in({set})"
    );

    let mut due = s.due_timers(Timestamp(1_002), usize::MAX).await.unwrap();
    due.retain(|t| mine(t.instance.partition()));
    assert_eq!(
        s.due_timers_in(set, Timestamp(1_002), usize::MAX)
            .await
            .unwrap(),
        due,
        "due_timers_in({set})"
    );
    due.truncate(3);
    assert_eq!(
        s.due_timers_in(set, Timestamp(1_002), 3).await.unwrap(),
        due,
        "due_timers_in({set}) limited"
    );

    let keys = |v: Vec<OutboxRow>| v.into_iter().map(|o| o.key).collect::<Vec<_>>();
    let mut pending = s.pending_outbox().await.unwrap();
    pending.retain(|o| o.partition().is_none_or(mine));
    let scoped = keys(s.pending_outbox_in(set).await.unwrap());
    assert_eq!(scoped, keys(pending.clone()), "pending_outbox_in({set})");
    assert!(scoped.iter().any(|k| k == "marker"), "rows of no partition");
    for kinds in [&["child-done"][..], &["child-done", "job:test"], &[]] {
        let mut of_kinds = pending.clone();
        of_kinds.retain(|o| kinds.contains(&o.kind.as_str()));
        assert_eq!(
            keys(s.pending_outbox_of_kinds_in(set, kinds).await.unwrap()),
            keys(of_kinds),
            "pending_outbox_of_kinds_in({set}, {kinds:?})"
        );
    }
}

/// Scoped reads equal filtered whole reads for two halves, one partition
/// and every partition; the halves split the unfinished runs between them.
pub async fn partition_scoped_reads<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    fill(&s).await;
    let halves = [PartitionSet::share(0, 2), PartitionSet::share(1, 2)];
    let single: PartitionSet = [iref(&id(1)).partition()].into_iter().collect();
    for set in halves
        .iter()
        .chain([&single, &PartitionSet::all(), &PartitionSet::none()])
    {
        check(&s, set).await;
    }
    let counts: Vec<usize> = unfinished_counts(&s, &halves).await;
    assert_eq!(counts.iter().sum::<usize>(), IDS - IDS / 3);
    assert!(
        counts.iter().all(|c| *c > 0),
        "both halves own runs: {counts:?}"
    );
    if let Some(s) = f.reopen(s).await {
        for set in &halves {
            check(&s, set).await;
        }
    }
}

async fn unfinished_counts<S: Store>(s: &S, sets: &[PartitionSet]) -> Vec<usize> {
    let mut out = Vec::with_capacity(sets.len());
    for set in sets {
        out.push(s.load_unfinished_in(set).await.unwrap().len());
    }
    out
}
