//! The web UI (`ui/`, issue #14): a single-page app embedded in the binary
//! at compile time and served without a token (the API it calls keeps
//! needing one; the page asks for it).
//!
//! - `/`, `/processes`, `/processes/{id}`, `/instances`, `/instances/{id}`,
//!   `/schedules`: the app's `index.html` (the app routes in the browser,
//!   so these addresses survive a reload).
//! - `/assets/…`: its scripts and styles (names carry a content hash, so
//!   they are cached for a year).
//!
//! `build.rs` embeds every file of `ui/dist`, written by
//! `npm --prefix ui ci && npm --prefix ui run build`. A server compiled
//! before the UI was built answers these addresses with 404 and
//! [`NOT_BUILT`] as plain text; the API works the same either way.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

/// What the UI's addresses answer when `ui/dist` was not built before
/// the server was compiled.
pub const NOT_BUILT: &str = "the web UI was not built: run `scripts/build-ui` (npm ci, vite build), then build windlass again (the API under /api/v1 works without it)\n";

/// The page's Content-Security-Policy: everything from this origin, no
/// inline scripts; inline styles are allowed because the diagram viewer
/// positions its overlays with `style` attributes.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'";

/// Whether the UI was embedded (`ui/dist` existed at compile time).
pub fn is_built() -> bool {
    file("index.html").is_some()
}

/// The UI's routes (no state, no token).
pub fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/processes", get(index))
        .route("/processes/{*rest}", get(index))
        .route("/instances", get(index))
        .route("/instances/{*rest}", get(index))
        .route("/schedules", get(index))
        .route("/assets/{*path}", get(asset))
}

/// An embedded file by its path under `ui/dist`.
fn file(path: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .and_then(|i| embedded::FILES.get(i))
        .map(|(_, bytes)| *bytes)
}

/// The media type of a file name.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn index() -> Response {
    match file("index.html") {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
            bytes,
        )
            .into_response(),
        None => not_built(),
    }
}

async fn asset(Path(path): Path<String>) -> Response {
    let path = format!("assets/{path}");
    match file(&path) {
        Some(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&path)),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            bytes,
        )
            .into_response(),
        None if is_built() => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such file in the web UI\n",
        )
            .into_response(),
        None => not_built(),
    }
}

fn not_built() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        NOT_BUILT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Server, ServerOptions, Token};
    use windlass_runtime::{Handlers, Runtime, RuntimeOptions};
    use windlass_store_sqlite::SqliteStore;

    #[test]
    fn embedded_files_are_sorted_for_the_lookup() {
        let paths: Vec<&str> = embedded::FILES.iter().map(|(p, _)| *p).collect();
        let mut sorted = paths.clone();
        sorted.sort_unstable();
        assert_eq!(paths, sorted);
        assert_eq!(file("no/such/file"), None);
    }

    #[test]
    fn media_types_follow_the_extension() {
        assert_eq!(
            content_type("assets/index-1a2b.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/noext"), "application/octet-stream");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deep_links_serve_the_page_without_a_token_and_the_api_still_needs_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = windlass_store_any::AnyStore::from(
            SqliteStore::open(dir.path().join("w.db")).expect("store"),
        );
        let rt = Runtime::start(RuntimeOptions::default(), store, Handlers::new())
            .await
            .expect("runtime");
        let options = ServerOptions::new(
            "127.0.0.1:0".parse().expect("address"),
            Token::new("sesame"),
        );
        let server = Server::run(options, rt.clone()).await.expect("server");
        let base = format!("http://{}", server.local_addr());
        let client = reqwest::Client::new();

        for path in [
            "/",
            "/processes",
            "/processes/order",
            "/instances",
            "/instances/abc",
            "/instances/order%2Fcall%2F3",
            "/schedules",
        ] {
            let answer = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("GET");
            let status = answer.status();
            let kind = answer
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = answer.text().await.expect("body");
            if is_built() {
                assert_eq!(status, StatusCode::OK, "{path}");
                assert!(kind.starts_with("text/html"), "{path}: {kind}");
                assert!(body.contains("<div id=\"app\""), "{path}: {body}");
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
                assert!(kind.starts_with("text/plain"), "{path}: {kind}");
                assert_eq!(body, NOT_BUILT, "{path}");
            }
        }

        // Assets: a missing one is a plain 404, never the page.
        let missing = client
            .get(format!("{base}/assets/missing.js"))
            .send()
            .await
            .expect("GET");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        if is_built() {
            let js = embedded::FILES
                .iter()
                .find(|(p, _)| p.starts_with("assets/") && p.ends_with(".js"))
                .map(|(p, _)| *p)
                .expect("a script among the embedded files");
            let answer = client
                .get(format!("{base}/{js}"))
                .send()
                .await
                .expect("GET");
            assert_eq!(answer.status(), StatusCode::OK);
            assert_eq!(
                answer
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some("text/javascript; charset=utf-8")
            );
        }

        // The API keeps needing the token; unknown paths stay JSON 404s.
        let api = client
            .get(format!("{base}/api/v1/instances"))
            .send()
            .await
            .expect("GET");
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        let authed = client
            .get(format!("{base}/api/v1/instances"))
            .bearer_auth("sesame")
            .send()
            .await
            .expect("GET");
        assert_eq!(authed.status(), StatusCode::OK);
        let unknown = client
            .get(format!("{base}/nothing-here"))
            .send()
            .await
            .expect("GET");
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = unknown.json().await.expect("JSON");
        assert_eq!(body["code"], "not_found");

        server.shutdown().await.expect("shutdown");
        rt.shutdown().await.expect("runtime shutdown");
    }
}
