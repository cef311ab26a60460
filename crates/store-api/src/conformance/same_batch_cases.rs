//! Conformance cases for operations on the same key within one batch, which
//! backends may write in fewer steps (fold appends into a create, drop an
//! outbox row inserted and completed together) but must keep exact.

use super::StoreFactory;
use super::fixtures::*;
use crate::*;

/// A create with appends at other times in the same batch keeps every
/// event's time and sequence; a later wrong append to it in that batch is a
/// conflict naming the sequence the earlier appends reached, and nothing of
/// the batch remains.
pub async fn same_batch_appends_keep_times_and_conflicts<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 2));
    b.append(
        iref("i"),
        2,
        events("b", 1),
        update(InstanceStatus::Running, 1),
    );
    b.append(
        iref("i"),
        3,
        events("c", 1),
        update(InstanceStatus::Incident, 7),
    );
    s.commit(b).await.unwrap();
    let h = s.history(&iref("i")).await.unwrap();
    let got: Vec<_> = h.iter().map(|e| (e.seq, e.recorded_at.0)).collect();
    assert_eq!(got, [(1, 1), (2, 1), (3, 1), (4, 7)]);
    let r = s.instance(&iref("i")).await.unwrap().unwrap();
    assert_eq!(
        (r.last_seq, r.status, r.updated_at.0),
        (4, InstanceStatus::Incident, 7)
    );

    let mut b = Batch::new();
    b.create(row("j", "d", 2), events("a", 1));
    b.append(
        iref("j"),
        1,
        events("b", 2),
        update(InstanceStatus::Running, 3),
    );
    b.append(
        iref("j"),
        1,
        events("c", 1),
        update(InstanceStatus::Completed, 3),
    );
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Conflict {
                expected: 1,
                actual: 3,
                ..
            }
        ),
        "got {err:?}"
    );
    assert_eq!(s.instance(&iref("j")).await.unwrap(), None);
}

/// Inserting an outbox key that already exists fails even when the same
/// batch completes it; the stored row stays as it was.
pub async fn outbox_insert_and_complete_of_an_existing_key_fails<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("k", "i", 1)));
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("k", "i", 2)));
    b.outbox(OutboxChange::Update(outbox_row("k", "i", 3)));
    b.outbox(OutboxChange::Complete("k".into()));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists { key, .. } if key == "k"),
        "got {err:?}"
    );
    assert_eq!(
        s.outbox_entry("k").await.unwrap(),
        Some(outbox_row("k", "i", 1))
    );
    // A fresh key inserted, updated and completed together leaves no row.
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("n", "i", 2)));
    b.outbox(OutboxChange::Update(outbox_row("n", "i", 3)));
    b.outbox(OutboxChange::Complete("n".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.outbox_entry("n").await.unwrap(), None);
}
