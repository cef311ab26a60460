//! End-to-end tests of `windlass server`: the real binary on a loopback
//! port with a temporary database, driven through HTTP by reqwest: auth,
//! probes, deploys with versions and diagnostics, and an instance taken
//! through every control route.

mod server_common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server_common::{ORDER_BPMN, ServerProc};

fn node_of(v: &Value) -> Vec<String> {
    v["tokens"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["node"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn probes_are_open_and_everything_else_needs_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = ServerProc::start(&dir.path().join("w.db"), &["--body-limit", "4096"]);
    let c = srv.client();
    for probe in ["/healthz", "/readyz"] {
        let r = c
            .get(format!("{}{probe}", srv.url))
            .send()
            .await
            .expect("probe");
        assert_eq!(r.status(), StatusCode::OK, "{probe}");
    }
    for path in [
        "/api/v1/definitions",
        "/api/v1/instances",
        "/api/openapi.json",
    ] {
        let r = c
            .get(format!("{}{path}", srv.url))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["code"], "unauthorized");
        let wrong = c
            .get(format!("{}{path}", srv.url))
            .bearer_auth(format!("{}x", srv.token))
            .send()
            .await
            .expect("get");
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A mutating call without the token changes nothing.
    let r = c
        .post(format!("{}/api/v1/definitions", srv.url))
        .header("content-type", "application/xml")
        .body(ORDER_BPMN)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        srv.get("/api/v1/definitions").await,
        (StatusCode::OK, json!([]))
    );

    let (status, body) = srv.get("/api/v1/no-such-route").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = srv.send(srv.req(Method::DELETE, "/api/v1/instances")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");

    // Bodies over --body-limit are refused with 413, JSON or XML.
    let big = format!("{{\"processId\":\"{}\"}}", "x".repeat(8000));
    let rb = srv
        .req(Method::POST, "/api/v1/instances")
        .header("content-type", "application/json")
        .body(big);
    let (status, body) = srv.send(rb).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let (status, _) = srv
        .deploy(&format!("{ORDER_BPMN}<!--{}-->", "y".repeat(8000)))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Malformed JSON, wrong types and unknown fields are 4xx naming what.
    let rb = srv
        .req(Method::POST, "/api/v1/instances")
        .header("content-type", "application/json")
        .body("{nope");
    let (status, body) = srv.send(rb).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = srv.post("/api/v1/instances", json!({"processId": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap_or("").contains("processId"),
        "{body}"
    );
    let (status, body) = srv
        .post(
            "/api/v1/instances",
            json!({"processId": "p", "varaibles": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap_or("").contains("varaibles"),
        "{body}"
    );
    let (status, body) = srv.get("/api/v1/instances?status=sleeping").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap_or("").contains("sleeping"),
        "{body}"
    );
    let (status, body) = srv.get("/api/v1/instances?after=garbage").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
    let (status, _) = srv.get("/api/v1/instances?createdFrom=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(srv.stop().success());
}

#[tokio::test]
async fn deploys_are_versioned_and_bad_documents_get_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = ServerProc::start(&dir.path().join("w.db"), &[]);
    // Errors: 422 with the diagnostics `windlass validate` prints.
    let broken = ORDER_BPMN.replace(r#"targetRef="end""#, r#"targetRef="nowhere""#);
    let (status, body) = srv.deploy(&broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_definition");
    let d = &body["details"]["diagnostics"][0];
    assert!(
        d["code"].as_str().is_some_and(|c| c.starts_with("WL")),
        "{d}"
    );
    assert!(d["position"]["line"].as_u64().is_some_and(|l| l > 1), "{d}");
    assert!(d["text"].as_str().unwrap_or("").contains("nowhere"), "{d}");
    let (status, _) = srv.deploy("<definitions").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let rb = srv
        .req(Method::POST, "/api/v1/definitions")
        .header("content-type", "application/json")
        .body(ORDER_BPMN);
    let (status, body) = srv.send(rb).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    assert_eq!(
        srv.get("/api/v1/definitions").await.1,
        json!([]),
        "nothing deployed"
    );

    // Version 1, the same document again, then version 2.
    let (status, v1) = srv.deploy(ORDER_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["processes"][0]["processId"], "order");
    assert_eq!(v1["processes"][0]["version"], 1);
    let (_, again) = srv.deploy(ORDER_BPMN).await;
    assert_eq!(again["processes"], v1["processes"]);
    let changed = ORDER_BPMN.replace("Review order", "Review the order");
    let (_, v2) = srv.deploy(&changed).await;
    assert_eq!(v2["processes"][0]["version"], 2);
    let (_, latest) = srv.get("/api/v1/definitions").await;
    assert_eq!(latest.as_array().map(Vec::len), Some(1), "{latest}");
    assert_eq!(latest[0]["version"], 2);
    let (_, all) = srv.get("/api/v1/definitions?all=true").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let (_, one) = srv.get("/api/v1/definitions/order").await;
    assert_eq!(one["latest"]["version"], 2);
    assert_eq!(one["versions"].as_array().map(Vec::len), Some(2));
    let xml = srv
        .req(Method::GET, "/api/v1/definitions/order/xml?version=1")
        .send()
        .await
        .expect("xml");
    assert_eq!(xml.status(), StatusCode::OK);
    assert!(
        xml.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/xml")
    );
    assert_eq!(xml.text().await.expect("text"), ORDER_BPMN);
    let (status, body) = srv.get("/api/v1/definitions/order/xml?version=9").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("definition_not_found"))
    );
    let (status, _) = srv.get("/api/v1/definitions/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // New instances run the latest version.
    let (status, started) = srv
        .post("/api/v1/instances", json!({"processId": "order"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["id"].as_str().expect("id").to_string();
    let (_, view) = srv.get(&format!("/api/v1/instances/{id}")).await;
    assert_eq!(view["definition"], v2["processes"][0]["key"]);
    assert!(srv.stop().success());
}

#[tokio::test]
async fn an_instance_goes_through_jobs_signals_messages_and_control() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = ServerProc::start(&dir.path().join("w.db"), &[]);
    assert_eq!(srv.deploy(ORDER_BPMN).await.0, StatusCode::OK);

    let start = json!({"processId": "order", "instanceId": "o-1", "variables": {"order": "A1"}});
    let (status, started) = srv.post("/api/v1/instances", start.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let run = started["run"].as_str().expect("run").to_string();
    let (status, clash) = srv.post("/api/v1/instances", start.clone()).await;
    assert_eq!(
        (status, clash["code"].as_str()),
        (StatusCode::CONFLICT, Some("instance_exists"))
    );
    assert_eq!(clash["details"]["run"], run.as_str());
    let mut existing = start.clone();
    existing["onConflict"] = json!("useExisting");
    let (_, same) = srv.post("/api/v1/instances", existing).await;
    assert_eq!(same["run"], run.as_str());

    // The user task waits for the API; its job key is in the view.
    let view = srv
        .wait_for("o-1", |v| {
            !v["openJobs"].as_array().is_none_or(Vec::is_empty)
        })
        .await;
    assert_eq!(view["openJobs"][0]["node"], "review", "{view}");
    let key = view["openJobs"][0]["jobKey"]
        .as_str()
        .expect("job key")
        .to_string();
    assert!(key.starts_with(&format!("o-1/{run}/")), "{key}");
    let (status, body) = srv
        .post("/api/v1/jobs/complete", json!({"jobKey": "garbage"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_job_key"))
    );
    let (status, body) = srv
        .post("/api/v1/jobs/heartbeat", json!({"jobKey": key}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = srv
        .post(
            "/api/v1/jobs/complete",
            json!({"jobKey": key, "variables": {"approved": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = srv
        .post("/api/v1/jobs/complete", json!({"jobKey": key}))
        .await;
    assert!(
        status.is_client_error(),
        "a completed job is not open: {status}"
    );
    srv.wait_for("o-1", |v| node_of(v) == ["go"]).await;

    // A signal to the instance, then a correlated message.
    let (status, body) = srv
        .post("/api/v1/instances/o-1/signal", json!({"name": "go"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    srv.wait_for("o-1", |v| node_of(v) == ["paid"]).await;
    let (status, published) = srv
        .post(
            "/api/v1/messages",
            json!({"name": "paid", "correlationKey": "A1", "variables": {"amount": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["outcome"], "correlated");
    assert_eq!(published["instances"][0], format!("o-1/{run}"));
    let done = srv.wait_for("o-1", |v| v["status"] == "completed").await;
    assert_eq!(done["variables"]["approved"], true);
    assert_eq!(done["variables"]["amount"], 5);
    // A message nobody waits for is buffered.
    let (_, buffered) = srv
        .post(
            "/api/v1/messages",
            json!({"name": "paid", "correlationKey": "B2"}),
        )
        .await;
    assert_eq!(buffered["outcome"], "buffered");

    // The history, page by page, is the whole story in order.
    let mut seqs = Vec::new();
    let mut types = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = srv
            .get(&format!(
                "/api/v1/instances/o-1/history?limit=4&after={after}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for e in page["events"].as_array().expect("events") {
            seqs.push(e["seq"].as_u64().expect("seq"));
            types.push(e["eventType"].as_str().expect("type").to_string());
            assert!(
                e["recordedAt"].as_str().is_some() && e["text"].as_str().is_some(),
                "{e}"
            );
        }
        match page["nextAfter"].as_u64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    for t in [
        "InstanceStarted",
        "JobCompleted",
        "SignalDelivered",
        "MessageCorrelated",
        "InstanceCompleted",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} missing from {types:?}");
    }
    let (status, body) = srv.get("/api/v1/instances/nope/history").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("instance_not_found"))
    );

    // Suspend, resume, cancel; a finished instance refuses more.
    srv.post(
        "/api/v1/instances",
        json!({"processId": "order", "instanceId": "o-2"}),
    )
    .await;
    let (status, _) = srv
        .post(
            "/api/v1/instances/o-2/suspend",
            json!({"reason": "maintenance"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let v = srv
        .wait_for("o-2", |v| v["suspended"] == "maintenance")
        .await;
    assert_eq!(v["status"], "running");
    let (status, _) = srv
        .send(srv.req(Method::POST, "/api/v1/instances/o-2/resume"))
        .await;
    assert_eq!(status, StatusCode::OK);
    srv.wait_for("o-2", |v| v["suspended"].is_null()).await;
    let (status, _) = srv
        .send(srv.req(Method::POST, "/api/v1/instances/o-2/cancel"))
        .await;
    assert_eq!(status, StatusCode::OK);
    srv.wait_for("o-2", |v| v["status"] == "cancelled").await;
    let (status, body) = srv
        .post(
            "/api/v1/instances/o-2/terminate",
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("instance_finished"))
    );
    assert_eq!(body["details"]["status"], "cancelled");
    srv.post(
        "/api/v1/instances",
        json!({"processId": "order", "instanceId": "o-3"}),
    )
    .await;
    let (status, _) = srv
        .post("/api/v1/instances/o-3/terminate", json!({"reason": "stop"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    srv.wait_for("o-3", |v| v["status"] == "terminated").await;
    let (status, _) = srv.post("/api/v1/instances/nope/cancel", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A signal kept by an instance that does not wait for it yet, a
    // broadcast, and signal-with-start.
    let o4 = json!({"processId": "order", "instanceId": "o-4", "variables": {"order": "C3"}});
    srv.post("/api/v1/instances", o4).await;
    srv.post(
        "/api/v1/instances/o-4/signal",
        json!({"name": "later", "variables": {"x": 1}}),
    )
    .await;
    let v = srv
        .wait_for("o-4", |v| {
            v["bufferedSignals"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        })
        .await;
    assert_eq!(v["bufferedSignals"][0]["name"], "later");
    let key = v["openJobs"][0]["jobKey"]
        .as_str()
        .expect("job key")
        .to_string();
    srv.post("/api/v1/jobs/complete", json!({"jobKey": key}))
        .await;
    srv.wait_for("o-4", |v| node_of(v) == ["go"]).await;
    let (status, b) = srv.post("/api/v1/signals", json!({"name": "go"})).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["delivered"], 1, "only o-4 waits for it");
    srv.wait_for("o-4", |v| node_of(v) == ["paid"]).await;
    let (status, sws) = srv
        .post(
            "/api/v1/signal-with-start",
            json!({"processId": "order", "instanceId": "o-5", "signal": "go"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sws}");
    assert_eq!(sws["id"], "o-5");
    let v = srv
        .wait_for("o-5", |v| {
            !v["openJobs"].as_array().is_none_or(Vec::is_empty)
        })
        .await;
    assert_eq!(
        v["bufferedSignals"][0]["name"], "go",
        "kept until the catch opens: {v}"
    );

    // Listing with filters.
    let (_, page) = srv
        .get("/api/v1/instances?idPrefix=o-&status=running&processId=order")
        .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, ["o-4", "o-5"], "{page}");
    let (_, page) = srv.get("/api/v1/instances?processId=nope").await;
    assert_eq!(page["items"], json!([]));
    assert!(srv.stop().success());
}

const BROKEN_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2" targetNamespace="t">
  <process id="broken" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <serviceTask id="work" name="Unbound work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <endEvent id="e"/>
  </process>
  <process id="tick" isExecutable="true">
    <startEvent id="every">
      <timerEventDefinition><timeCycle>R/PT1H</timeCycle></timerEventDefinition>
    </startEvent>
    <sequenceFlow id="t1" sourceRef="every" targetRef="te"/>
    <endEvent id="te"/>
  </process>
</definitions>
"#;

#[tokio::test]
async fn incidents_schedules_dedup_and_idempotency_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = ServerProc::start(&dir.path().join("w.db"), &[]);
    let (status, body) = srv.deploy(BROKEN_BPMN).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A task without a handler: an incident, listed, retried, skipped.
    let (status, settled) = srv
        .post(
            "/api/v1/instances",
            json!({"processId": "broken", "instanceId": "b-1", "wait": "settled"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settled}");
    assert_eq!(settled["status"], "incident");
    assert!(
        settled["incidents"][0]
            .as_str()
            .unwrap_or("")
            .contains("no handler"),
        "{settled}"
    );
    let (_, list) = srv.get("/api/v1/incidents").await;
    let inc = &list["items"][0];
    assert_eq!(
        (inc["instance"].as_str(), inc["node"].as_str()),
        (Some("b-1"), Some("work")),
        "{list}"
    );
    let n = inc["incident"].as_u64().expect("incident id");
    let (status, body) = srv
        .send(srv.req(
            Method::POST,
            &format!("/api/v1/instances/b-1/incidents/{n}/retry"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = srv
        .wait_for("b-1", |v| {
            v["incidents"]
                .as_array()
                .is_some_and(|i| i.len() == 1 && i[0]["incident"] != n)
        })
        .await;
    let n2 = v["incidents"][0]["incident"]
        .as_u64()
        .expect("new incident");
    let (status, body) = srv
        .post(
            &format!("/api/v1/instances/b-1/incidents/{n2}/skip"),
            json!({"variables": {"skipped": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = srv.wait_for("b-1", |v| v["status"] == "completed").await;
    assert_eq!(done["variables"]["skipped"], true);
    let (status, _) = srv
        .send(srv.req(
            Method::POST,
            &format!("/api/v1/instances/b-1/incidents/{n2}/skip"),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The timer start event is a schedule: listed, paused, resumed, fired now.
    let (_, schedules) = srv.get("/api/v1/schedules").await;
    assert_eq!(schedules[0]["id"], "tick/every", "{schedules}");
    assert!(schedules[0]["nextFireAt"].as_str().is_some());
    let (status, _) = srv
        .send(srv.req(Method::POST, "/api/v1/schedules/tick%2Fevery/pause"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(srv.get("/api/v1/schedules").await.1[0]["paused"], true);
    let (status, _) = srv
        .send(srv.req(Method::POST, "/api/v1/schedules/tick%2Fevery/resume"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(srv.get("/api/v1/schedules").await.1[0]["paused"], false);
    let (status, body) = srv
        .send(srv.req(Method::POST, "/api/v1/schedules/tick%2Fevery/trigger"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = srv
        .send(srv.req(Method::POST, "/api/v1/schedules/nope/pause"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, dedup) = srv.get("/api/v1/dedup").await;
    assert_eq!((status, dedup), (StatusCode::OK, json!([])));

    // The same Idempotency-Key gets the first answer again, not a second
    // instance; another request under it is refused.
    let start = |body: Value| {
        srv.req(Method::POST, "/api/v1/instances")
            .header("idempotency-key", "k-1")
            .json(&body)
    };
    let (s1, first) = srv.send(start(json!({"processId": "broken"}))).await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    let replay = start(json!({"processId": "broken"}))
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let second: Value = replay.json().await.expect("json");
    assert_eq!(second["id"], first["id"], "the same instance, not a second");
    let (s3, clash) = srv
        .send(start(json!({"processId": "broken", "businessKey": "x"})))
        .await;
    assert_eq!(
        (s3, clash["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
    let (_, page) = srv.get("/api/v1/instances?processId=broken").await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(2),
        "b-1 and one more: {page}"
    );

    // /metrics needs no token and counts what happened.
    let text = srv
        .client()
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"windlass_instances_started_total{process="broken"} 2"#,
        r#"windlass_instances_finished_total{process="broken",status="completed"} 1"#,
        r#"windlass_instances_started_total{process="tick"} 1"#,
        r#"windlass_intake_queue_depth{shard="0"} 0"#,
        "windlass_messages_buffered 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line} in:\n{text}"
        );
    }
    for prefix in [
        r#"windlass_job_duration_seconds_bucket{kind="serviceTask",le="#,
        "windlass_commit_duration_seconds_bucket{",
        "windlass_commit_batch_events_count ",
        "windlass_timers_armed ",
        "windlass_timers_fired_total ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "no {prefix} in:\n{text}"
        );
    }
    assert!(srv.stop().success());
}
