//! The `Idempotency-Key` header of mutating requests: a retried request
//! with the same key gets the first answer again instead of acting twice
//! (a client that lost the answer to `POST /instances` retries safely).
//!
//! - The first request with a key runs; its answer (any status below 500)
//!   is kept with a fingerprint of the request (method, path, query, body).
//! - A repeat with the same fingerprint gets the kept answer, marked
//!   `Idempotent-Replayed: true`; a repeat with another request is refused
//!   with 422 `idempotency_key_reused`; a repeat while the first still
//!   runs gets 409 `request_in_progress`.
//! - Server errors (5xx) are not kept: the request may be retried.
//! - Answers are kept in memory, at most `capacity` of them for `ttl`: a
//!   restart forgets them. Operations that must be exactly-once across
//!   restarts have their own durable keys (a chosen instance id with
//!   `onConflict`, a message id).

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header of a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// The longest key accepted.
pub const MAX_KEY: usize = 255;

enum Entry {
    InFlight {
        fingerprint: u64,
    },
    Done {
        fingerprint: u64,
        at: Instant,
        status: StatusCode,
        content_type: Option<HeaderValue>,
        body: Bytes,
    },
}

/// The kept answers.
pub struct IdempotencyCache {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    entries: HashMap<String, Entry>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<String>,
}

enum Lookup {
    Run,
    Replay(Response),
    Refuse(ApiError),
}

impl IdempotencyCache {
    /// A cache of at most `capacity` answers kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Kept::default()),
        }
    }

    fn lookup(&self, key: &str, fingerprint: u64, now: Instant) -> Lookup {
        let Ok(mut kept) = self.inner.lock() else {
            return Lookup::Run;
        };
        match kept.entries.get(key) {
            Some(Entry::Done { at, .. }) if now.duration_since(*at) > self.ttl => {}
            Some(Entry::InFlight { fingerprint: f } | Entry::Done { fingerprint: f, .. })
                if *f != fingerprint =>
            {
                return Lookup::Refuse(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    format!("Idempotency-Key '{key}' was used for a different request"),
                ));
            }
            Some(Entry::InFlight { .. }) => {
                return Lookup::Refuse(ApiError::new(
                    StatusCode::CONFLICT,
                    "request_in_progress",
                    format!("a request with Idempotency-Key '{key}' is still running"),
                ));
            }
            Some(Entry::Done {
                status,
                content_type,
                body,
                ..
            }) => {
                let mut r = (*status, body.clone()).into_response();
                if let Some(ct) = content_type {
                    r.headers_mut()
                        .insert(axum::http::header::CONTENT_TYPE, ct.clone());
                }
                r.headers_mut().insert(
                    HeaderName::from_static(REPLAYED),
                    HeaderValue::from_static("true"),
                );
                return Lookup::Replay(r);
            }
            None => {}
        }
        kept.entries
            .insert(key.to_string(), Entry::InFlight { fingerprint });
        kept.order.push_back(key.to_string());
        self.evict(&mut kept, now);
        Lookup::Run
    }

    /// Drops expired answers, then the oldest while over capacity (never an
    /// answer still in flight).
    fn evict(&self, kept: &mut Kept, now: Instant) {
        let mut rounds = kept.order.len();
        while kept.entries.len() > self.capacity && rounds > 0 {
            rounds -= 1;
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            match kept.entries.get(&oldest) {
                Some(Entry::InFlight { .. }) => kept.order.push_back(oldest),
                Some(Entry::Done { .. }) => {
                    kept.entries.remove(&oldest);
                }
                None => {}
            }
        }
        kept.entries.retain(|_, e| match e {
            Entry::Done { at, .. } => now.duration_since(*at) <= self.ttl,
            Entry::InFlight { .. } => true,
        });
        let entries = &kept.entries;
        kept.order.retain(|k| entries.contains_key(k));
    }

    fn finish(
        &self,
        key: &str,
        fingerprint: u64,
        answer: Option<(StatusCode, Option<HeaderValue>, Bytes)>,
    ) {
        let Ok(mut kept) = self.inner.lock() else {
            return;
        };
        match answer {
            Some((status, content_type, body)) => {
                kept.entries.insert(
                    key.to_string(),
                    Entry::Done {
                        fingerprint,
                        at: Instant::now(),
                        status,
                        content_type,
                        body,
                    },
                );
            }
            None => {
                kept.entries.remove(key);
            }
        }
    }
}

/// Removes the in-flight mark when the request is dropped unfinished (the
/// client went away), so a retry runs.
struct InFlightGuard<'a> {
    cache: &'a IdempotencyCache,
    key: &'a str,
    fingerprint: u64,
    armed: bool,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.cache.finish(self.key, self.fingerprint, None);
        }
    }
}

/// The middleware (on every route; acts on POST, PUT, PATCH and DELETE
/// carrying the header).
pub(crate) async fn idempotent(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mutating = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(key) = request.headers().get(HEADER).filter(|_| mutating) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY => k.to_string(),
        _ => {
            return ApiError::bad_request(format!(
                "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
            ))
            .into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.body_limit).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                e.to_string(),
            )
            .into_response();
        }
    };
    let mut h = DefaultHasher::new();
    parts.method.as_str().hash(&mut h);
    parts.uri.to_string().hash(&mut h);
    bytes.hash(&mut h);
    let fingerprint = h.finish();
    let cache = state.idempotency.as_ref();
    match cache.lookup(&key, fingerprint, Instant::now()) {
        Lookup::Replay(r) => return r,
        Lookup::Refuse(e) => return e.into_response(),
        Lookup::Run => {}
    }
    let mut guard = InFlightGuard {
        cache,
        key: &key,
        fingerprint,
        armed: true,
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    if status.is_server_error() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be read",
        )
        .into_response();
    };
    let content_type = parts.headers.get(axum::http::header::CONTENT_TYPE).cloned();
    guard.armed = false;
    cache.finish(
        &key,
        fingerprint,
        Some((status, content_type, bytes.clone())),
    );
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_replay_clashes_are_refused_and_old_answers_go() {
        let c = IdempotencyCache::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(matches!(c.lookup("a", 1, t0), Lookup::Run));
        assert!(
            matches!(c.lookup("a", 1, t0), Lookup::Refuse(e) if e.body.code == "request_in_progress")
        );
        c.finish(
            "a",
            1,
            Some((StatusCode::CREATED, None, Bytes::from_static(b"{}"))),
        );
        match c.lookup("a", 1, t0) {
            Lookup::Replay(r) => {
                assert_eq!(r.status(), StatusCode::CREATED);
                assert_eq!(r.headers()[REPLAYED], "true");
            }
            _ => panic!("expected a replay"),
        }
        assert!(
            matches!(c.lookup("a", 2, t0), Lookup::Refuse(e) if e.body.code == "idempotency_key_reused")
        );
        // Capacity 2: a third and fourth key push the oldest answer out.
        assert!(matches!(c.lookup("b", 1, t0), Lookup::Run));
        c.finish("b", 1, Some((StatusCode::OK, None, Bytes::new())));
        assert!(matches!(c.lookup("c", 1, t0), Lookup::Run));
        assert!(
            matches!(c.lookup("a", 1, t0), Lookup::Run),
            "evicted: runs again"
        );
        // Expired answers run again.
        let later = t0 + Duration::from_secs(61);
        assert!(matches!(c.lookup("b", 1, later), Lookup::Run));
    }

    #[test]
    fn an_abandoned_request_can_be_retried() {
        let c = IdempotencyCache::new(10, Duration::from_secs(60));
        assert!(matches!(c.lookup("k", 1, Instant::now()), Lookup::Run));
        drop(InFlightGuard {
            cache: &c,
            key: "k",
            fingerprint: 1,
            armed: true,
        });
        assert!(matches!(c.lookup("k", 1, Instant::now()), Lookup::Run));
    }
}
