//! Sending an [`HttpSpec`]: one client per connect timeout (shared, so
//! connections are reused), retries with backoff inside the attempt, an
//! OAuth2 token fetched again once on 401, the response read with a cap into
//! the variable `response`. Every outcome and log line passes through the
//! job's [`Secrets`] first.

use super::response::{Body, read_capped};
use super::secrets::{Secrets, url_for_message};
use super::{Auth, BODY_CAP, HttpSpec, MAX_BACKOFF, Tls};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use windlass_runtime::JobOutcome;
use windlass_types::Vars;

/// How much of a response body a failure message quotes, chars.
const BODY_IN_MESSAGE: usize = 300;

/// What a shared client is made for: the connect timeout and the TLS
/// material (compared whole, so two identities never share a client).
type ClientKey = (Option<Duration>, Tls);

/// Clients kept for TLS material besides the default: at most this many
/// (a model with a certificate per instance would otherwise grow the map
/// without end; past the bound such clients are built per request).
const MAX_TLS_CLIENTS: usize = 64;

fn client(connect_timeout: Option<Duration>, tls: &Tls) -> Result<reqwest::Client, reqwest::Error> {
    static CLIENTS: OnceLock<Mutex<HashMap<ClientKey, reqwest::Client>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(Default::default);
    let mut map = clients.lock().unwrap_or_else(|p| p.into_inner());
    let key = (connect_timeout, tls.clone());
    if let Some(c) = map.get(&key) {
        return Ok(c.clone());
    }
    let mut b = reqwest::Client::builder().use_rustls_tls();
    if let Some(t) = connect_timeout {
        b = b.connect_timeout(t);
    }
    let c = tls.apply(b)?.build()?;
    let with_tls = map.keys().filter(|(_, t)| !t.is_default()).count();
    if tls.is_default() || with_tls < MAX_TLS_CLIENTS {
        map.insert(key, c.clone());
    }
    Ok(c)
}

/// One try's result.
enum Try {
    Done(JobOutcome),
    /// Worth another try: why.
    Again(String),
    /// 401: the bearer token was refused (with the failure if it stays so).
    Unauthorized(JobOutcome),
}

/// Sends `spec`, retrying as it says; `cancel` aborts the request. The
/// outcome has every credential masked.
pub async fn run(spec: HttpSpec, cancel: CancellationToken) -> JobOutcome {
    let mut secrets = spec.secrets.clone();
    let outcome = send(&spec, &cancel, &mut secrets).await;
    secrets.mask_outcome(outcome)
}

/// [`run`] before masking; `secrets` gains what is learnt on the way (the
/// headers the client builds, access tokens).
async fn send(spec: &HttpSpec, cancel: &CancellationToken, secrets: &mut Secrets) -> JobOutcome {
    let client = match client(spec.connect_timeout, &spec.tls) {
        Ok(c) => c,
        Err(e) => {
            return JobOutcome::technical(
                format!("task '{}': cannot build an HTTP client: {e}", spec.label),
                false,
            );
        }
    };
    let mut backoff = spec.backoff;
    let mut tries = 0;
    let mut refreshed = false;
    loop {
        tries += 1;
        // The token request, like the request, ends when the job is cancelled.
        let attempt = async {
            let token = match &spec.auth {
                Auth::OAuth2(o) => Some(o.token(&client, spec.timeout, secrets).await?),
                _ => None,
            };
            Ok::<_, super::oauth2::TokenError>(once(&client, spec, token.as_deref(), secrets).await)
        };
        let result = tokio::select! {
            r = attempt => r,
            () = cancel.cancelled() => {
                return JobOutcome::technical(format!("task '{}': cancelled", spec.label), false);
            }
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                return JobOutcome::technical(
                    format!("task '{}': {}", spec.label, e.message),
                    e.retryable,
                );
            }
        };
        match result {
            Try::Done(outcome) => return outcome,
            Try::Unauthorized(outcome) => match &spec.auth {
                // Refreshed once: a token revoked or rotated early.
                Auth::OAuth2(o) if !refreshed => {
                    o.forget();
                    refreshed = true;
                    tries -= 1;
                }
                _ => return outcome,
            },
            Try::Again(why) if tries > spec.max_retries => {
                return JobOutcome::technical(
                    format!(
                        "task '{}': {} {}: {why} (after {tries} tries)",
                        spec.label,
                        spec.method,
                        url_for_message(&spec.url)
                    ),
                    true,
                );
            }
            Try::Again(why) => {
                let why = secrets.mask(&why);
                tracing::debug!(task = %spec.label, %why, "http: retrying in {backoff:?}");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = cancel.cancelled() => {
                        return JobOutcome::technical(format!("task '{}': cancelled", spec.label), false);
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn once(
    client: &reqwest::Client,
    spec: &HttpSpec,
    token: Option<&str>,
    secrets: &mut Secrets,
) -> Try {
    let mut req = client.request(spec.method.clone(), spec.url.clone());
    for (k, v) in &spec.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req = match &spec.auth {
        Auth::None => req,
        Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
        Auth::Bearer(token) => req.bearer_auth(token),
        Auth::OAuth2(_) => req.bearer_auth(token.unwrap_or_default()),
        // The client presents the certificate.
        Auth::Mtls => req,
    };
    if let Some(body) = &spec.body {
        req = req.json(body);
    }
    if let Some(t) = spec.timeout {
        req = req.timeout(t);
    }
    let failed = |e: reqwest::Error| {
        Try::Done(JobOutcome::technical(
            format!(
                "task '{}': {} {}: {}",
                spec.label,
                spec.method,
                url_for_message(&spec.url),
                describe(e)
            ),
            true,
        ))
    };
    let req = match req.build() {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    // The authorization headers as built (basic credentials in base64, a
    // URL's user and password turned into one).
    secrets.add_request(&req);
    let mut resp = match client.execute(req).await {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_timeout() => return Try::Again(describe(e)),
        Err(e) => return failed(e),
    };
    let status = resp.status().as_u16();
    let mut headers = serde_json::Map::new();
    for (name, value) in resp.headers() {
        let mut value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == reqwest::header::SET_COOKIE {
            // A cookie the server sets is a credential (a session).
            value = secrets.add_set_cookie(&value);
        }
        match headers.get_mut(name.as_str()) {
            Some(serde_json::Value::String(s)) => {
                s.push_str(", ");
                s.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), value.into());
            }
        }
    }
    let is_json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let Body { bytes, dropped } = match read_capped(&mut resp, BODY_CAP).await {
        Ok(body) => body,
        Err(e) if e.is_timeout() => return Try::Again(describe(e)),
        Err(e) => return Try::Again(format!("reading the response: {}", describe(e))),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if spec.success.contains(status) {
        let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if is_json && dropped == 0 => v,
            _ if dropped > 0 => {
                format!("{text}\n[windlass: {dropped} more bytes truncated]").into()
            }
            _ => text.into(),
        };
        let mut response = serde_json::Map::new();
        response.insert("status".into(), status.into());
        response.insert("headers".into(), headers.into());
        response.insert("body".into(), body);
        let mut vars = Vars::new();
        vars.insert("response".into(), response.into());
        if spec.outputs.is_empty() {
            return Try::Done(JobOutcome::done(vars));
        }
        return Try::Done(select(spec, &vars));
    }
    let quoted = quote(&text);
    if status >= 500 || status == 429 {
        return Try::Again(format!("status {status}{quoted}"));
    }
    let failed = JobOutcome::technical(
        format!(
            "task '{}': {} {}: status {status} is not a success code{quoted}",
            spec.label,
            spec.method,
            url_for_message(&spec.url)
        ),
        false,
    );
    if status == 401 {
        Try::Unauthorized(failed)
    } else {
        Try::Done(failed)
    }
}

/// The variables the `output.NAME` expressions select from `response`
/// (in `scope`); an expression that fails on this response fails the
/// attempt without retry (the same answer would fail again), naming it.
fn select(spec: &HttpSpec, scope: &Vars) -> JobOutcome {
    let mut out = Vars::new();
    for (name, e) in &spec.outputs {
        match e.evaluate(scope) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(err) => {
                return JobOutcome::technical(
                    format!(
                        "task '{}': setting 'output.{name}': `{}` on the response: {err}",
                        spec.label,
                        e.source()
                    ),
                    false,
                );
            }
        }
    }
    JobOutcome::done(out)
}

/// The error and its sources, e.g. "cannot connect: tcp connect error:
/// Connection refused"; without the URL reqwest puts in its text (it may
/// hold a password or a key).
pub(super) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn quote(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let cut: String = body.chars().take(BODY_IN_MESSAGE).collect();
    let more = if cut.len() < body.len() { "..." } else { "" };
    format!(": {cut}{more}")
}
