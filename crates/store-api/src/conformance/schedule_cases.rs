//! Conformance cases: the schedules table.

use super::StoreFactory;
use crate::*;

fn schedule(id: &str, process: &str) -> ScheduleRow {
    ScheduleRow {
        id: id.to_string(),
        process_id: process.to_string(),
        spec: format!("spec of {id}").into_bytes(),
        paused: false,
        next_fire_at: Some(Timestamp(100)),
        next_occurrence: 0,
        last_fire_at: None,
        buffered: Vec::new(),
        updated_at: Timestamp(1),
    }
}

/// Put, read one, list by id, update (pause, next and last fire, buffered
/// fires), delete; deleting a missing schedule fails and changes nothing.
pub async fn schedules_basics<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    assert_eq!(s.schedule("p/start").await.unwrap(), None);
    assert!(s.schedules().await.unwrap().is_empty());
    let b_row = schedule("p/start", "p");
    let a_row = schedule("a/timer", "a");
    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(b_row.clone()));
    b.schedule(ScheduleChange::Put(a_row.clone()));
    s.commit(b).await.unwrap();
    assert_eq!(s.schedule("p/start").await.unwrap(), Some(b_row.clone()));
    let ids = |rows: Vec<ScheduleRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(s.schedules().await.unwrap()), ["a/timer", "p/start"]);

    let updated = ScheduleRow {
        paused: true,
        next_fire_at: Some(Timestamp(200)),
        next_occurrence: 7,
        last_fire_at: Some(Timestamp(100)),
        buffered: vec![Timestamp(100), Timestamp(-3), Timestamp(i64::MAX)],
        updated_at: Timestamp(150),
        ..b_row.clone()
    };
    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(updated.clone()));
    s.commit(b).await.unwrap();
    assert_eq!(s.schedule("p/start").await.unwrap(), Some(updated.clone()));

    // A schedule that never fires again keeps its row.
    let done = ScheduleRow {
        next_fire_at: None,
        ..a_row
    };
    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(done.clone()));
    b.schedule(ScheduleChange::Delete("p/start".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.schedules().await.unwrap(), std::slice::from_ref(&done));

    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(schedule("x/y", "x")));
    b.schedule(ScheduleChange::Delete("p/start".into()));
    let err = s.commit(b).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { key, .. } if key == "p/start"),
        "deleting a missing schedule must fail, got {err:?}"
    );
    assert_eq!(s.schedules().await.unwrap(), [done]);

    // Put then delete within one batch.
    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(schedule("x/y", "x")));
    b.schedule(ScheduleChange::Delete("x/y".into()));
    s.commit(b).await.unwrap();
    assert_eq!(s.schedule("x/y").await.unwrap(), None);
}

/// A schedule row survives a reopen of durable storage.
pub async fn schedules_survive_a_reopen<F: StoreFactory>(f: &F) {
    let s = f.fresh().await;
    let row = ScheduleRow {
        buffered: vec![Timestamp(5)],
        paused: true,
        ..schedule("p/start", "p")
    };
    let mut b = Batch::new();
    b.schedule(ScheduleChange::Put(row.clone()));
    s.commit(b).await.unwrap();
    let Some(s) = f.reopen(s).await else {
        return;
    };
    assert_eq!(s.schedules().await.unwrap(), [row]);
}
