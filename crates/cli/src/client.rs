//! The client of `windlass server` behind the client verbs (`deploy`,
//! `start`, `message`, `signal`, `cancel`, …, and `instances …
//! --server`): where the server is and its token (`--server` / `--token`
//! / `--token-file`, or `WINDLASS_SERVER` / `WINDLASS_TOKEN` /
//! `WINDLASS_TOKEN_FILE`), and requests whose error answers become errors
//! naming the server's code and message.

use anyhow::{Context as _, anyhow, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;

/// Where the server is and how to authenticate.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// The server's base URL (e.g. http://127.0.0.1:8080).
    #[arg(long, env = "WINDLASS_SERVER", global = true, value_name = "URL")]
    pub server: Option<String>,
    /// The bearer token.
    #[arg(long, env = "WINDLASS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// A file holding the bearer token (what `windlass server` wrote).
    #[arg(long, env = "WINDLASS_TOKEN_FILE", global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// A connection to one server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// Percent-encodes one path segment (ids may hold `/`).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ServerArgs {
    /// The client, when a server is named; an error when it is named without
    /// a token.
    pub fn client(&self) -> anyhow::Result<Option<Client>> {
        let Some(base) = &self.server else {
            return Ok(None);
        };
        let token = match (&self.token, &self.token_file) {
            (Some(t), _) => t.trim().to_string(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .with_context(|| format!("--token-file {}", f.display()))?
                .trim()
                .to_string(),
            (None, None) => bail!(
                "--server needs a token: --token, --token-file, WINDLASS_TOKEN or WINDLASS_TOKEN_FILE"
            ),
        };
        let http = reqwest::Client::builder()
            .build()
            .context("building the HTTP client")?;
        Ok(Some(Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        }))
    }

    /// The client; an error saying so when no server is named.
    pub fn require(&self, verb: &str) -> anyhow::Result<Client> {
        self.client()?.ok_or_else(|| {
            anyhow!("`windlass {verb}` talks to a server: give --server URL (or WINDLASS_SERVER)")
        })
    }
}

impl Client {
    async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let resp = rb
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = resp.status();
        let bytes = resp.bytes().await.context("reading the server's answer")?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).with_context(|| {
                format!("the server's answer is not what this client expects ({status})")
            });
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(ApiFailure {
            status: status.as_u16(),
            code: body["code"].as_str().unwrap_or("unknown").to_string(),
            message: body["message"].as_str().map_or_else(
                || String::from_utf8_lossy(&bytes).into_owned(),
                str::to_string,
            ),
            details: body["details"].clone(),
        }
        .into())
    }

    /// GET `path` (from `/api/v1`).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(format!("{}/api/v1{path}", self.base)))
            .await
    }

    /// GET `path` (from `/api/v1`) with a query (values encoded here).
    pub async fn get_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        self.send(
            self.http
                .get(format!("{}/api/v1{path}", self.base))
                .query(query),
        )
        .await
    }

    /// POST JSON to `path` (from `/api/v1`).
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        self.send(
            self.http
                .post(format!("{}/api/v1{path}", self.base))
                .json(body),
        )
        .await
    }

    /// POST BPMN XML to `/api/v1/definitions`.
    pub async fn deploy<T: DeserializeOwned>(&self, xml: Vec<u8>) -> anyhow::Result<T> {
        let rb = self
            .http
            .post(format!("{}/api/v1/definitions", self.base))
            .header("content-type", "application/xml")
            .body(xml);
        self.send(rb).await
    }
}

/// An error answer of the server.
#[derive(Debug, thiserror::Error)]
#[error("the server refused ({status} {code}): {message}")]
pub struct ApiFailure {
    /// The HTTP status.
    pub status: u16,
    /// The server's error code.
    pub code: String,
    /// Its message.
    pub message: String,
    /// Its details.
    pub details: Value,
}

/// Runs `work` on a single-threaded tokio runtime (the client verbs make
/// one or a few requests).
pub fn block_on<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_escape_everything_but_unreserved() {
        assert_eq!(segment("order-7"), "order-7");
        assert_eq!(segment("a/b c%"), "a%2Fb%20c%25");
        assert_eq!(segment("tick/every"), "tick%2Fevery");
    }

    #[test]
    fn a_server_without_a_token_is_an_error_and_no_server_is_none() {
        assert!(ServerArgs::default().client().unwrap_or(None).is_none());
        let args = ServerArgs {
            server: Some("http://127.0.0.1:1".into()),
            ..ServerArgs::default()
        };
        assert!(args.client().is_err());
        assert!(ServerArgs::default().require("start").is_err());
    }
}
