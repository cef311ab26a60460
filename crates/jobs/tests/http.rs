//! The `http` kind against real HTTP servers on loopback.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use windlass_engine::event::JobFailure;
use windlass_jobs::TaskInput;
use windlass_runtime::JobOutcome;

#[derive(Default)]
struct Seen {
    hits: AtomicU32,
    last: std::sync::Mutex<Option<(String, HeaderMap, String)>>,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// Records the request and answers with the status in the path
/// (`/status/503`), the first `fail` hits with 503 when `/flaky/{fail}`.
async fn server() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route(
            "/status/{code}",
            any(
                |State(s): State<Arc<Seen>>,
                 axum::extract::Path(code): axum::extract::Path<u16>,
                 method: axum::http::Method,
                 headers: HeaderMap,
                 body: String| async move {
                    s.hits.fetch_add(1, Ordering::SeqCst);
                    *s.last.lock().unwrap() = Some((method.to_string(), headers, body));
                    (StatusCode::from_u16(code).unwrap(), "status body")
                },
            ),
        )
        .route(
            "/flaky/{fail}",
            get(
                |State(s): State<Arc<Seen>>, axum::extract::Path(fail): axum::extract::Path<u32>| async move {
                    let n = s.hits.fetch_add(1, Ordering::SeqCst);
                    if n < fail {
                        (StatusCode::SERVICE_UNAVAILABLE, "busy".to_string())
                    } else {
                        (StatusCode::OK, format!("ok after {n}"))
                    }
                },
            ),
        )
        .route(
            "/echo",
            any(|State(s): State<Arc<Seen>>, headers: HeaderMap, body: String| async move {
                *s.last.lock().unwrap() = Some(("ECHO".into(), headers.clone(), body.clone()));
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let auth = headers
                    .get("authorization")
                    .map(|h| h.to_str().unwrap().to_string());
                axum::Json(json!({"got": v, "auth": auth, "x": headers.get("x-trace").map(|h| h.to_str().unwrap())}))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn input(settings: &[(&str, &str)], vars: Value) -> TaskInput {
    let map: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TaskInput {
        label: "Call".into(),
        kind: "http".into(),
        settings: map.clone(),
        settings_source: map,
        inputs: vars.as_object().cloned().unwrap_or_default(),
        cancel: Default::default(),
        secrets: windlass_jobs::SecretSource::new(None, Some(Default::default())),
        job_key: None,
    }
}

async fn run(settings: &[(&str, &str)]) -> JobOutcome {
    windlass_jobs::start(input(settings, json!({})))
        .unwrap()
        .await
}

fn response(o: JobOutcome) -> Value {
    match o {
        JobOutcome::Completed { outputs, .. } => outputs["response"].clone(),
        other => panic!("not completed: {other:?}"),
    }
}

fn failure(o: JobOutcome) -> (String, bool) {
    match o {
        JobOutcome::Failed(JobFailure::Technical { message, retryable }) => (message, retryable),
        other => panic!("not a technical failure: {other:?}"),
    }
}

#[tokio::test]
async fn success_code_patterns_decide() {
    let (base, _) = server().await;
    let url = |c: u16| format!("{base}/status/{c}");
    let r = response(run(&[("url", &url(204))]).await);
    assert_eq!(r["status"], 204);
    let (msg, retryable) = failure(run(&[("url", &url(404))]).await);
    assert!(!retryable);
    assert!(
        msg.contains("status 404 is not a success code: status body"),
        "{msg}"
    );
    let r = response(run(&[("url", &url(404)), ("successCodes", "200,404")]).await);
    assert_eq!(
        (r["status"].clone(), r["body"].clone()),
        (json!(404), json!("status body"))
    );
    let r = response(run(&[("url", &url(302)), ("successCodes", "2xx,3xx")]).await);
    assert_eq!(r["status"], 302);
    let (msg, _) = failure(run(&[("url", &url(201)), ("successCodes", "200")]).await);
    assert!(msg.contains("status 201"), "{msg}");
}

#[tokio::test]
async fn retries_on_503_then_succeeds_or_gives_up_retryably() {
    let (base, seen) = server().await;
    let r = response(
        run(&[
            ("url", &format!("{base}/flaky/2")),
            ("retryBackoff", "PT0.01S"),
        ])
        .await,
    );
    assert_eq!(r["body"], "ok after 2");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
    let (base, seen) = server().await;
    let (msg, retryable) = failure(
        run(&[
            ("url", &format!("{base}/flaky/10")),
            ("retryBackoff", "PT0.01S"),
            ("maxRetries", "1"),
        ])
        .await,
    );
    assert!(retryable);
    assert!(msg.contains("status 503: busy (after 2 tries)"), "{msg}");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 2);
}

/// The server sees the token; the echo of it in `response` is masked.
#[tokio::test]
async fn json_body_headers_and_bearer_reach_the_server() {
    let (base, seen) = server().await;
    let i = input(
        &[
            ("url", &format!("{base}/echo")),
            ("method", "post"),
            ("body", r#"{{"name": "{name}", "n": {n}}}"#),
            ("header.X-Trace", "t-1"),
            ("auth", "bearer"),
            ("token", "s3cret"),
        ],
        json!({"name": "a\"b", "n": [1, 2]}),
    );
    let r = response(windlass_jobs::start(i).unwrap().await);
    assert_eq!(r["status"], 200);
    assert_eq!(r["headers"]["content-type"], "application/json");
    assert_eq!(
        r["body"],
        json!({"got": {"name": "a\"b", "n": [1, 2]}, "auth": "Bearer ***", "x": "t-1"})
    );
    let (_, headers, _) = seen.last.lock().unwrap().clone().unwrap();
    assert_eq!(headers["authorization"], "Bearer s3cret");
}

#[tokio::test]
async fn basic_auth_is_seen_by_the_server() {
    let (base, seen) = server().await;
    response(
        run(&[
            ("url", &format!("{base}/status/200")),
            ("method", "PUT"),
            ("auth", "basic"),
            ("username", "ann"),
            ("password", "pw"),
        ])
        .await,
    );
    let (method, headers, _) = seen.last.lock().unwrap().clone().unwrap();
    assert_eq!(method, "PUT");
    // base64("ann:pw")
    assert_eq!(headers["authorization"], "Basic YW5uOnB3");
}

#[tokio::test]
async fn request_timeout_fails_retryably() {
    let (base, _) = server().await;
    let started = Instant::now();
    let (msg, retryable) = failure(
        run(&[
            ("url", &format!("{base}/slow")),
            ("timeout", "PT0.2S"),
            ("maxRetries", "0"),
        ])
        .await,
    );
    assert!(retryable);
    assert!(msg.contains("timed out"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn connection_errors_are_retried_then_fail_retryably() {
    // A port nobody listens on: bind, note it, close.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (msg, retryable) = failure(
        run(&[
            ("url", &format!("http://{addr}/")),
            ("connectTimeout", "PT1S"),
            ("retryBackoff", "PT0.01S"),
            ("maxRetries", "2"),
        ])
        .await,
    );
    assert!(retryable);
    assert!(
        msg.contains("cannot connect") && msg.contains("(after 3 tries)"),
        "{msg}"
    );
}

/// A loopback listener that never accepts, its accept queue filled: the
/// kernel drops further SYNs, so a new connection is neither made nor
/// refused (it hangs until the client gives up). Returns the address and
/// the connections that fill the queue (kept open).
async fn unanswered_listener() -> (std::net::SocketAddr, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Owned by the test's runtime: never accepts, closed when it ends.
    tokio::spawn(async move {
        let _listener = listener;
        std::future::pending::<()>().await;
    });
    let mut held = Vec::new();
    for _ in 0..64 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(e)) => panic!("the full listener refused instead of ignoring: {e}"),
            // The queue is full: connects hang now.
            Err(_) => return (addr, held),
        }
    }
    panic!(
        "the accept queue never filled after {} connections",
        held.len()
    );
}

#[tokio::test]
async fn connect_timeout_applies() {
    let (addr, _held) = unanswered_listener().await;
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        run(&[
            ("url", &format!("http://{addr}/")),
            ("connectTimeout", "PT0.3S"),
            ("maxRetries", "0"),
        ]),
    )
    .await
    .expect("connectTimeout did not end the connect");
    let (msg, retryable) = failure(outcome);
    let took = started.elapsed();
    assert!(retryable);
    assert!(msg.contains("timed out"), "{msg}");
    // It waited for the connect timeout, and no longer (nothing else ends
    // a connect the peer never answers).
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn cancel_aborts_the_request() {
    let (base, _) = server().await;
    let i = input(&[("url", &format!("{base}/slow"))], json!({}));
    let cancel = i.cancel.clone();
    let job = tokio::spawn(windlass_jobs::start(i).unwrap());
    tokio::time::sleep(Duration::from_millis(100)).await;
    cancel.cancel();
    let (msg, _) = failure(job.await.unwrap());
    assert!(msg.contains("cancelled"), "{msg}");
}

#[tokio::test]
async fn output_settings_select_variables_from_the_response() {
    let (base, _) = server().await;
    let url = format!("{base}/echo");
    let body = r#"{{"items": [{{"id": "a-1"}}, {{"id": "b-2"}}], "version": "1.2"}}"#;
    let selected = run(&[
        ("url", &url),
        ("method", "POST"),
        ("body", body),
        ("output.first", "response.body.got.items[0].id"),
        ("output.version", "response.body.got.version"),
        ("output.ok", "response.status == 200"),
        ("output.count", "size(response.body.got.items)"),
    ])
    .await;
    let JobOutcome::Completed { outputs, .. } = selected else {
        panic!("{selected:?}");
    };
    // Only the selected variables: no `response`.
    assert_eq!(
        Value::Object(outputs),
        json!({"first": "a-1", "version": "1.2", "ok": true, "count": 2})
    );

    // An expression that fails on this response: no retry, named.
    let (message, retryable) =
        failure(run(&[("url", &url), ("output.deep", "response.body.nothing.here")]).await);
    assert!(!retryable);
    assert!(
        message.contains("setting 'output.deep'") && message.contains("response.body.nothing.here"),
        "{message}"
    );

    // Refused before any request: an expression that does not compile, a
    // name that is not a variable name.
    for (setting, value, says) in [
        ("output.bad", "response.(", "setting 'output.bad'"),
        (
            "output.a-b",
            "response.status",
            "'a-b' is not a variable name",
        ),
    ] {
        let i = input(&[("url", &url), (setting, value)], json!({}));
        let e = windlass_jobs::http::HttpSpec::parse(&i)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{e}");
    }
}
