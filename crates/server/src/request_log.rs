//! One log line per request (`debug`, in a `request` span with method and
//! path): status and duration. Errors the handlers answer with are the
//! client's; server errors (5xx) are logged at `warn`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument as _;

/// The middleware.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let span = tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path()
    );
    async move {
        let t0 = Instant::now();
        let response = next.run(request).await;
        let status = response.status().as_u16();
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if response.status().is_server_error() {
            tracing::warn!(status, ms, "request failed");
        } else {
            tracing::debug!(status, ms, "request");
        }
        response
    }
    .instrument(span)
    .await
}
