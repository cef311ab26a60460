//! Credentials of `http` tasks never leave the job: `http` tasks with
//! every kind of credential (bearer, basic, OAuth2 client secret and the
//! access token fetched, an API key header, a URL password, a query key) run
//! through the runtime against a loopback server that echoes credentials
//! back in successes and failures; then the history, the incidents, the
//! final variables and every log line (all levels, all crates) are searched
//! for each credential, and none is found. The server did receive them.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{any, post};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use windlass_engine::codec::decode_event;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_store_api::{HistoryRead, InstanceStatus};
use windlass_store_memory::MemoryStore;
use windlass_types::{MockClock, Timestamp};

const BEARER: &str = "bearer-S3CRET-1";
const API_KEY: &str = "apikey-S3CRET-2";
const QUERY_KEY: &str = "query-S3CRET-3";
const URL_PASSWORD: &str = "urlpass-S3CRET-4";
const BASIC_PASSWORD: &str = "basic-S3CRET-5";
const CLIENT_SECRET: &str = "client-S3CRET-6";
/// Prefix of the access tokens the token endpoint issues.
const ACCESS: &str = "access-S3CRET-7";
/// Read from the secrets directory (`secret:TRACE`): sent in a header whose
/// name says nothing about credentials, and echoed back.
const TRACE: &str = "trace-S3CRET-8";
/// Read from a `WINDLASS_SECRET_` variable (`secret:SHELL_TOKEN`) into a
/// shell task's environment, which prints it.
const SHELL_TOKEN: &str = "shell-S3CRET-9";
/// The session cookie the echo server sets on every answer.
const COOKIE: &str = "cookie-S3CRET-10";

/// Every log line, from every thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Answers `/echo/{code}` with that status and a JSON body repeating the
/// request's credentials; `/token` issues access tokens. Every
/// `Authorization` received is kept.
async fn server(seen: Arc<Mutex<Vec<String>>>) -> String {
    let router = Router::new()
        .route(
            "/echo/{code}",
            any(
                |State(seen): State<Arc<Mutex<Vec<String>>>>,
                 Path(code): Path<u16>,
                 uri: Uri,
                 headers: HeaderMap| async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    seen.lock().unwrap().push(h("authorization"));
                    (
                        StatusCode::from_u16(code).unwrap(),
                        [
                            ("content-type", "application/json".to_string()),
                            ("set-cookie", format!("SESSION={COOKIE}; Path=/")),
                        ],
                        json!({
                            "authorization": h("authorization"),
                            "key": h("x-api-key"),
                            "trace": h("x-trace"),
                            "uri": uri.to_string(),
                        })
                        .to_string(),
                    )
                },
            ),
        )
        .route(
            "/token",
            post(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap| async move {
                    let auth = headers["authorization"].to_str().unwrap().to_string();
                    seen.lock().unwrap().push(auth);
                    axum::Json(json!({"access_token": format!("{ACCESS}-a"), "expires_in": 3600}))
                },
            ),
        )
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("127.0.0.1:{}", addr.port())
}

/// A process id, the settings of its one `http` task, how it ends.
type Case = (&'static str, Vec<(&'static str, String)>, InstanceStatus);

fn process_of(kind: &str, id: &str, settings: &[(&str, String)]) -> String {
    let settings: String = settings
        .iter()
        .map(|(k, v)| {
            let v = v.replace('&', "&amp;").replace('"', "&quot;");
            format!(r#"<windlass:setting name="{k}" value="{v}"/>"#)
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d-{id}" targetNamespace="urn:t">
<process id="{id}" isExecutable="true">
  <startEvent id="s"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
  <serviceTask id="a" name="Call {id}">
    <extensionElements><windlass:task kind="{kind}" retries="1">{settings}</windlass:task></extensionElements>
  </serviceTask>
  <sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
  <endEvent id="e"/>
</process>
</definitions>"#
    )
}

async fn settle(
    rt: &RuntimeHandle<MemoryStore>,
    id: &windlass_store_api::InstanceRef,
    clock: &MockClock,
) -> windlass_runtime::InstanceOutcome {
    let wait = rt.wait_settled(id);
    tokio::pin!(wait);
    for _ in 0..2000 {
        tokio::select! {
            out = &mut wait => return out.unwrap(),
            () = tokio::time::sleep(Duration::from_millis(10)) => {
                if clock.sleepers() > 0 {
                    clock.advance(3_600_000);
                }
            }
        }
    }
    panic!("the instance did not settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_history_incidents_variables_or_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let host = server(seen.clone()).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = |v: &str| v.to_string();
    let cases: Vec<Case> = vec![
        (
            // Refused with the credentials echoed in the body it quotes.
            "bearer",
            vec![
                (
                    "url",
                    format!("http://{host}/echo/400?page=2&api_key={QUERY_KEY}"),
                ),
                ("auth", s("bearer")),
                ("token", s(BEARER)),
                ("header.X-Api-Key", s(API_KEY)),
            ],
            InstanceStatus::Incident,
        ),
        (
            // Echoed into `response` on success.
            "basic",
            vec![
                ("url", format!("http://{host}/echo/200")),
                ("auth", s("basic")),
                ("username", s("ann")),
                ("password", s(BASIC_PASSWORD)),
            ],
            InstanceStatus::Completed,
        ),
        (
            // The password of the URL, in a connection error.
            "userinfo",
            vec![
                (
                    "url",
                    format!("http://ann:{URL_PASSWORD}@127.0.0.1:{closed}/x"),
                ),
                ("maxRetries", s("0")),
            ],
            InstanceStatus::Incident,
        ),
        (
            // The URL password again, sent (as basic auth) and echoed.
            "userinfo-echo",
            vec![("url", format!("http://ann:{URL_PASSWORD}@{host}/echo/200"))],
            InstanceStatus::Completed,
        ),
        (
            // 503 with the access token echoed: retried (a log line with
            // the reason), then an incident quoting it.
            "oauth2-busy",
            vec![
                ("url", format!("http://{host}/echo/503")),
                ("auth", s("oauth2")),
                ("tokenUrl", format!("http://{host}/token")),
                ("clientId", s("windlass")),
                ("clientSecret", s(CLIENT_SECRET)),
                ("maxRetries", s("1")),
                ("retryBackoff", s("PT0.01S")),
            ],
            InstanceStatus::Incident,
        ),
        (
            "oauth2",
            vec![
                ("url", format!("http://{host}/echo/200")),
                ("auth", s("oauth2")),
                ("tokenUrl", format!("http://{host}/token")),
                ("clientId", s("windlass")),
                ("clientSecret", s(CLIENT_SECRET)),
            ],
            InstanceStatus::Completed,
        ),
        (
            // A secret by reference, in a header with an ordinary name,
            // echoed back.
            "secret-header",
            vec![
                ("url", format!("http://{host}/echo/200")),
                ("header.X-Trace", s("secret:TRACE")),
            ],
            InstanceStatus::Completed,
        ),
    ];
    // Shell tasks with a secret in their environment: printed to standard
    // output on success, to standard error on failure.
    let shell_cases: Vec<Case> = vec![
        (
            "secret-shell",
            vec![
                ("command", s(r#"echo "token=$TOKEN""#)),
                ("shell", s("sh")),
                ("env.TOKEN", s("secret:SHELL_TOKEN")),
            ],
            InstanceStatus::Completed,
        ),
        (
            "secret-shell-fails",
            vec![
                ("command", s(r#"echo "bad token $TOKEN" >&2; exit 3"#)),
                ("shell", s("sh")),
                ("env.TOKEN", s("secret:SHELL_TOKEN")),
            ],
            InstanceStatus::Incident,
        ),
    ];
    let secrets_dir = tempfile::tempdir().unwrap();
    std::fs::write(secrets_dir.path().join("TRACE"), format!("{TRACE}\n")).unwrap();
    let source = windlass_jobs::SecretSource::new(
        Some(secrets_dir.path().to_path_buf()),
        Some(
            [(
                "WINDLASS_SECRET_SHELL_TOKEN".to_string(),
                SHELL_TOKEN.to_string(),
            )]
            .into(),
        ),
    );

    let clock = Arc::new(MockClock::new(Timestamp(1_700_000_000_000)));
    let opts = RuntimeOptions {
        clock: clock.clone(),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(
        opts,
        MemoryStore::new(),
        windlass_jobs::builtin_with(Handlers::new(), source),
    )
    .await
    .unwrap();
    let mut exposed = String::new();
    let mut outcomes = Vec::new();
    let all = (cases.iter().map(|c| ("http", c))).chain(shell_cases.iter().map(|c| ("shell", c)));
    for (kind, (id, settings, expected)) in all {
        rt.deploy(&process_of(kind, id, settings)).await.unwrap();
        let inst = rt.start_instance(StartRequest::new(*id)).await.unwrap();
        let out = settle(&rt, &inst, &clock).await;
        assert_eq!(out.status, *expected, "{id}: {:?}", out.incidents);
        for h in rt.store().history(&inst).await.unwrap() {
            exposed.push_str(&String::from_utf8_lossy(&h.payload));
            exposed.push_str(&format!("{:?}\n", decode_event(&h.payload).unwrap()));
        }
        exposed.push_str(&format!("{:?}\n{:?}\n", out.incidents, out.variables));
        outcomes.push((id, out));
    }
    rt.shutdown().await.unwrap();
    exposed.push_str(&String::from_utf8_lossy(&logs.0.lock().unwrap()));

    // The server got every credential (so each case did send one)...
    let seen = seen.lock().unwrap().join("\n");
    assert!(seen.contains(&format!("Bearer {BEARER}")), "{seen}");
    assert!(seen.contains(&format!("Bearer {ACCESS}-a")), "{seen}");
    // basic, userinfo-echo, and one token request (the token is cached).
    assert_eq!(seen.matches("Basic ").count(), 3, "{seen}");
    // ... the echoes arrived, masked ...
    let var = |i: usize| outcomes[i].1.variables["response"]["body"].clone();
    assert_eq!(var(1)["authorization"], "Basic ***");
    assert_eq!(var(3)["authorization"], "Basic ***");
    assert_eq!(var(5)["authorization"], "Bearer ***");
    let incident = &outcomes[0].1.incidents[0];
    assert!(
        incident.contains(r#""authorization":"Bearer ***""#),
        "{incident}"
    );
    assert!(incident.contains("api_key=***"), "{incident}");
    assert!(exposed.contains("http: retrying"), "no retry was logged");
    // The secrets by reference were sent and used, and came back masked.
    assert_eq!(var(6)["trace"], "***");
    assert_eq!(
        outcomes[1].1.variables["response"]["headers"]["set-cookie"],
        "SESSION=***; Path=/"
    );
    assert_eq!(outcomes[7].1.variables["stdout"], "token=***\n");
    let incident = &outcomes[8].1.incidents[0];
    assert!(incident.contains("bad token ***"), "{incident}");
    // ... and no credential is anywhere.
    let basic = |user: &str, pw: &str| base64(format!("{user}:{pw}").as_bytes());
    let secrets = [
        s(BEARER),
        s(API_KEY),
        s(QUERY_KEY),
        s(URL_PASSWORD),
        s(BASIC_PASSWORD),
        s(CLIENT_SECRET),
        s(ACCESS),
        basic("ann", BASIC_PASSWORD),
        basic("ann", URL_PASSWORD),
        basic("windlass", CLIENT_SECRET),
        s(TRACE),
        s(SHELL_TOKEN),
        s(COOKIE),
    ];
    for secret in &secrets {
        assert!(secret.len() > 8, "{secret:?}");
        if let Some(at) = exposed.find(secret.as_str()) {
            let from = exposed[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            panic!(
                "{secret} leaked: ...{}...",
                &exposed[from..(at + secret.len() + 100).min(exposed.len())]
            );
        }
    }
}

/// Standard base64 with padding (what `Authorization: Basic` carries).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
