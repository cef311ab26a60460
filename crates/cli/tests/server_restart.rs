//! End-to-end: keyset paging through the API is stable under equal
//! creation times, and a server restarted in the middle of an instance
//! keeps its state (the instance goes on where it stopped).

mod server_common;

use reqwest::{Method, StatusCode};
use serde_json::json;
use server_common::{ORDER_BPMN, ServerProc};
use windlass_engine::Event;
use windlass_engine::codec::encode_event;
use windlass_store_api::{
    Batch, InstanceRef, InstanceRow, InstanceStatus, StoreWrite as _, Timestamp,
};
use windlass_store_sqlite::SqliteStore;

/// Ten finished instances `eq-0` … `eq-9` created in the same millisecond,
/// written straight into the database before the server opens it.
async fn seed_equal_times(db: &std::path::Path) {
    let store = SqliteStore::open(db).expect("open");
    let mut batch = Batch::new();
    let payload = encode_event(&Event::InstanceCompleted).expect("encode");
    // Created in reverse id order: the listing orders by (time, id, run).
    for i in (0..10).rev() {
        batch.create(
            InstanceRow {
                instance: InstanceRef::new(format!("eq-{i}"), "1"),
                definition_key: "seeded:0".into(),
                status: InstanceStatus::Completed,
                business_key: None,
                parent: None,
                created_at: Timestamp(1_700_000_000_000),
                updated_at: Timestamp(1_700_000_000_000),
                last_seq: 0,
                tally: Vec::new(),
            },
            vec![payload.clone()],
        );
    }
    store.commit(batch).await.expect("seed");
}

#[tokio::test]
async fn paging_with_equal_timestamps_and_a_restart_in_the_middle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    seed_equal_times(&db).await;
    let srv = ServerProc::start(&db, &[]);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(c) => format!("/api/v1/instances?idPrefix=eq-&limit=3&after={c}"),
            None => "/api/v1/instances?idPrefix=eq-&limit=3".to_string(),
        };
        let (status, page) = srv.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for item in page["items"].as_array().expect("items") {
            assert_eq!(item["createdAt"], "2023-11-14T22:13:20.000Z");
            seen.push(item["id"].as_str().expect("id").to_string());
        }
        match page["next"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..10).map(|i| format!("eq-{i}")).collect();
    assert_eq!(seen, expected, "every row once, in id order");
    assert_eq!(pages, 4);
    let (_, window) = srv
        .get("/api/v1/instances?createdFrom=2023-11-14T22:13:20Z&createdUntil=2023-11-14T22:13:21Z&limit=100")
        .await;
    assert_eq!(
        window["items"].as_array().map(Vec::len),
        Some(10),
        "{window}"
    );

    // An instance waits for its user task; the server stops (SIGTERM) and
    // starts again on the same file.
    assert_eq!(srv.deploy(ORDER_BPMN).await.0, StatusCode::OK);
    let (status, started) = srv
        .post(
            "/api/v1/instances",
            json!({"processId": "order", "instanceId": "r-1", "variables": {"order": "R1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let before = srv
        .wait_for("r-1", |v| {
            !v["openJobs"].as_array().is_none_or(Vec::is_empty)
        })
        .await;
    let status = srv.stop();
    assert!(status.success(), "SIGTERM drains and exits 0: {status:?}");

    let srv = ServerProc::start(&db, &[]);
    assert!(
        srv.stderr().contains("recovered 1 unfinished instance(s)"),
        "{}",
        srv.stderr()
    );
    let (_, after_restart) = srv.get("/api/v1/instances/r-1").await;
    assert_eq!(after_restart["run"], before["run"]);
    assert_eq!(
        after_restart["openJobs"], before["openJobs"],
        "the open job survives"
    );
    let key = after_restart["openJobs"][0]["jobKey"]
        .as_str()
        .expect("key")
        .to_string();
    let (status, body) = srv
        .post("/api/v1/jobs/complete", json!({"jobKey": key}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    srv.post("/api/v1/signals", json!({"name": "go"})).await;
    srv.wait_for("r-1", |v| v["tokens"][0]["node"] == "paid")
        .await;
    srv.post(
        "/api/v1/messages",
        json!({"name": "paid", "correlationKey": "R1"}),
    )
    .await;
    let done = srv.wait_for("r-1", |v| v["status"] == "completed").await;
    assert_eq!(done["run"], before["run"]);
    // The definitions and their versions survive too.
    let (_, defs) = srv.get("/api/v1/definitions").await;
    assert_eq!(defs[0]["processId"], "order");
    let (status, _) = srv.send(srv.req(Method::GET, "/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(srv.stop().success());
}
