//! End-to-end: the OpenAPI document the server serves is OpenAPI 3.1,
//! documents every route the API answers, and every documented route
//! exists (none falls through to the server's "no such route" answer).
//! Then random bodies, paths and queries are thrown at every documented
//! route: each gets an answer below 500 or a clean 503, the server stays
//! up, and the database checks clean afterwards.

mod server_common;

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server_common::{ORDER_BPMN, ServerProc};
use std::collections::BTreeSet;

/// Every route of the API, as the handlers register them.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/definitions"),
    ("get", "/api/v1/definitions"),
    ("get", "/api/v1/definitions/{processId}"),
    ("get", "/api/v1/definitions/{processId}/xml"),
    ("get", "/api/v1/definitions/{processId}/statistics"),
    ("post", "/api/v1/instances"),
    ("get", "/api/v1/instances"),
    ("get", "/api/v1/instances/{id}"),
    ("get", "/api/v1/instances/{id}/history"),
    ("get", "/api/v1/instances/{id}/events"),
    ("post", "/api/v1/instances/{id}/signal"),
    ("post", "/api/v1/instances/{id}/cancel"),
    ("post", "/api/v1/instances/{id}/terminate"),
    ("post", "/api/v1/instances/{id}/suspend"),
    ("post", "/api/v1/instances/{id}/resume"),
    ("post", "/api/v1/instances/{id}/reset"),
    ("post", "/api/v1/instances/{id}/incidents/{incident}/retry"),
    ("post", "/api/v1/instances/{id}/incidents/{incident}/skip"),
    ("get", "/api/v1/incidents"),
    ("post", "/api/v1/messages"),
    ("get", "/api/v1/messages"),
    ("post", "/api/v1/signals"),
    ("post", "/api/v1/signal-with-start"),
    ("post", "/api/v1/jobs/complete"),
    ("post", "/api/v1/jobs/fail"),
    ("post", "/api/v1/jobs/heartbeat"),
    ("post", "/api/v1/jobs/activate"),
    ("get", "/api/v1/schedules"),
    ("post", "/api/v1/schedules/{id}/pause"),
    ("post", "/api/v1/schedules/{id}/resume"),
    ("post", "/api/v1/schedules/{id}/trigger"),
    ("get", "/api/v1/dedup"),
    ("get", "/api/v1/dump"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

/// The (method, path) pairs of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.insert((method.clone(), path.clone()));
        }
    }
    out
}

fn concrete(path: &str, id: &str) -> String {
    path.replace("{processId}", id)
        .replace("{id}", id)
        .replace("{incident}", "0")
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_and_every_one_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srv = ServerProc::start(&dir.path().join("w.db"), &[]);
    let (status, doc) = srv.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented(&doc), expected);
    for (method, path) in &expected {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (status, body) = srv
            .send(srv.req(method.clone(), &concrete(path, "x")))
            .await;
        assert!(
            !(status == StatusCode::NOT_FOUND && body["code"] == "not_found")
                && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed: {status} {body}"
        );
        if !["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
            let bare = srv
                .client()
                .request(
                    method.clone(),
                    format!("{}{}", srv.url, concrete(path, "x")),
                )
                .send()
                .await
                .expect("send");
            assert_eq!(
                bare.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token"
            );
        }
    }
    assert!(srv.stop().success());
}

/// A random request: a documented route, a path parameter, a query and a
/// body that is JSON-ish, JSON of the wrong shape, or bytes.
fn arb_request() -> impl Strategy<Value = (usize, String, String, Vec<u8>, bool)> {
    let text = prop_oneof![
        Just(String::new()),
        "[a-z0-9%./_-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ];
    let body = prop_oneof![
        Just(b"{}".to_vec()),
        Just(b"{".to_vec()),
        Just(b"null".to_vec()),
        Just(br#"{"processId":"order","variables":[1]}"#.to_vec()),
        Just(br#"{"name":"go","variables":{"a":{"b":null}}}"#.to_vec()),
        Just(br#"{"jobKey":"o/1/2/3/4","variables":{}}"#.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<String>().prop_map(String::into_bytes),
        (any::<bool>(), any::<i64>(), "[a-zA-Z]{0,8}").prop_map(|(b, n, s)| {
            json!({"processId": s, "name": s, "instanceId": s, "variables": {"n": n}, "wait": b})
                .to_string()
                .into_bytes()
        }),
    ];
    let query = prop_oneof![
        Just(String::new()),
        "[a-zA-Z]{1,10}=[a-z0-9%:.-]{0,10}",
        Just("limit=-1".to_string()),
        Just("limit=99999999999999999999".to_string()),
        Just("after=1.2.3".to_string()),
        Just("status=running&all=maybe".to_string()),
    ];
    (0..ROUTES.len(), text, query, body, any::<bool>())
}

#[tokio::test]
async fn random_requests_never_break_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("w.db");
    let srv = ServerProc::start(&db, &["--body-limit", "65536"]);
    assert_eq!(srv.deploy(ORDER_BPMN).await.0, StatusCode::OK);
    srv.post(
        "/api/v1/instances",
        json!({"processId": "order", "instanceId": "o", "variables": {"order": "1"}}),
    )
    .await;
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let mut cases = Vec::new();
    let strategy = arb_request();
    for _ in 0..400 {
        let tree = strategy.new_tree(&mut runner).expect("case");
        cases.push(tree.current());
    }
    let mut answered = 0;
    for (route, param, query, body, as_json) in cases {
        let (method, path) = ROUTES[route];
        let path = concrete(path, &param);
        let url = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let content_type = if as_json {
            "application/json"
        } else {
            "application/xml"
        };
        let rb = srv
            .req(method.clone(), &url)
            .header("content-type", content_type)
            .body(body.clone());
        let Ok(resp) = rb.send().await else {
            // A URL reqwest refuses to send is not the server's concern.
            continue;
        };
        let status = resp.status();
        if status.is_success() && path.ends_with("/events") {
            // A live stream of a running instance does not end: its
            // answer started well, which is what this test checks.
            answered += 1;
            continue;
        }
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status.as_u16() < 500,
            "{method} {url} with {:?} answered {status}: {text}",
            String::from_utf8_lossy(&body)
        );
        if !status.is_success() {
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e}): {text}"));
            assert!(
                v["code"].is_string() && v["message"].is_string(),
                "{method} {url}: {v}"
            );
        }
        answered += 1;
    }
    assert!(answered > 300, "only {answered} requests were sent");
    let (status, _) = srv.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "still ready");
    assert!(srv.stop().success());
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["db", "check", "--db"])
        .arg(&db)
        .output()
        .expect("db check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
