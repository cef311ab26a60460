//! OAuth2 client credentials (RFC 6749, section 4.4) for `http` tasks: the
//! token is fetched from `tokenUrl` with the client id and secret (HTTP
//! basic), cached per (token URL, client, scope) until `expires_in` runs out
//! (less a margin of a tenth, at most 30 s), and fetched again once when the
//! service answers 401. A token response without `expires_in` is not cached.

use super::response::read_capped;
use super::secrets::{MASK, Secrets, url_for_message};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where and as whom tokens are fetched (`Debug` shows no secret).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// The token endpoint.
    pub token_url: reqwest::Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// The requested scope, if any.
    pub scope: Option<String>,
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2")
            .field("token_url", &url_for_message(&self.token_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &MASK)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A token answer longer than this is refused (a token is a few KiB).
const TOKEN_ANSWER_CAP: usize = 64 * 1024;

type Key = (String, String, String);

fn cache() -> &'static Mutex<HashMap<Key, (String, Instant)>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, (String, Instant)>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// What went wrong (never the secret).
    pub message: String,
    /// Worth another attempt (a 5xx, a connection error).
    pub retryable: bool,
}

impl OAuth2 {
    fn key(&self) -> Key {
        (
            self.token_url.to_string(),
            self.client_id.clone(),
            self.scope.clone().unwrap_or_default(),
        )
    }

    /// Drops the cached token (the service refused it).
    pub fn forget(&self) {
        cache()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key());
    }

    /// A token still valid from the cache, else a new one.
    pub async fn token(
        &self,
        client: &reqwest::Client,
        timeout: Option<Duration>,
        secrets: &mut Secrets,
    ) -> Result<String, TokenError> {
        let key = self.key();
        let cached = {
            let map = cache().lock().unwrap_or_else(|p| p.into_inner());
            map.get(&key)
                .filter(|(_, until)| Instant::now() < *until)
                .map(|(token, _)| token.clone())
        };
        if let Some(token) = cached {
            secrets.add(&token);
            return Ok(token);
        }
        let (token, ttl) = self.fetch(client, timeout, secrets).await?;
        secrets.add(&token);
        if let Some(ttl) = ttl {
            let margin = (ttl / 10).min(Duration::from_secs(30));
            let until = Instant::now() + ttl.saturating_sub(margin);
            cache()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (token.clone(), until));
        }
        Ok(token)
    }

    async fn fetch(
        &self,
        client: &reqwest::Client,
        timeout: Option<Duration>,
        secrets: &mut Secrets,
    ) -> Result<(String, Option<Duration>), TokenError> {
        let fail = |message: String, retryable: bool| TokenError { message, retryable };
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let mut req = client
            .post(self.token_url.clone())
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&form);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let at = url_for_message(&self.token_url);
        let unreachable = |e: reqwest::Error| {
            fail(
                format!("token endpoint {at}: {}", super::send::describe(e)),
                true,
            )
        };
        let (client, req) = req.build_split();
        let req = req.map_err(unreachable)?;
        // The client authentication header it built (basic, base64).
        secrets.add_request(&req);
        let mut resp = client.execute(req).await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let body = read_capped(&mut resp, TOKEN_ANSWER_CAP)
            .await
            .map_err(unreachable)?;
        if body.dropped > 0 {
            return Err(fail(
                format!("token endpoint {at}: the answer is over 64 KiB"),
                false,
            ));
        }
        let body = body.bytes;
        if !(200..300).contains(&status) {
            return Err(fail(
                format!("token endpoint {at} answered status {status}"),
                status >= 500 || status == 429,
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            fail(
                format!("token endpoint {at}: the answer is not JSON: {e}"),
                false,
            )
        })?;
        let token = v
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail(format!("token endpoint {at}: no access_token"), false))?;
        let ttl = v
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_secs);
        Ok((token.to_string(), ttl))
    }
}
