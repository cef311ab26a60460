//! Bearer-token authentication: every API route but the probes needs
//! `Authorization: Bearer <token>`, compared in constant time (`subtle`),
//! so response timing does not tell how much of a guess was right.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The token the server accepts. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl Token {
    /// A token from its text (surrounding whitespace removed).
    pub fn new(text: &str) -> Self {
        Self(text.trim().as_bytes().to_vec())
    }

    /// True when `candidate` is this token (constant time in the token's
    /// content; the lengths may differ in time).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        !self.0.is_empty() && bool::from(self.0.as_slice().ct_eq(candidate))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The middleware: passes requests carrying the token, answers 401
/// (`unauthorized`, with `WWW-Authenticate: Bearer`) to the rest.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .and_then(|h| {
            let (scheme, rest) = h.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
        });
    let refusal = match given {
        Some(token) if state.token.matches(token.trim_ascii()) => return next.run(request).await,
        Some(_) => "the bearer token is wrong",
        None => "this route needs 'Authorization: Bearer <token>' (see --token-file)",
    };
    let mut response = ApiError::unauthorized(refusal).into_response();
    debug_assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let t = Token::new(" s3cret\n");
        assert!(t.matches(b"s3cret"));
        assert!(!t.matches(b"s3cre"));
        assert!(!t.matches(b"s3cretx"));
        assert!(!t.matches(b""));
        assert!(!Token::new("").matches(b""), "an empty token never matches");
        assert_eq!(format!("{t:?}"), "Token(…)");
    }
}
