//! Conformance cases: definitions, history appends, optimistic concurrency
//! and batch atomicity.

use super::StoreFactory;
use super::fixtures::*;
use crate::batch::Batch;
use crate::error::StoreError;
use crate::instance::InstanceStatus;
use crate::store::*;

/// Definitions round-trip, list in order, and are immutable.
pub async fn definitions_are_stored_listed_and_immutable<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    assert_eq!(s.definition("b:2").await.unwrap(), None);
    let mut b = Batch::new();
    b.put_definition(definition("b:2", "b", 2));
    b.put_definition(definition("a:1", "a", 1));
    b.put_definition(definition("b:1", "b", 1));
    s.commit(b).await.unwrap();
    assert_eq!(
        s.definition("b:2").await.unwrap(),
        Some(definition("b:2", "b", 2))
    );
    let keys: Vec<String> = s
        .definitions()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(keys, ["a:1", "b:1", "b:2"]);
    let latest: Vec<(String, u32, String)> = s
        .latest_definitions()
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.process_id, d.version, d.key))
        .collect();
    assert_eq!(
        latest,
        [
            ("a".to_string(), 1, "a:1".to_string()),
            ("b".to_string(), 2, "b:2".to_string())
        ]
    );
    // Same content again: a no-op.
    let mut b = Batch::new();
    b.put_definition(definition("a:1", "a", 1));
    s.commit(b).await.unwrap();
    // The same content deployed again at another time (two processes
    // deploying one file): a no-op too, and the first row stays.
    let mut later = definition("a:1", "a", 1);
    later.deployed_at = windlass_types::Timestamp(later.deployed_at.0 + 1000);
    let mut b = Batch::new();
    b.put_definition(later);
    s.commit(b).await.unwrap();
    // Different content under the same key: refused.
    let mut changed = definition("a:1", "a", 1);
    changed.source.push_str("<!-- changed -->");
    let mut b = Batch::new();
    b.put_definition(changed);
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists { key, .. } if key == "a:1"),
        "got {err:?}"
    );
    assert_eq!(
        s.definition("a:1").await.unwrap(),
        Some(definition("a:1", "a", 1))
    );
}

/// A created run has its events numbered from 1 and its row stored.
pub async fn create_then_read_history_and_row<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut r = row("i1", "d:1", 100);
    r.business_key = Some("order-1".into());
    r.parent = Some(iref("p"));
    r.last_seq = 99; // ignored by the store
    let mut b = Batch::new();
    b.create(r.clone(), events("i1", 3));
    s.commit(b).await.unwrap();
    let h = s.history(&iref("i1")).await.unwrap();
    assert_eq!(h.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        h.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
        events("i1", 3)
    );
    r.last_seq = 3;
    assert_eq!(s.instance(&iref("i1")).await.unwrap(), Some(r));
    assert_eq!(s.instance(&iref("nope")).await.unwrap(), None);
    let err = s.history(&iref("nope")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
    // A run with no events yet.
    let mut b = Batch::new();
    b.create(row("i2", "d:1", 101), vec![]);
    s.commit(b).await.unwrap();
    assert!(s.history(&iref("i2")).await.unwrap().is_empty());
    assert_eq!(s.instance(&iref("i2")).await.unwrap().unwrap().last_seq, 0);
}

/// Appends continue the sequence, keep order and update the row.
pub async fn appends_continue_the_sequence_in_order<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 10), events("a", 2));
    s.commit(b).await.unwrap();
    let mut expected = events("a", 2);
    let mut last = 2u64;
    for round in 0..5 {
        let evs = events(&format!("r{round}"), round + 1);
        let mut b = Batch::new();
        b.append(
            iref("i"),
            last,
            evs.clone(),
            update(InstanceStatus::Running, 20 + round as i64),
        );
        s.commit(b).await.unwrap();
        last += evs.len() as u64;
        expected.extend(evs);
    }
    let h = s.history(&iref("i")).await.unwrap();
    assert_eq!(h.len(), expected.len());
    for (i, e) in h.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(e.payload, expected[i]);
    }
    let r = s.instance(&iref("i")).await.unwrap().unwrap();
    assert_eq!(r.last_seq, last);
    assert_eq!(r.updated_at.millis(), 24);
    assert_eq!(r.created_at.millis(), 10);
    let mut b = Batch::new();
    b.append(
        iref("i"),
        last,
        events("end", 1),
        update(InstanceStatus::Completed, 30),
    );
    s.commit(b).await.unwrap();
    assert_eq!(
        s.instance(&iref("i")).await.unwrap().unwrap().status,
        InstanceStatus::Completed
    );
}

/// `history_after` returns only events above the given sequence, also when
/// the cut falls inside one commit's events.
pub async fn history_after_returns_only_newer_events<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 3));
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.append(
        iref("i"),
        3,
        events("b", 3),
        update(InstanceStatus::Running, 2),
    );
    s.commit(b).await.unwrap();
    let seqs = |h: Vec<crate::HistoryEvent>| h.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(s.history_after(&iref("i"), 0).await.unwrap()),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        seqs(s.history_after(&iref("i"), 2).await.unwrap()),
        [3, 4, 5, 6]
    );
    assert_eq!(
        seqs(s.history_after(&iref("i"), 3).await.unwrap()),
        [4, 5, 6]
    );
    assert_eq!(seqs(s.history_after(&iref("i"), 5).await.unwrap()), [6]);
    assert!(s.history_after(&iref("i"), 6).await.unwrap().is_empty());
    let after4 = s.history_after(&iref("i"), 4).await.unwrap();
    assert_eq!(after4[0].payload, b"b#1".to_vec());
    let err = s.history_after(&iref("x"), 0).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
}

/// An append whose expected sequence is stale (or ahead) fails with a
/// conflict naming the instance and both versions, and writes nothing.
pub async fn wrong_expected_seq_is_a_conflict_naming_versions<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 4));
    s.commit(b).await.unwrap();
    for expected in [0u64, 3, 5] {
        let mut b = Batch::new();
        b.append(
            iref("i"),
            expected,
            events("x", 1),
            update(InstanceStatus::Completed, 9),
        );
        let err = s.commit(b).await.unwrap_err();
        assert_eq!(
            err,
            StoreError::Conflict {
                instance: iref("i"),
                expected,
                actual: 4
            },
            "expected {expected}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("'i' run 'r1'") && msg.contains(&expected.to_string()),
            "{msg}"
        );
    }
    assert_eq!(s.history(&iref("i")).await.unwrap().len(), 4);
    let r = s.instance(&iref("i")).await.unwrap().unwrap();
    assert_eq!((r.last_seq, r.status), (4, InstanceStatus::Running));
}

/// Creating an existing run, or appending to a missing one, is an error.
pub async fn duplicate_create_and_missing_instance_are_errors<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 1));
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.create(row("i", "d", 2), events("b", 1));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                what: "instance",
                ..
            }
        ),
        "got {err:?}"
    );
    // Another run of the same id is a different instance run.
    let mut other_run = row("i", "d", 3);
    other_run.instance.run = crate::RunId::new("r2");
    let mut b = Batch::new();
    b.create(other_run.clone(), events("c", 2));
    s.commit(b).await.unwrap();
    assert_eq!(s.history(&other_run.instance).await.unwrap().len(), 2);
    assert_eq!(s.history(&iref("i")).await.unwrap().len(), 1);
    let mut b = Batch::new();
    b.append(
        iref("missing"),
        0,
        events("m", 1),
        update(InstanceStatus::Running, 1),
    );
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "instance",
                ..
            }
        ),
        "got {err:?}"
    );
    assert!(err.to_string().contains("missing"), "{err}");
}

/// The errors a batch can cause are classed for the writer's reaction: a
/// moved history, an existing or a missing row are `Conflict` (the unit is
/// wrong, the store is fine), a malformed batch is `Permanent`; after any of
/// them the store takes the next good batch.
pub async fn batch_errors_are_classed<F: StoreFactory>(f: &F) {
    use crate::error::ErrorClass;
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 2));
    s.commit(b).await.unwrap();
    let mut stale = Batch::new();
    stale.append(
        iref("i"),
        1,
        events("x", 1),
        update(InstanceStatus::Running, 2),
    );
    let mut twice = Batch::new();
    twice.create(row("i", "d", 2), events("b", 1));
    let mut missing = Batch::new();
    missing.append(
        iref("nope"),
        0,
        events("m", 1),
        update(InstanceStatus::Running, 2),
    );
    for (what, batch) in [
        ("stale append", stale),
        ("duplicate create", twice),
        ("missing", missing),
    ] {
        let err = s.commit(batch).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Conflict, "{what}: {err:?}");
    }
    let mut empty = Batch::new();
    empty.append(iref("i"), 2, vec![], update(InstanceStatus::Running, 2));
    let err = s.commit(empty).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err:?}");
    let mut good = Batch::new();
    good.append(
        iref("i"),
        2,
        events("y", 1),
        update(InstanceStatus::Completed, 3),
    );
    s.commit(good).await.unwrap();
    assert_eq!(s.history(&iref("i")).await.unwrap().len(), 3);
}

/// An append without events is refused as invalid.
pub async fn empty_append_is_invalid<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 1));
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.append(iref("i"), 1, vec![], update(InstanceStatus::Completed, 2));
    let err = s.commit(b).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "got {err:?}");
    assert_eq!(
        s.instance(&iref("i")).await.unwrap().unwrap().status,
        InstanceStatus::Running
    );
}

/// One batch may create a run and append to it twice.
pub async fn create_and_append_in_one_batch<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("a", 2));
    b.append(
        iref("i"),
        2,
        events("b", 1),
        update(InstanceStatus::Running, 2),
    );
    b.append(
        iref("i"),
        3,
        events("c", 2),
        update(InstanceStatus::Completed, 3),
    );
    s.commit(b).await.unwrap();
    let h = s.history(&iref("i")).await.unwrap();
    assert_eq!(h.len(), 5);
    assert_eq!(h[2].payload, b"b#0".to_vec());
    assert_eq!(h[4].payload, b"c#1".to_vec());
    let r = s.instance(&iref("i")).await.unwrap().unwrap();
    assert_eq!((r.last_seq, r.status), (5, InstanceStatus::Completed));
}

/// A batch with one failing operation (here the very last) leaves every
/// table exactly as it was.
pub async fn failing_batch_changes_nothing<F: StoreFactory>(f: &F) {
    use crate::*;
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.create(row("old", "d", 1), events("o", 2));
    b.outbox(OutboxChange::Insert(outbox_row("k-old", "old", 5)));
    b.timer(TimerChange::Insert(TimerRow {
        id: "t-old".into(),
        instance: iref("old"),
        due_at: Timestamp(50),
        payload: vec![1],
    }));
    s.commit(b).await.unwrap();

    let mut b = Batch::new();
    b.put_definition(definition("new:1", "new", 1));
    b.create(row("new", "new:1", 2), events("n", 3));
    b.append(
        iref("old"),
        2,
        events("o2", 1),
        update(InstanceStatus::Completed, 3),
    );
    b.outbox(OutboxChange::Insert(outbox_row("k-new", "new", 1)));
    b.outbox(OutboxChange::Complete("k-old".into()));
    b.timer(TimerChange::Delete("t-old".into()));
    b.message(MessageChange::Insert(MessageRow {
        id: "m1".into(),
        name: "n".into(),
        correlation_key: "c".into(),
        payload: vec![],
        published_at: Timestamp(1),
        expires_at: None,
        consumed_at: None,
    }));
    b.dedup(DedupChange::Put(DedupRow {
        key: "dk".into(),
        running: None,
        waiting: None,
        updated_at: Timestamp(1),
    }));
    // The failing operation: a dedup delete of a key that does not exist.
    b.dedup(DedupChange::Delete("no-such-key".into()));
    let err = s.commit(b).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");

    assert_eq!(s.definition("new:1").await.unwrap(), None);
    assert_eq!(s.instance(&iref("new")).await.unwrap(), None);
    assert_eq!(s.history(&iref("old")).await.unwrap().len(), 2);
    let old = s.instance(&iref("old")).await.unwrap().unwrap();
    assert_eq!((old.last_seq, old.status), (2, InstanceStatus::Running));
    let keys: Vec<String> = s
        .pending_outbox()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, ["k-old"]);
    assert_eq!(s.timers_of(&iref("old")).await.unwrap().len(), 1);
    assert!(
        s.messages_for("n", "c", Timestamp(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.dedup_entry("dk").await.unwrap(), None);

    // The same batch without the failing operation commits.
    let mut b = Batch::new();
    b.append(
        iref("old"),
        2,
        events("o2", 1),
        update(InstanceStatus::Completed, 3),
    );
    s.commit(b).await.unwrap();
    assert_eq!(s.history(&iref("old")).await.unwrap().len(), 3);
}

/// A group commit of many instances, each with create and append.
pub async fn many_instances_in_one_batch<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let n = 2_000;
    let mut b = Batch::new();
    for i in 0..n {
        let id = format!("m{i:05}");
        b.create(row(&id, "d", i), events(&id, 2));
        b.append(
            iref(&id),
            2,
            events(&id, 3),
            update(InstanceStatus::Completed, i + 1),
        );
    }
    s.commit(b).await.unwrap();
    for i in [0, 777, n - 1] {
        let id = format!("m{i:05}");
        let h = s.history(&iref(&id)).await.unwrap();
        assert_eq!(h.len(), 5);
        assert_eq!(h[4].payload, format!("{id}#2").into_bytes());
    }
    let all = s
        .query_instances(&crate::InstanceQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), n as usize);
    assert!(s.load_unfinished().await.unwrap().is_empty());
}
