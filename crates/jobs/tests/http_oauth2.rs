//! OAuth2 client credentials against a real token endpoint on loopback:
//! the token is cached until it expires and fetched again once on 401.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use windlass_engine::event::JobFailure;
use windlass_jobs::TaskInput;
use windlass_runtime::JobOutcome;

#[derive(Default)]
struct Auth {
    /// Tokens issued so far (`tok-1`, `tok-2`, ...).
    issued: AtomicU32,
    /// The API accepts tokens numbered from this one on.
    min_valid: AtomicU32,
    /// The API refuses every token.
    refuse_all: AtomicBool,
    /// `expires_in` of issued tokens.
    expires_in: AtomicU64,
    api_hits: AtomicU32,
    /// The token request as the endpoint saw it.
    last_token_request: std::sync::Mutex<Option<(String, String)>>,
}

async fn server(expires_in: u64) -> (String, Arc<Auth>) {
    let auth = Arc::new(Auth::default());
    auth.expires_in.store(expires_in, Ordering::SeqCst);
    auth.min_valid.store(1, Ordering::SeqCst);
    let router = Router::new()
        .route(
            "/token",
            post(
                |State(a): State<Arc<Auth>>, headers: HeaderMap, body: String| async move {
                    let basic = headers["authorization"].to_str().unwrap().to_string();
                    *a.last_token_request.lock().unwrap() = Some((basic, body));
                    let n = a.issued.fetch_add(1, Ordering::SeqCst) + 1;
                    axum::Json(json!({
                        "access_token": format!("tok-{n}"),
                        "token_type": "Bearer",
                        "expires_in": a.expires_in.load(Ordering::SeqCst),
                    }))
                },
            ),
        )
        .route(
            "/api",
            get(
                |State(a): State<Arc<Auth>>, headers: HeaderMap| async move {
                    a.api_hits.fetch_add(1, Ordering::SeqCst);
                    let token = headers
                        .get("authorization")
                        .and_then(|h| h.to_str().ok())
                        .and_then(|h| h.strip_prefix("Bearer tok-"))
                        .and_then(|n| n.parse::<u32>().ok());
                    match token {
                        Some(n)
                            if !a.refuse_all.load(Ordering::SeqCst)
                                && n >= a.min_valid.load(Ordering::SeqCst) =>
                        {
                            // The token's number only: an echo of the token itself
                            // would be masked (`tests/secrets.rs`).
                            (StatusCode::OK, format!("hello with token {n}"))
                        }
                        _ => (StatusCode::UNAUTHORIZED, "bad token".to_string()),
                    }
                },
            ),
        )
        .route(
            "/slow-token",
            post(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/huge-token",
            post(|| async { "x".repeat(10 * 1024 * 1024) }),
        )
        .with_state(auth.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), auth)
}

async fn call(base: &str) -> JobOutcome {
    windlass_jobs::start(input(base, "token")).unwrap().await
}

fn input(base: &str, token_path: &str) -> TaskInput {
    let settings: BTreeMap<String, String> = [
        ("url", format!("{base}/api")),
        ("auth", "oauth2".into()),
        ("tokenUrl", format!("{base}/{token_path}")),
        ("clientId", "windlass".into()),
        ("clientSecret", "s3cret".into()),
        ("scope", "deploy".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    TaskInput {
        label: "Call".into(),
        kind: "http".into(),
        settings: settings.clone(),
        settings_source: settings,
        inputs: Default::default(),
        cancel: Default::default(),
        secrets: windlass_jobs::SecretSource::new(None, Some(Default::default())),
        job_key: None,
    }
}

fn body(o: JobOutcome) -> Value {
    match o {
        JobOutcome::Completed { outputs, .. } => outputs["response"]["body"].clone(),
        other => panic!("not completed: {other:?}"),
    }
}

#[tokio::test]
async fn the_token_is_fetched_with_the_client_credentials_and_cached() {
    let (base, auth) = server(3600).await;
    assert_eq!(body(call(&base).await), "hello with token 1");
    assert_eq!(body(call(&base).await), "hello with token 1");
    assert_eq!(auth.issued.load(Ordering::SeqCst), 1);
    let (basic, form) = auth.last_token_request.lock().unwrap().clone().unwrap();
    // base64("windlass:s3cret")
    assert_eq!(basic, "Basic d2luZGxhc3M6czNjcmV0");
    assert_eq!(form, "grant_type=client_credentials&scope=deploy");
}

#[tokio::test]
async fn an_expired_token_is_fetched_again() {
    let (base, auth) = server(0).await;
    assert_eq!(body(call(&base).await), "hello with token 1");
    assert_eq!(body(call(&base).await), "hello with token 2");
    assert_eq!(auth.issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once() {
    let (base, auth) = server(3600).await;
    assert_eq!(body(call(&base).await), "hello with token 1");
    // The service stops accepting tok-1 before it expires.
    auth.min_valid.store(2, Ordering::SeqCst);
    assert_eq!(body(call(&base).await), "hello with token 2");
    assert_eq!(auth.issued.load(Ordering::SeqCst), 2);
    assert_eq!(auth.api_hits.load(Ordering::SeqCst), 3);
    // Refused again after the refresh: a failure without retry, no loop.
    auth.refuse_all.store(true, Ordering::SeqCst);
    match call(&base).await {
        JobOutcome::Failed(JobFailure::Technical { message, retryable }) => {
            assert!(!retryable);
            assert!(
                message.contains("status 401 is not a success code"),
                "{message}"
            );
            assert!(!message.contains("tok-"), "the token leaked: {message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(auth.issued.load(Ordering::SeqCst), 3);
    assert_eq!(auth.api_hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn cancel_aborts_a_token_request_too() {
    let (base, _) = server(3600).await;
    let i = input(&base, "slow-token");
    let cancel = i.cancel.clone();
    let started = std::time::Instant::now();
    let job = tokio::spawn(windlass_jobs::start(i).unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    cancel.cancel();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), job)
        .await
        .expect("the token request outlived the cancel")
        .unwrap();
    match outcome {
        JobOutcome::Failed(JobFailure::Technical { message, .. }) => {
            assert!(message.contains("cancelled"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn an_oversized_token_answer_is_refused_not_buffered() {
    let (base, _) = server(3600).await;
    match windlass_jobs::start(input(&base, "huge-token"))
        .unwrap()
        .await
    {
        JobOutcome::Failed(JobFailure::Technical { message, retryable }) => {
            assert!(!retryable);
            assert!(message.contains("the answer is over 64 KiB"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
