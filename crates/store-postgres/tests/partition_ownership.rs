//! Partitioned ownership against a real PostgreSQL server: several nodes
//! write one database at once, each the partitions it owns; a live node's
//! partitions are never taken; a dead or stalled node's are, and it is
//! fenced first; the single-writer lease and nodes exclude each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use windlass_pg_testing as common;
use windlass_store_api::conformance::{events, row};
use windlass_store_api::{
    Batch, InstanceIndex, InstanceQuery, Partition, PartitionSet, ScheduleChange, ScheduleRead,
    ScheduleRow, StoreError, StoreWrite, Timestamp,
};

use windlass_store_postgres::{LeaseOptions, LeaseState, PgStore};

async fn store(schema: &str) -> PgStore {
    PgStore::connect_with(common::options(schema))
        .await
        .unwrap()
}

fn node(name: &str) -> LeaseOptions {
    LeaseOptions::new(name)
        .address(format!("http://{name}.test:8080"))
        .duration(Duration::from_secs(30))
}

/// Joins as `name`, trying for a few seconds while the name is in use (a
/// terminated session leaves `pg_stat_activity` a moment after
/// `pg_terminate_backend` returns).
async fn join(schema: &str, name: &str) -> PgStore {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store(schema).await.join_as_node(node(name)).await {
            Ok(s) => return s,
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// `n` instance ids in `set`'s partitions, tagged `tag`.
fn ids_in(set: &PartitionSet, tag: &str, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("{tag}-{i}"))
        .filter(|id| set.has_instance(id))
        .take(n)
        .collect()
}

fn create(ids: &[String]) -> Batch {
    let mut b = Batch::new();
    for id in ids {
        b.create(row(id, "d:1", 1), events(id, 1));
    }
    b
}

async fn count(s: &PgStore) -> usize {
    s.query_instances(&InstanceQuery::default())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn two_nodes_write_their_own_partitions_at_once() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let b = join(&schema, "b").await;
    let half_a = PartitionSet::share(0, 2);
    assert_eq!(a.claim_partitions(&half_a).await.unwrap(), half_a);
    // B wants everything but gets only what A does not own.
    let got = b.claim_partitions(&PartitionSet::all()).await.unwrap();
    assert_eq!(got, PartitionSet::share(1, 2));
    assert_eq!(b.owned_partitions(), got);

    // Both write at once, many batches each.
    let (ids_a, ids_b) = (ids_in(&half_a, "a", 200), ids_in(&got, "b", 200));
    let write = |s: PgStore, ids: Vec<String>| async move {
        for chunk in ids.chunks(10) {
            s.commit(create(chunk)).await.unwrap();
        }
    };
    tokio::join!(write(a.clone(), ids_a), write(b.clone(), ids_b));
    assert_eq!(count(&a).await, 400);

    // Writing the other node's partition is refused before it is sent,
    // naming the instance and the partition; the node stays a node.
    let theirs = ids_in(&got, "x", 1);
    let err = a.commit(create(&theirs)).await.unwrap_err();
    let text = err.to_string();
    let p = Partition::of_instance(&theirs[0]).0;
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert!(text.contains(&format!("partition {p}")), "{text}");
    assert!(text.contains("node 'a' does not own"), "{text}");
    assert_eq!(
        *a.node_state().unwrap().borrow(),
        LeaseState::Held { epoch: 1 }
    );
    assert_eq!(count(&a).await, 400);
    // So is a schedule row in the other node's partition (a schedule
    // belongs to its id's), while one in its own is written.
    let schedule = |id: &str| ScheduleRow {
        id: id.to_string(),
        process_id: "p".into(),
        spec: Vec::new(),
        paused: false,
        next_fire_at: None,
        next_occurrence: 0,
        last_fire_at: None,
        buffered: Vec::new(),
        updated_at: Timestamp(0),
    };
    let mut batch = Batch::new();
    batch.schedule(ScheduleChange::Put(schedule(&theirs[0])));
    let err = a.commit(batch).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("schedule '{}' is in partition {p}", theirs[0])),
        "{err}"
    );
    let mine = ids_in(&half_a, "s", 1);
    let mut batch = Batch::new();
    batch.schedule(ScheduleChange::Put(schedule(&mine[0])));
    a.commit(batch).await.unwrap();
    assert_eq!(a.schedules().await.unwrap().len(), 1);

    let owners = a.partition_owners().await.unwrap();
    assert_eq!(owners.len(), 256);
    for o in &owners {
        let expected = if half_a.contains(o.partition) {
            "a"
        } else {
            "b"
        };
        assert_eq!(o.node, expected);
        assert!(o.live && o.epoch == 1, "{o:?}");
        assert_eq!(
            o.address.as_deref(),
            Some(&*format!("http://{expected}.test:8080"))
        );
    }
}

/// A node whose lease lapsed (paused past it: its row made expired here,
/// which is what the database sees of a paused node) loses its partitions
/// to the next claim, and its next batch is refused inside the
/// transaction: it never writes again.
#[tokio::test]
async fn a_stalled_nodes_partitions_are_taken_over_and_it_is_fenced() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let all = PartitionSet::all();
    assert!(a.claim_partitions(&all).await.unwrap().is_all());
    let b = join(&schema, "b").await;
    assert!(
        b.claim_partitions(&all).await.unwrap().is_empty(),
        "a is live"
    );
    let mine = ids_in(&all, "a", 1);
    a.commit(create(&mine)).await.unwrap();

    common::admin(&format!(
        "UPDATE {schema}.windlass_nodes SET expires_at = now() - interval '1 second'
         WHERE node = 'a'"
    ))
    .await;
    assert!(b.claim_partitions(&all).await.unwrap().is_all());
    let later = ids_in(&all, "a-late", 1);
    let err = a.commit(create(&later)).await.unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("took over the partitions of node 'a'"),
        "{err}"
    );
    assert!(matches!(
        *a.node_state().unwrap().borrow(),
        LeaseState::Lost { .. }
    ));
    assert!(a.owned_partitions().is_empty());
    // B writes, A's refused batch left nothing.
    b.commit(create(&ids_in(&all, "b", 1))).await.unwrap();
    assert_eq!(count(&b).await, 2);
    assert!(
        b.instance(&windlass_store_api::conformance::iref(&later[0]))
            .await
            .unwrap()
            .is_none()
    );
    let owners = b.partition_owners().await.unwrap();
    assert!(
        owners
            .iter()
            .all(|o| o.node == "b" && o.epoch == 2 && o.live)
    );
}

/// A node whose process died (its lease session gone) is taken over at
/// once, without waiting for its lease to expire; the same name joining
/// again gets a new epoch and reclaims the partitions nobody took.
#[tokio::test]
async fn a_dead_nodes_partitions_are_taken_at_once_and_a_rejoin_reclaims() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let (first, second) = (PartitionSet::share(0, 2), PartitionSet::share(1, 2));
    a.claim_partitions(&PartitionSet::all()).await.unwrap();
    common::admin(&format!(
        "SELECT pg_terminate_backend(backend_pid) FROM {schema}.windlass_nodes WHERE node = 'a'"
    ))
    .await;
    let b = join(&schema, "b").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if b.claim_partitions(&second).await.unwrap() == second {
            break;
        }
        assert!(Instant::now() < deadline, "a's partitions were never taken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(a);
    let again = join(&schema, "a").await;
    assert_eq!(
        again.node_epoch(),
        Some(3),
        "joined, fenced by b, joined again"
    );
    assert_eq!(
        again.claim_partitions(&PartitionSet::all()).await.unwrap(),
        first
    );
    again.commit(create(&ids_in(&first, "a", 3))).await.unwrap();
}

/// A released partition is refused at once by the node that gave it up
/// and claimable by another; leaving releases everything.
#[tokio::test]
async fn released_partitions_move_to_another_node() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let b = join(&schema, "b").await;
    let all = PartitionSet::all();
    let keep = PartitionSet::share(0, 4);
    let give = all.difference(&keep);
    a.claim_partitions(&all).await.unwrap();
    a.release_partitions(&give).await.unwrap();
    assert_eq!(a.owned_partitions(), keep);
    let err = a.commit(create(&ids_in(&give, "g", 1))).await.unwrap_err();
    assert!(err.to_string().contains("does not own"), "{err}");
    assert_eq!(b.claim_partitions(&all).await.unwrap(), give);
    a.leave().await.unwrap();
    assert_eq!(*a.node_state().unwrap().borrow(), LeaseState::Released);
    assert!(a.commit(create(&ids_in(&keep, "k", 1))).await.is_err());
    assert!(b.claim_partitions(&all).await.unwrap().is_all());
}

#[tokio::test]
async fn a_node_name_runs_once() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let err = store(&schema)
        .await
        .join_as_node(node("a"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    assert!(err.to_string().contains("as node 'a'"), "{err}");
    // One store, one lease.
    let err = a.join_as_node(node("a2")).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let err = a.with_lease(LeaseOptions::new("s")).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

/// A single writer and nodes never write at once: each is refused while
/// the other is live, and each fences the other's stalled holder.
#[tokio::test]
async fn the_single_writer_and_nodes_exclude_each_other() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let single = store(&schema)
        .await
        .with_lease(LeaseOptions::new("single").duration(Duration::from_secs(30)))
        .await
        .unwrap();
    let err = store(&schema)
        .await
        .join_as_node(node("a"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the single writer 'single'"),
        "{err}"
    );

    // The single writer stalls past its lease: a node joins and fences it.
    common::admin(&format!(
        "UPDATE {schema}.windlass_leases SET expires_at = now() - interval '1 second'"
    ))
    .await;
    let a = join(&schema, "a").await;
    let err = single
        .commit(create(&["s-1".to_string()]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
    assert!(err.to_string().contains("partitioned ownership"), "{err}");

    // While a node lives, the single-writer lease is refused, naming it.
    let err = store(&schema)
        .await
        .with_lease(LeaseOptions::new("single-2"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("node 'a' (API at http://a.test:8080)"),
        "{err}"
    );
    a.claim_partitions(&PartitionSet::all()).await.unwrap();

    // The node stalls: the single writer takes over, fences it and owns
    // every partition (the owners table is cleared).
    common::admin(&format!(
        "UPDATE {schema}.windlass_nodes SET expires_at = now() - interval '1 second'"
    ))
    .await;
    let single = store(&schema)
        .await
        .with_lease(LeaseOptions::new("single-3"))
        .await
        .unwrap();
    assert!(single.partition_owners().await.unwrap().is_empty());
    single.commit(create(&["s-2".to_string()])).await.unwrap();
    let err = a
        .commit(create(&ids_in(&PartitionSet::all(), "a", 1)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err:?}");
}

/// Nodes `a` and `b` on a fresh schema, each owning half the partitions
/// (`a` the first share of two, `b` the second).
async fn two_halves() -> (PgStore, PgStore, PartitionSet, PartitionSet) {
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let b = join(&schema, "b").await;
    let (half_a, half_b) = (PartitionSet::share(0, 2), PartitionSet::share(1, 2));
    a.claim_partitions(&half_a).await.unwrap();
    b.claim_partitions(&half_b).await.unwrap();
    (a, b, half_a, half_b)
}

/// A node may insert outbox rows for instances of another node's
/// partitions (a delivery); the owner is woken by NOTIFY only when that
/// batch commits, finds the row among its pending rows and completes it.
/// Rows for the sender's own partitions and failed batches wake nobody.
#[tokio::test]
async fn a_delivery_to_another_nodes_partition_wakes_its_owner() {
    use windlass_store_api::conformance::outbox_row;
    use windlass_store_api::{OutboxChange, OutboxRead};
    let Some(_) = common::server_url() else {
        return;
    };
    let (a, b, half_a, half_b) = two_halves().await;
    let mut woken = b.wake_listener().await.unwrap();
    let quiet = Duration::from_millis(300);

    // A's own rows wake nobody.
    let own = ids_in(&half_a, "own", 1);
    let mut batch = create(&own);
    batch.outbox(OutboxChange::Insert(outbox_row("own-job", &own[0], 1)));
    a.commit(batch).await.unwrap();
    assert!(woken.wait(quiet).await.is_empty());

    // A batch that fails (the instance exists) sends nothing either.
    let target = ids_in(&half_b, "target", 1);
    b.commit(create(&target)).await.unwrap();
    let mut failing = create(&own);
    failing.outbox(OutboxChange::Insert(outbox_row("lost", &target[0], 1)));
    assert!(a.commit(failing).await.is_err());
    assert!(woken.wait(quiet).await.is_empty());

    // A delivery to B's instance wakes B with that partition.
    let mut delivery = windlass_store_api::Batch::new();
    delivery.outbox(OutboxChange::Insert(outbox_row("deliver", &target[0], 1)));
    a.commit(delivery).await.unwrap();
    let p = Partition::of_instance(&target[0]);
    let got = woken.wait(Duration::from_secs(5)).await;
    assert_eq!(got, [p].into_iter().collect::<PartitionSet>());
    let pending = b.pending_outbox_in(&b.owned_partitions()).await.unwrap();
    assert_eq!(
        pending.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["deliver"]
    );
    let mut done = windlass_store_api::Batch::new();
    done.outbox(OutboxChange::Complete("deliver".into()));
    b.commit(done).await.unwrap();
    assert!(b.pending_outbox_in(&half_b).await.unwrap().is_empty());

    // A listener of other partitions is not woken by it.
    woken.set_partitions(half_a);
    let mut again = windlass_store_api::Batch::new();
    again.outbox(OutboxChange::Insert(outbox_row("deliver-2", &target[0], 1)));
    a.commit(again).await.unwrap();
    assert!(woken.wait(quiet).await.is_empty());
}

/// A listener whose session ends (its backend terminated, as by a server
/// restart) says so at once instead of waiting out its timeouts, and a new
/// listener is woken again.
#[tokio::test]
async fn a_listener_whose_session_ends_says_so_and_a_new_one_is_woken() {
    use windlass_store_api::OutboxChange;
    use windlass_store_api::conformance::outbox_row;
    let Some(_) = common::server_url() else {
        return;
    };
    let (a, b, _, half_b) = two_halves().await;
    let target = ids_in(&half_b, "target", 1);
    b.commit(create(&target)).await.unwrap();

    let mut woken = b.wake_listener().await.unwrap();
    assert!(!woken.is_closed());
    common::admin(&format!(
        "SELECT pg_terminate_backend({})",
        woken.backend_pid()
    ))
    .await;
    let t0 = Instant::now();
    assert!(woken.wait(Duration::from_secs(10)).await.is_empty());
    assert!(woken.is_closed());
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());

    let mut again = b.wake_listener().await.unwrap();
    let mut delivery = windlass_store_api::Batch::new();
    delivery.outbox(OutboxChange::Insert(outbox_row("deliver", &target[0], 1)));
    a.commit(delivery).await.unwrap();
    let got = again.wait(Duration::from_secs(5)).await;
    let p = Partition::of_instance(&target[0]);
    assert_eq!(got, [p].into_iter().collect::<PartitionSet>());
    assert!(!again.is_closed());
}

/// Releasing waits for the node's batches in flight that were checked
/// against the partitions it gives up: none of them can commit after
/// another node claimed them.
#[tokio::test]
async fn a_release_waits_for_batches_in_flight() {
    use windlass_store_api::conformance::{iref, update};
    let Some(url) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let a = join(&schema, "a").await;
    let all = PartitionSet::all();
    a.claim_partitions(&all).await.unwrap();
    let id = ids_in(&all, "slow", 1).remove(0);
    a.commit(create(std::slice::from_ref(&id))).await.unwrap();
    let p: PartitionSet = [Partition::of_instance(&id)].into_iter().collect();

    // Hold the run's row, so A's append to it waits inside its transaction.
    let (mut holder, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        &format!("SELECT 1 FROM {schema}.instances WHERE instance_id = $1 FOR UPDATE"),
        &[&id],
    )
    .await
    .unwrap();
    let mut append = Batch::new();
    append.append(
        iref(&id),
        1,
        events("late", 1),
        update(windlass_store_api::InstanceStatus::Running, 2),
    );
    let writer = tokio::spawn({
        let a = a.clone();
        async move { a.commit(append).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let release = tokio::spawn({
        let a = a.clone();
        async move { a.release_partitions(&p).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!release.is_finished(), "released under a batch in flight");
    tx.commit().await.unwrap();
    writer.await.unwrap().unwrap();
    release.await.unwrap().unwrap();
    assert!(!a.owned_partitions().contains(Partition::of_instance(&id)));
    let b = join(&schema, "b").await;
    assert_eq!(b.claim_partitions(&all).await.unwrap(), p);
}

/// A node's lease is renewed well past its duration while it lives (its
/// partitions stay its own), and the renewal is what tells a node that
/// was fenced, even before its next batch.
#[tokio::test]
async fn a_node_renews_its_lease_and_learns_from_the_renewal_that_it_was_fenced() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("own").await;
    let short = |name: &str| LeaseOptions::new(name).duration(Duration::from_millis(600));
    let a = store(&schema).await.join_as_node(short("a")).await.unwrap();
    let all = PartitionSet::all();
    a.claim_partitions(&all).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let b = store(&schema).await.join_as_node(short("b")).await.unwrap();
    assert!(
        b.claim_partitions(&all).await.unwrap().is_empty(),
        "a renewed"
    );
    a.commit(create(&ids_in(&all, "a", 1))).await.unwrap();
    assert!(a.partition_owners().await.unwrap().iter().all(|o| o.live));

    // A is fenced (its row expired as a paused node's would, then B claims).
    // Its renewer notices within a renewal period, without a batch. (A
    // renewal landing between the expiry and the claim revives the lease,
    // as an expired lease nobody took is: expire it again then.)
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        common::admin(&format!(
            "UPDATE {schema}.windlass_nodes SET expires_at = now() - interval '1 second'
             WHERE node = 'a'"
        ))
        .await;
        if b.claim_partitions(&all).await.unwrap().is_all() {
            break;
        }
        assert!(Instant::now() < deadline, "a's partitions were never taken");
    }
    let mut state = a.node_state().unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(*state.borrow_and_update(), LeaseState::Held { .. }) {
            state.changed().await.unwrap();
        }
    })
    .await
    .expect("the renewal reports the loss");
    match &*state.borrow() {
        LeaseState::Lost { holder } => {
            assert!(
                holder.contains("took over the partitions of node 'a'"),
                "{holder}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(a.owned_partitions().is_empty());
}

/// The live nodes are every node whose lease is live, partitions or not
/// (what a node balancing its share counts); a node that left is not one.
#[tokio::test]
async fn live_nodes_count_nodes_without_partitions_and_not_those_that_left() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("live").await;
    let a = join(&schema, "a").await;
    let b = join(&schema, "b").await;
    a.claim_partitions(&PartitionSet::all()).await.unwrap();
    assert_eq!(a.live_nodes().await.unwrap(), ["a", "b"]);
    let c = join(&schema, "c").await;
    assert_eq!(c.owned_partitions(), PartitionSet::none());
    assert_eq!(a.live_nodes().await.unwrap(), ["a", "b", "c"]);
    b.leave().await.unwrap();
    assert_eq!(c.live_nodes().await.unwrap(), ["a", "c"]);
}
