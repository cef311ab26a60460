//! A batch goes to PostgreSQL as one pipeline; the error reported is the
//! first wrong statement in batch order, whether it is a row that is not
//! there (found by the answer) or a server error (which also fails every
//! statement after it), and nothing of the batch is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use windlass_pg_testing as common;
use windlass_store_api::conformance::{events, iref, row};
use windlass_store_api::{
    Batch, InstanceIndex, OutboxChange, StoreError, StoreWrite, TimerChange, TimerRead, TimerRow,
    Timestamp,
};
use windlass_store_postgres::PgStore;

fn timer(id: &str) -> TimerChange {
    TimerChange::Insert(TimerRow {
        id: id.into(),
        instance: iref("a"),
        due_at: Timestamp(5),
        payload: vec![1],
    })
}

#[tokio::test]
async fn the_first_wrong_statement_in_batch_order_decides() {
    let Some(_) = common::server_url() else {
        return;
    };
    let schema = common::fresh_schema("errs").await;
    let store = PgStore::connect_with(common::options(&schema))
        .await
        .unwrap();
    let mut b = Batch::new();
    b.create(row("a", "d:1", 1), events("e", 1));
    b.timer(timer("t1"));
    store.commit(b).await.unwrap();

    // A missing outbox row (a logical miss) before a duplicate timer (a
    // server error): the miss is reported.
    let mut b = Batch::new();
    b.create(row("b", "d:1", 2), events("e", 1));
    b.outbox(OutboxChange::Complete("missing".into()));
    b.timer(timer("t1"));
    let err = store.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { what: "outbox entry", key } if key == "missing"),
        "{err:?}"
    );

    // The server error first: it is reported, not the miss after it.
    let mut b = Batch::new();
    b.create(row("b", "d:1", 2), events("e", 1));
    b.timer(timer("t1"));
    b.timer(TimerChange::Delete("missing".into()));
    let err = store.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists { what: "timer", key } if key == "t1"),
        "{err:?}"
    );

    // Neither batch wrote anything.
    assert!(store.instance(&iref("b")).await.unwrap().is_none());
    assert_eq!(store.timers_of(&iref("a")).await.unwrap().len(), 1);
}
