//! A real server on loopback over a SQLite file, for the API tests: the
//! runtime with a job board (remote tasks wait for the API), the token
//! `sesame`, and small request helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use serde_json::Value;
use std::path::Path;
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions};
use windlass_server::{BoardHandler, JobBoard, Server, ServerHandle, ServerOptions, Token};
use windlass_store_sqlite::SqliteStore;

/// A running server and its runtime.
pub struct Fixture {
    pub rt: RuntimeHandle<windlass_server::ServerStore>,
    pub server: ServerHandle,
    pub base: String,
    pub http: reqwest::Client,
}

/// A server over the SQLite file `db`, with `process` deployed when given.
pub async fn fixture(db: &Path, process: Option<&str>) -> Fixture {
    fixture_with_grace(db, process, None).await
}

/// Opens the SQLite file `db`. A server stopped just before may still be
/// dropping its last clone of the runtime (a connection task ends after
/// the server's drain saw it close), holding the file for a moment: tried
/// again for up to 5 s while it is in use.
async fn open(db: &Path) -> SqliteStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match SqliteStore::open(db) {
            Err(windlass_store_api::StoreError::InUse { .. })
                if std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            opened => return opened.unwrap(),
        }
    }
}

/// [`fixture`] with the server's shutdown grace set when given.
pub async fn fixture_with_grace(
    db: &Path,
    process: Option<&str>,
    grace: Option<std::time::Duration>,
) -> Fixture {
    let board = JobBoard::new();
    let handlers = Handlers::new().fallback(BoardHandler(board.clone()));
    let store = windlass_store_any::AnyStore::from(open(db).await);
    let rt = Runtime::start(RuntimeOptions::default(), store, handlers)
        .await
        .unwrap();
    if let Some(xml) = process {
        rt.deploy(xml).await.unwrap();
    }
    let mut options = ServerOptions::new("127.0.0.1:0".parse().unwrap(), Token::new("sesame"));
    options.board = Some(board);
    if let Some(grace) = grace {
        options.shutdown_grace = grace;
    }
    let server = Server::run(options, rt.clone()).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    Fixture {
        rt,
        server,
        base,
        http: reqwest::Client::new(),
    }
}

impl Fixture {
    /// A GET of `path` with the token, to send.
    pub fn request(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth("sesame")
    }

    /// GET `path`: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth("sesame")
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// POST `body` to `path`, which must succeed; the JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth("sesame")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// The key of instance `id`'s open job at `node`.
    pub async fn job(&self, id: &str, node: &str) -> String {
        let (_, detail) = self.get(&format!("/api/v1/instances/{id}")).await;
        detail["openJobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["node"] == node)
            .unwrap_or_else(|| panic!("no open job at {node}: {detail}"))["jobKey"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits (10 s at most) until instance `id` has status `status`.
    pub async fn wait_status(&self, id: &str, status: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, detail) = self.get(&format!("/api/v1/instances/{id}")).await;
            if detail["status"] == status {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{id} never became {status}: {detail}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Fixture {
    /// Shuts the server and the runtime down and lets go of the database.
    pub async fn stop(self) {
        let Fixture { rt, server, .. } = self;
        server.shutdown().await.unwrap();
        rt.shutdown().await.unwrap();
    }
}
