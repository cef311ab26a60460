//! Conformance cases: outbox lifecycle, timers, messages and dedup.

use super::StoreFactory;
use super::fixtures::*;
use crate::*;

/// Insert, list in due order, update (retry with lease), complete; a second
/// completion is an error.
pub async fn outbox_lifecycle<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("k2", "i", 20)));
    b.outbox(OutboxChange::Insert(outbox_row("k1", "i", 10)));
    b.outbox(OutboxChange::Insert(outbox_row("k0", "i", 20)));
    let mut no_instance = outbox_row("k3", "i", 30);
    no_instance.instance = None;
    b.outbox(OutboxChange::Insert(no_instance.clone()));
    s.commit(b).await.unwrap();
    let keys = |rows: Vec<OutboxRow>| rows.into_iter().map(|o| o.key).collect::<Vec<_>>();
    assert_eq!(
        keys(s.pending_outbox().await.unwrap()),
        ["k1", "k0", "k2", "k3"]
    );
    assert_eq!(s.outbox_entry("k3").await.unwrap(), Some(no_instance));

    let mut retry = outbox_row("k1", "i", 40);
    retry.attempt = 2;
    retry.lease = Some(Lease {
        owner: "worker-a".into(),
        expires_at: Timestamp(45),
    });
    let mut b = Batch::new();
    b.outbox(OutboxChange::Update(retry.clone()));
    b.outbox(OutboxChange::Complete("k0".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.outbox_entry("k1").await.unwrap(), Some(retry));
    assert_eq!(s.outbox_entry("k0").await.unwrap(), None);
    assert_eq!(keys(s.pending_outbox().await.unwrap()), ["k2", "k3", "k1"]);

    let mut b = Batch::new();
    b.outbox(OutboxChange::Complete("k0".into()));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { key, .. } if key == "k0"),
        "second completion must fail, got {err:?}"
    );
    // Insert and complete within one batch.
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("k9", "i", 1)));
    b.outbox(OutboxChange::Complete("k9".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.outbox_entry("k9").await.unwrap(), None);
}

/// Duplicate inserts and updates of missing keys fail and change nothing.
pub async fn outbox_errors_leave_nothing_behind<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("k", "i", 1)));
    s.commit(b).await.unwrap();
    let mut b = Batch::new();
    b.outbox(OutboxChange::Insert(outbox_row("k2", "i", 1)));
    b.outbox(OutboxChange::Insert(outbox_row("k", "i", 2)));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists { key, .. } if key == "k"),
        "got {err:?}"
    );
    let mut b = Batch::new();
    b.outbox(OutboxChange::Update(outbox_row("missing", "i", 1)));
    let err = s.commit(b).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
    assert_eq!(
        s.pending_outbox().await.unwrap(),
        vec![outbox_row("k", "i", 1)]
    );
}

fn timer(id: &str, inst: &str, due: i64) -> TimerRow {
    TimerRow {
        id: id.into(),
        instance: iref(inst),
        due_at: Timestamp(due),
        payload: vec![due as u8],
    }
}

/// Timers: insert, due query with limit and order, per instance, delete.
pub async fn timers_basics<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    for t in [
        timer("t3", "a", 30),
        timer("t1", "a", 10),
        timer("t2", "b", 20),
        timer("t0", "b", 20),
    ] {
        b.timer(TimerChange::Insert(t));
    }
    s.commit(b).await.unwrap();
    let ids = |v: Vec<TimerRow>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.due_timers(Timestamp(20), 100).await.unwrap()),
        ["t1", "t0", "t2"]
    );
    assert_eq!(
        ids(s.due_timers(Timestamp(20), 2).await.unwrap()),
        ["t1", "t0"]
    );
    assert!(s.due_timers(Timestamp(9), 100).await.unwrap().is_empty());
    assert_eq!(ids(s.timers_of(&iref("a")).await.unwrap()), ["t1", "t3"]);
    assert_eq!(
        s.timers_of(&iref("a")).await.unwrap()[0],
        timer("t1", "a", 10)
    );
    let mut b = Batch::new();
    b.timer(TimerChange::Delete("t1".into()));
    s.commit(b).await.unwrap();
    assert_eq!(ids(s.timers_of(&iref("a")).await.unwrap()), ["t3"]);
    let mut b = Batch::new();
    b.timer(TimerChange::Insert(timer("t3", "a", 1)));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { .. }),
        "got {err:?}"
    );
    let mut b = Batch::new();
    b.timer(TimerChange::Delete("t1".into()));
    let err = s.commit(b).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
}

fn message(id: &str, name: &str, key: &str, at: i64, exp: Option<i64>) -> MessageRow {
    MessageRow {
        id: id.into(),
        name: name.into(),
        correlation_key: key.into(),
        payload: id.as_bytes().to_vec(),
        published_at: Timestamp(at),
        expires_at: exp.map(Timestamp),
        consumed_at: None,
    }
}

/// Messages: correlation by name and key, expiry, delete, purge.
pub async fn messages_basics<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.message(MessageChange::Insert(message(
        "m2", "ready", "node-1", 20, None,
    )));
    b.message(MessageChange::Insert(message(
        "m1",
        "ready",
        "node-1",
        10,
        Some(100),
    )));
    b.message(MessageChange::Insert(message(
        "m3", "ready", "node-2", 5, None,
    )));
    b.message(MessageChange::Insert(message(
        "m4", "other", "node-1", 5, None,
    )));
    b.message(MessageChange::Insert(message(
        "m5",
        "ready",
        "node-1",
        1,
        Some(50),
    )));
    s.commit(b).await.unwrap();
    let ids = |v: Vec<MessageRow>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let got = s
        .messages_for("ready", "node-1", Timestamp(0))
        .await
        .unwrap();
    assert_eq!(got[1], message("m1", "ready", "node-1", 10, Some(100)));
    assert_eq!(ids(got), ["m5", "m1", "m2"]);
    // m5 expires at 50: not deliverable at 50.
    assert_eq!(
        ids(s
            .messages_for("ready", "node-1", Timestamp(50))
            .await
            .unwrap()),
        ["m1", "m2"]
    );
    let mut b = Batch::new();
    b.message(MessageChange::Delete("m2".into()));
    b.message(MessageChange::DeleteExpired(Timestamp(100)));
    s.commit(b).await.unwrap();
    assert!(
        s.messages_for("ready", "node-1", Timestamp(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(s
            .messages_for("ready", "node-2", Timestamp(0))
            .await
            .unwrap()),
        ["m3"]
    );
    let mut b = Batch::new();
    b.message(MessageChange::Insert(message("m3", "x", "y", 1, None)));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { .. }),
        "got {err:?}"
    );
    let mut b = Batch::new();
    b.message(MessageChange::Delete("m2".into()));
    let err = s.commit(b).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
}

/// Consumed messages: never delivered again, kept (for their id) until
/// their new expiry, listed by `live_messages`; consuming a missing or
/// consumed message fails.
pub async fn messages_consumed<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.message(MessageChange::Insert(message("m1", "n", "k", 10, None)));
    b.message(MessageChange::Insert(message(
        "m2",
        "n",
        "k",
        20,
        Some(500),
    )));
    b.message(MessageChange::Insert(message("m3", "n", "k", 30, Some(40))));
    s.commit(b).await.unwrap();
    let ids = |v: Vec<MessageRow>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let mut b = Batch::new();
    b.message(MessageChange::Consume {
        id: "m1".into(),
        at: Timestamp(50),
        keep_until: Timestamp(1_000),
    });
    s.commit(b).await.unwrap();
    assert_eq!(
        ids(s.messages_for("n", "k", Timestamp(45)).await.unwrap()),
        ["m2"],
        "consumed and expired rows are not deliverable"
    );
    let live = s.live_messages(Timestamp(45)).await.unwrap();
    assert_eq!(ids(live.clone()), ["m1", "m2"]);
    assert_eq!(
        live[0],
        MessageRow {
            expires_at: Some(Timestamp(1_000)),
            consumed_at: Some(Timestamp(50)),
            ..message("m1", "n", "k", 10, None)
        }
    );
    assert_eq!(live[1].consumed_at, None);
    assert_eq!(
        ids(s.live_messages(Timestamp(1_000)).await.unwrap()),
        Vec::<String>::new()
    );
    for id in ["m1", "nope"] {
        let mut b = Batch::new();
        b.message(MessageChange::Consume {
            id: id.into(),
            at: Timestamp(60),
            keep_until: Timestamp(70),
        });
        let err = s.commit(b).await.unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound { .. }),
            "{id}: got {err:?}"
        );
    }
    // The failed consume changed nothing.
    assert_eq!(
        s.live_messages(Timestamp(45)).await.unwrap()[0].expires_at,
        Some(Timestamp(1_000))
    );
    let mut b = Batch::new();
    b.message(MessageChange::DeleteExpired(Timestamp(1_000)));
    s.commit(b).await.unwrap();
    assert_eq!(
        ids(s.live_messages(Timestamp(0)).await.unwrap()),
        Vec::<String>::new()
    );
}

/// Dedup: put, replace (latest wins), read, delete.
pub async fn dedup_basics<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    assert_eq!(s.dedup_entry("ns/name").await.unwrap(), None);
    let holder = |inst: &str, tok: &str| DedupHolder {
        instance: iref(inst),
        token: tok.into(),
        payload: tok.as_bytes().to_vec(),
    };
    let first = DedupRow {
        key: "ns/name".into(),
        running: Some(holder("a", "t1")),
        waiting: None,
        updated_at: Timestamp(1),
    };
    let mut b = Batch::new();
    b.dedup(DedupChange::Put(first.clone()));
    s.commit(b).await.unwrap();
    assert_eq!(s.dedup_entry("ns/name").await.unwrap(), Some(first.clone()));
    let second = DedupRow {
        waiting: Some(holder("b", "t9")),
        updated_at: Timestamp(2),
        ..first
    };
    let third = DedupRow {
        waiting: Some(holder("c", "t3")),
        updated_at: Timestamp(3),
        ..second.clone()
    };
    let mut b = Batch::new();
    b.dedup(DedupChange::Put(second));
    b.dedup(DedupChange::Put(third.clone()));
    s.commit(b).await.unwrap();
    assert_eq!(s.dedup_entry("ns/name").await.unwrap(), Some(third.clone()));
    // Every entry, by key.
    let other = DedupRow {
        key: "a/first".into(),
        running: None,
        waiting: Some(holder("d", "")),
        updated_at: Timestamp(4),
    };
    let mut b = Batch::new();
    b.dedup(DedupChange::Put(other.clone()));
    s.commit(b).await.unwrap();
    assert_eq!(s.dedup_entries().await.unwrap(), vec![other, third]);
    let mut b = Batch::new();
    b.dedup(DedupChange::Delete("ns/name".into()));
    b.dedup(DedupChange::Delete("a/first".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.dedup_entry("ns/name").await.unwrap(), None);
    assert!(s.dedup_entries().await.unwrap().is_empty());
}
