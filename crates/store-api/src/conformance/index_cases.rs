//! Conformance cases: instance queries, recovery reads and persistence
//! across a reopen.

use super::StoreFactory;
use super::fixtures::*;
use crate::*;

fn ids(rows: &[InstanceRow]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{}/{}", r.instance.id, r.instance.run))
        .collect()
}

/// Queries by id, definition, status, business key, parent, time range and
/// limit, always ordered by `(created_at, id, run)`.
pub async fn queries_filter_and_order<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    // Created out of order on purpose.
    let mut c = row("c", "d:1", 30);
    c.business_key = Some("bk-1".into());
    let mut a = row("a", "d:2", 10);
    a.business_key = Some("bk-1".into());
    let mut bb = row("b", "d:1", 20);
    bb.parent = Some(iref("a"));
    let mut a2 = row("a", "d:1", 40);
    a2.instance.run = RunId::new("r2");
    let same_time = row("aa", "d:1", 30);
    for r in [c, a, bb, a2, same_time] {
        b.create(r, events("e", 1));
    }
    b.append(
        iref("b"),
        1,
        events("x", 1),
        update(InstanceStatus::Incident, 50),
    );
    b.append(
        iref("c"),
        1,
        events("x", 1),
        update(InstanceStatus::Completed, 50),
    );
    s.commit(b).await.unwrap();

    let q = |q: InstanceQuery| {
        let s = &s;
        async move { ids(&s.query_instances(&q).await.unwrap()) }
    };
    assert_eq!(
        q(InstanceQuery::default()).await,
        ["a/r1", "b/r1", "aa/r1", "c/r1", "a/r2"]
    );
    let by_id = InstanceQuery {
        id: Some(InstanceId::new("a")),
        ..Default::default()
    };
    assert_eq!(q(by_id).await, ["a/r1", "a/r2"]);
    let by_def = InstanceQuery {
        definition_key: Some("d:1".into()),
        ..Default::default()
    };
    assert_eq!(q(by_def).await, ["b/r1", "aa/r1", "c/r1", "a/r2"]);
    let by_prefix = InstanceQuery {
        definition_prefix: Some("d:".into()),
        ..Default::default()
    };
    assert_eq!(
        q(by_prefix).await,
        ["a/r1", "b/r1", "aa/r1", "c/r1", "a/r2"]
    );
    let by_prefix = InstanceQuery {
        definition_prefix: Some("d:2".into()),
        ..Default::default()
    };
    assert_eq!(q(by_prefix).await, ["a/r1"]);
    let literal = InstanceQuery {
        definition_prefix: Some("d%".into()),
        ..Default::default()
    };
    assert!(q(literal).await.is_empty(), "% is no wildcard");
    let by_id_prefix = InstanceQuery {
        id_prefix: Some("a".into()),
        ..Default::default()
    };
    assert_eq!(q(by_id_prefix).await, ["a/r1", "aa/r1", "a/r2"]);
    let by_id_prefix = InstanceQuery {
        id_prefix: Some("aa".into()),
        ..Default::default()
    };
    assert_eq!(q(by_id_prefix).await, ["aa/r1"]);
    let longer = InstanceQuery {
        id_prefix: Some("aaa".into()),
        ..Default::default()
    };
    assert!(q(longer).await.is_empty());
    let running = InstanceQuery {
        status: Some(InstanceStatus::Running),
        ..Default::default()
    };
    assert_eq!(q(running).await, ["a/r1", "aa/r1", "a/r2"]);
    let incident = InstanceQuery {
        status: Some(InstanceStatus::Incident),
        ..Default::default()
    };
    assert_eq!(q(incident).await, ["b/r1"]);
    let by_bk = InstanceQuery {
        business_key: Some("bk-1".into()),
        ..Default::default()
    };
    assert_eq!(q(by_bk).await, ["a/r1", "c/r1"]);
    let by_parent = InstanceQuery {
        parent: Some(iref("a")),
        ..Default::default()
    };
    assert_eq!(q(by_parent).await, ["b/r1"]);
    let range = InstanceQuery {
        created_from: Some(Timestamp(20)),
        created_until: Some(Timestamp(40)),
        ..Default::default()
    };
    assert_eq!(q(range).await, ["b/r1", "aa/r1", "c/r1"]);
    let combined = InstanceQuery {
        definition_key: Some("d:1".into()),
        status: Some(InstanceStatus::Running),
        created_from: Some(Timestamp(30)),
        ..Default::default()
    };
    assert_eq!(q(combined).await, ["aa/r1", "a/r2"]);
    let limited = InstanceQuery {
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(q(limited).await, ["a/r1", "b/r1"]);
    let zero = InstanceQuery {
        limit: Some(0),
        ..Default::default()
    };
    assert!(q(zero).await.is_empty());
    let none = InstanceQuery {
        business_key: Some("nope".into()),
        ..Default::default()
    };
    assert!(q(none).await.is_empty());
}

/// Recovery gets every unfinished run (running or incident) with its whole
/// history, and no finished run.
pub async fn load_unfinished_returns_rows_with_full_histories<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    for (i, id) in ["u1", "done", "u2", "inc", "term"].iter().enumerate() {
        b.create(row(id, "d", i as i64), events(id, 2));
    }
    b.append(
        iref("u1"),
        2,
        events("u1b", 2),
        update(InstanceStatus::Running, 9),
    );
    b.append(
        iref("done"),
        2,
        events("x", 1),
        update(InstanceStatus::Completed, 9),
    );
    b.append(
        iref("inc"),
        2,
        events("x", 1),
        update(InstanceStatus::Incident, 9),
    );
    b.append(
        iref("term"),
        2,
        events("x", 1),
        update(InstanceStatus::Terminated, 9),
    );
    s.commit(b).await.unwrap();
    let rec = s.load_unfinished().await.unwrap();
    let got: Vec<&str> = rec.iter().map(|r| r.row.instance.id.as_str()).collect();
    assert_eq!(got, ["u1", "u2", "inc"]);
    let u1 = &rec[0];
    assert_eq!(u1.row.last_seq, 4);
    assert_eq!(
        u1.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let mut want = events("u1", 2);
    want.extend(events("u1b", 2));
    assert_eq!(
        u1.events
            .iter()
            .map(|e| e.payload.clone())
            .collect::<Vec<_>>(),
        want
    );
    assert_eq!(rec[2].row.status, InstanceStatus::Incident);
    assert_eq!(rec[2].events.len(), 3);
}

/// A durable backend keeps every table across close and reopen, and the
/// reopened store accepts further appends at the right sequence.
pub async fn reopen_keeps_everything<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    b.put_definition(definition("d:1", "d", 1));
    let mut r = row("i", "d:1", 5);
    r.business_key = Some("bk".into());
    b.create(r, events("a", 3));
    b.outbox(OutboxChange::Insert(outbox_row("k", "i", 7)));
    b.timer(TimerChange::Insert(TimerRow {
        id: "t".into(),
        instance: iref("i"),
        due_at: Timestamp(9),
        payload: vec![9],
    }));
    b.message(MessageChange::Insert(MessageRow {
        id: "m".into(),
        name: "n".into(),
        correlation_key: "c".into(),
        payload: vec![1],
        published_at: Timestamp(1),
        expires_at: None,
        consumed_at: None,
    }));
    b.dedup(DedupChange::Put(DedupRow {
        key: "dk".into(),
        running: Some(DedupHolder {
            instance: iref("i"),
            token: "t1".into(),
            payload: vec![],
        }),
        waiting: None,
        updated_at: Timestamp(2),
    }));
    s.commit(b).await.unwrap();
    let Some(s) = f.reopen(s).await else {
        return; // not a durable backend
    };
    assert_eq!(
        s.definition("d:1").await.unwrap(),
        Some(definition("d:1", "d", 1))
    );
    assert_eq!(s.history(&iref("i")).await.unwrap().len(), 3);
    let r = s.instance(&iref("i")).await.unwrap().unwrap();
    assert_eq!((r.last_seq, r.business_key.as_deref()), (3, Some("bk")));
    assert_eq!(
        s.pending_outbox().await.unwrap(),
        vec![outbox_row("k", "i", 7)]
    );
    assert_eq!(s.timers_of(&iref("i")).await.unwrap().len(), 1);
    assert_eq!(
        s.messages_for("n", "c", Timestamp(0)).await.unwrap().len(),
        1
    );
    assert!(s.dedup_entry("dk").await.unwrap().is_some());
    let mut b = Batch::new();
    b.append(
        iref("i"),
        3,
        events("b", 1),
        update(InstanceStatus::Completed, 8),
    );
    b.outbox(OutboxChange::Complete("k".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.history(&iref("i")).await.unwrap().len(), 4);
    assert!(s.pending_outbox().await.unwrap().is_empty());
}

/// Keyset paging: `after` continues exactly behind a row in the
/// `(created_at, id, run)` order — ties on the time broken by id, then run —
/// with every filter still applied, and a cursor needs no row to exist.
pub async fn queries_page_after_a_cursor<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let mut b = Batch::new();
    let mut a2 = row("a", "d:2", 10);
    a2.instance.run = RunId::new("r2");
    for r in [
        row("b", "d:1", 10),
        row("a", "d:2", 10),
        a2,
        row("c", "d:1", 5),
        row("z", "d:1", 20),
    ] {
        b.create(r, events("e", 1));
    }
    s.commit(b).await.unwrap();
    let all = ids(&s.query_instances(&InstanceQuery::default()).await.unwrap());
    assert_eq!(all, ["c/r1", "a/r1", "a/r2", "b/r1", "z/r1"]);

    // Pages of two, each continuing after the last row of the one before.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let q = InstanceQuery {
            after: after.clone(),
            limit: Some(2),
            ..Default::default()
        };
        let page = s.query_instances(&q).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        seen.extend(ids(&page));
        after = page.last().map(InstanceCursor::of);
    }
    assert_eq!(seen, all);

    // Same time and id: the run decides.
    let cursor = InstanceCursor {
        created_at: Timestamp(10),
        instance: iref("a"),
    };
    let q = InstanceQuery {
        after: Some(cursor.clone()),
        ..Default::default()
    };
    assert_eq!(
        ids(&s.query_instances(&q).await.unwrap()),
        ["a/r2", "b/r1", "z/r1"]
    );
    // Filters still apply after the cursor.
    let q = InstanceQuery {
        after: Some(cursor),
        definition_key: Some("d:1".into()),
        ..Default::default()
    };
    assert_eq!(ids(&s.query_instances(&q).await.unwrap()), ["b/r1", "z/r1"]);
    // A cursor between rows (no such row) and one past the end.
    let between = InstanceCursor {
        created_at: Timestamp(7),
        instance: iref("zzz"),
    };
    let q = InstanceQuery {
        after: Some(between),
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(ids(&s.query_instances(&q).await.unwrap()), ["a/r1"]);
    let end = InstanceCursor {
        created_at: Timestamp(20),
        instance: iref("z"),
    };
    let q = InstanceQuery {
        after: Some(end),
        ..Default::default()
    };
    assert!(s.query_instances(&q).await.unwrap().is_empty());
}

/// `latest_run` follows the run order: the legacy run `"1"` first, then
/// UUIDv7 run ids by their text (creation order), whatever the creation
/// times and statuses say; `None` for an id without runs.
pub async fn latest_run_follows_the_run_order<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    assert_eq!(s.latest_run(&InstanceId::new("x")).await.unwrap(), None);
    let older = "018cc251-f400-7000-8000-000000000000";
    let newer = "01941f29-7c00-7000-8000-000000000000";
    let mut b = Batch::new();
    let mut legacy = row("x", "d:1", 50);
    legacy.instance.run = RunId::new(LEGACY_FIRST_RUN);
    b.create(legacy, events("e", 1));
    s.commit(b).await.unwrap();
    let latest = s.latest_run(&InstanceId::new("x")).await.unwrap().unwrap();
    assert_eq!(latest.instance.run.as_str(), LEGACY_FIRST_RUN);

    // Created in one batch with equal times, the newer one first.
    let mut b = Batch::new();
    for run in [newer, older] {
        let mut r = row("x", "d:1", 10);
        r.instance.run = RunId::new(run);
        b.create(r, events("e", 1));
    }
    b.create(row("y", "d:1", 10), events("e", 1));
    s.commit(b).await.unwrap();
    let latest = s.latest_run(&InstanceId::new("x")).await.unwrap().unwrap();
    assert_eq!(latest.instance.run.as_str(), newer);
    assert_eq!(latest.definition_key, "d:1");
    let y = s.latest_run(&InstanceId::new("y")).await.unwrap().unwrap();
    assert_eq!(y.instance, iref("y"));
}

/// One batch may end the live run of an id (an append with a finished
/// status) and create its next run: creates are applied before appends and
/// no constraint spans the runs of one id, so both take effect.
pub async fn end_a_run_and_create_the_next_in_one_batch<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let first = "018cc251-f400-7000-8000-000000000000";
    let next = "01941f29-7c00-7000-8000-000000000000";
    let mut b = Batch::new();
    let mut r = row("job", "d:1", 10);
    r.instance.run = RunId::new(first);
    b.create(r, events("e", 1));
    s.commit(b).await.unwrap();

    let mut b = Batch::new();
    let mut r = row("job", "d:1", 20);
    r.instance.run = RunId::new(next);
    b.create(r, events("n", 1));
    b.append(
        InstanceRef::new("job", first),
        1,
        events("t", 1),
        update(InstanceStatus::Terminated, 20),
    );
    s.commit(b).await.unwrap();
    let old = s
        .instance(&InstanceRef::new("job", first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.status, InstanceStatus::Terminated);
    assert_eq!(old.last_seq, 2);
    let latest = s
        .latest_run(&InstanceId::new("job"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.instance.run.as_str(), next);
    assert_eq!(latest.status, InstanceStatus::Running);
    let unfinished = s.load_unfinished().await.unwrap();
    let live: Vec<_> = unfinished.iter().map(|u| u.row.instance.clone()).collect();
    assert_eq!(live, [InstanceRef::new("job", next)]);
}
