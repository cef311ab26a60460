//! End-to-end tests of the verbs on a PostgreSQL database (`--db
//! postgres://…` and `WINDLASS_DB`), against the real test server (see
//! `windlass_pg_testing`; skipped without one unless required).

mod common;
mod server_common;

use common::{json, renewal, s, text, windlass};
use reqwest::StatusCode;
use serde_json::json;
use server_common::{ORDER_BPMN, ServerProc};
use std::process::Command;

/// A URL of the test server whose connections use a fresh schema, or
/// `None` when the tests are skipped.
fn database(tag: &str) -> Option<String> {
    windlass_pg_testing::schema_url_blocking(tag)
}

fn mocked_run(db: &str) -> std::process::Output {
    windlass(&[
        "run",
        s(&renewal()),
        "--db",
        db,
        "--format",
        "json",
        "--input",
        r#"{"ingress":"shop"}"#,
        "--mock",
        r#"check={"days_left":5}"#,
        "--mock",
        r#"Issue certificate for {ingress}={"output":{"certificate":"PEM"}}"#,
        "--mock",
        "store={}",
    ])
}

#[test]
fn migrate_run_list_and_check_on_postgres() {
    let Some(db) = database("cli") else { return };
    let out = windlass(&["db", "migrate", "--db", &db]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "migrated from version 0 to {}",
            windlass_store_postgres::SCHEMA_VERSION
        )),
        "{}",
        text(&out)
    );
    let again = windlass(&["db", "migrate", "--db", &db]);
    assert!(
        text(&again).contains("nothing to migrate"),
        "{}",
        text(&again)
    );

    let out = mocked_run(&db);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["status"], "completed");
    assert!(
        v["db"].as_str().unwrap_or("").starts_with("postgres://"),
        "{v}"
    );
    let id = v["instance"].as_str().expect("instance id").to_string();

    // --db, and WINDLASS_DB when --db is not given.
    let listed = json(&windlass(&[
        "instances",
        "list",
        "--db",
        &db,
        "--format",
        "json",
    ]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    let from_env = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["instances", "list", "--format", "json"])
        .env("WINDLASS_DB", &db)
        .output()
        .expect("run windlass");
    assert_eq!(json(&from_env), listed);

    let check = windlass(&["db", "check", "--db", &db, "--format", "json"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let report = json(&check);
    assert_eq!(report["clean"], true, "{report}");
    assert_eq!(report["instances"], 1, "{report}");
    assert!(report["events"].as_u64().is_some_and(|n| n > 4), "{report}");
    // Damage the index and an outbox row the way a bad hand edit would:
    // the check names both.
    let schema = db.rsplit_once("%3D").expect("schema").1.to_string();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(windlass_pg_testing::admin(&format!(
        "UPDATE {schema}.instances SET last_seq = last_seq + 5;
         INSERT INTO {schema}.outbox (key, kind, instance_id, run_id, payload, due_at, attempt)
         VALUES ('stray', 'job', 'ghost', 'r', '', 0, 0)"
    )));
    let check = windlass(&["db", "check", "--db", &db]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let t = text(&check);
    assert!(t.contains("last-seq") && t.contains(&id), "{t}");
    assert!(t.contains("orphan-outbox") && t.contains("'ghost'"), "{t}");
}

#[test]
fn a_bad_url_and_someone_elses_tables_are_clear_errors() {
    let Some(db) = database("bad") else { return };
    let url = windlass_pg_testing::server_url().expect("server");
    let port = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("port")
        .to_string();
    let wrong = url.replacen(&format!(":{port}/"), ":1/", 1);
    let out = windlass(&["instances", "list", "--db", &wrong]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("127.0.0.1:1/"), "{}", text(&out));
    // Someone else's table of one of Windlass's names.
    let schema = db.rsplit_once("%3D").expect("schema").1.to_string();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(windlass_pg_testing::admin(&format!(
        "CREATE TABLE {schema}.timers (x int)"
    )));
    let out = windlass(&["db", "migrate", "--db", &db]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a Windlass database") && text(&out).contains("'timers'"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn the_server_runs_on_postgres_as_the_only_writer() {
    let Some(db) = tokio::task::spawn_blocking(|| database("srv"))
        .await
        .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = ServerProc::start_postgres(&db, dir.path(), &[]);
    assert_eq!(srv.deploy(ORDER_BPMN).await.0, StatusCode::OK);
    let start = json!({"processId": "order", "instanceId": "o-1", "variables": {"order": "A1"}});
    let (status, started) = srv.post("/api/v1/instances", start).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let key = srv.open_job_key("o-1").await;

    // A second writer is refused while the server runs, naming it.
    let db2 = db.clone();
    let second =
        tokio::task::spawn_blocking(move || windlass(&["run", s(&renewal()), "--db", &db2]))
            .await
            .expect("join");
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("in use by 'windlass server pid")
            && text(&second).contains("(API at http://127.0.0.1:"),
        "{}",
        text(&second)
    );

    let (status, body) = srv
        .post(
            "/api/v1/jobs/complete",
            json!({"jobKey": key, "variables": {"approved": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = srv
        .post("/api/v1/instances/o-1/signal", json!({"name": "go"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(srv.stop().success());

    // Restarted, the server recovers the instance from PostgreSQL and the
    // correlated message completes it.
    let srv = ServerProc::start_postgres(&db, dir.path(), &[]);
    srv.wait_for("o-1", |v| v["status"] == "running").await;
    let (status, published) = srv
        .post(
            "/api/v1/messages",
            json!({"name": "paid", "correlationKey": "A1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["outcome"], "correlated", "{published}");
    let done = srv.wait_for("o-1", |v| v["status"] == "completed").await;
    assert_eq!(done["variables"]["approved"], true);
    assert!(srv.stop().success());
}

#[test]
fn bench_runs_on_postgres_and_resumes() {
    let Some(db) = database("bench") else { return };
    let bench = |n: &str| {
        windlass(&[
            "bench",
            s(&renewal()),
            "--instances",
            n,
            "--store",
            "postgres",
            "--db",
            &db,
            "--id-prefix",
            "b-",
            "--format",
            "json",
            "--input",
            r#"{"ingress":"x"}"#,
            "--mock",
            r#"check={"days_left":5}"#,
        ])
    };
    let out = bench("150");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(
        (v["store"].as_str(), v["completed"].as_u64()),
        (Some("postgres"), Some(150)),
        "{v}"
    );
    // The same prefix again: nothing is run twice, the rest is started.
    let out = bench("200");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let listed = json(&windlass(&[
        "instances",
        "list",
        "--db",
        &db,
        "--format",
        "json",
    ]));
    assert_eq!(listed.as_array().map(Vec::len), Some(200), "one run per id");
    // A file is not a PostgreSQL database.
    let out = windlass(&[
        "bench",
        s(&renewal()),
        "--instances",
        "1",
        "--store",
        "postgres",
        "--db",
        "x.db",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("a URL, not a file"), "{}", text(&out));
}

#[tokio::test]
async fn a_standby_takes_over_at_once_when_the_writer_is_killed() {
    let Some(db) = tokio::task::spawn_blocking(|| database("standby"))
        .await
        .expect("join")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let first = ServerProc::start_postgres(&db, dir.path(), &[]);
    assert_eq!(first.deploy(ORDER_BPMN).await.0, StatusCode::OK);
    for i in 0..5 {
        let start = json!({"processId": "order", "instanceId": format!("k-{i}"), "variables": {"order": format!("K{i}")}});
        assert_eq!(
            first.post("/api/v1/instances", start).await.0,
            StatusCode::CREATED
        );
    }
    first.open_job_key("k-4").await;
    // kill -9: PostgreSQL ends the writer's session and with it the lock.
    first.signal("KILL");
    let status = first.wait_exit(std::time::Duration::from_secs(10));
    assert!(!status.success());
    let standby = ServerProc::start_postgres(&db, dir.path(), &[]);
    for i in 0..5 {
        let id = format!("k-{i}");
        let key = standby.open_job_key(&id).await;
        let (status, body) = standby
            .post("/api/v1/jobs/complete", json!({"jobKey": key}))
            .await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
        standby.wait_for(&id, |v| node_of(v) == ["go"]).await;
    }
    assert!(standby.stop().success());
}

/// The nodes an instance's tokens are at.
fn node_of(v: &serde_json::Value) -> Vec<String> {
    v["tokens"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["node"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `--db` with `sslmode=verify-full` and the test CA: the CLI runs over TLS;
/// a name the server's certificate lacks is refused with the reason.
#[test]
fn the_cli_connects_over_tls_with_the_urls_sslmode() {
    let Some(db) = database("clitls") else { return };
    let ca =
        std::env::var("WINDLASS_TEST_PG_CA").expect("WINDLASS_TEST_PG_CA (scripts/pg-test-env)");
    let tls = format!(
        "{}&sslmode=verify-full&sslrootcert={ca}",
        db.replacen("@127.0.0.1:", "@localhost:", 1)
    );
    let out = windlass(&["db", "migrate", "--db", &tls]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = mocked_run(&tls);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["status"], "completed");

    let wrong_name = format!("{db}&sslmode=verify-full&sslrootcert={ca}");
    let out = windlass(&["db", "check", "--db", &wrong_name]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("certificate not valid for name \"127.0.0.1\""),
        "{}",
        text(&out)
    );
}
