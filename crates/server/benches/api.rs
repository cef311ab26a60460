//! `cargo bench -p windlass-server --bench api [-- N CONCURRENCY]`:
//! instance starts through the REST API on loopback, beside the same
//! starts made in process, on the same SQLite store settings (durable,
//! group commit), in one run:
//!
//! - `in-process`: `RuntimeHandle::start_instance` from CONCURRENCY tasks
//!   (the rate without HTTP);
//! - `api`: `POST /api/v1/instances` from CONCURRENCY clients (answered
//!   once the start is committed);
//! - `api, wait settled`: the same with `"wait": "settled"` (answered once
//!   the instance has run to its end: its one task and the second commit).
//!
//! The process is a start event, one abstract task (a recorded no-op) and
//! an end event. The load generator (reqwest) runs in the same process as
//! the server, on the same two cores: the API numbers include its cost.
//! N defaults to 5000, CONCURRENCY to 32 (a bounded load: latency without
//! unbounded queueing). Prints a table with starts/s, p50 and p99 latency,
//! and each API rate as a ratio of the in-process one.
#![allow(missing_docs)]

mod common;

use common::{PROCESS, load};
use windlass_runtime::{Handlers, Runtime, RuntimeHandle, RuntimeOptions, StartRequest};
use windlass_server::{Server, ServerOptions, ServerStore, Token};
use windlass_store_sqlite::SqliteStore;

/// mimalloc, as in the `windlass` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn runtime(dir: &std::path::Path, name: &str) -> RuntimeHandle<ServerStore> {
    let store =
        windlass_store_any::AnyStore::from(SqliteStore::open(dir.join(name)).expect("open"));
    let rt = Runtime::start(RuntimeOptions::default(), store, Handlers::new())
        .await
        .expect("runtime");
    rt.deploy(PROCESS).await.expect("deploy");
    rt
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    tokio.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rows = Vec::new();

        let rt = runtime(dir.path(), "in-process.db").await;
        let h = rt.clone();
        rows.push(
            load("in-process start", n, concurrency, move |_| {
                let h = h.clone();
                async move {
                    h.start_instance(StartRequest::new("simple"))
                        .await
                        .expect("start");
                }
            })
            .await,
        );
        rt.shutdown().await.expect("shutdown");

        for (what, wait) in [
            ("api start", "none"),
            ("api start, wait settled", "settled"),
        ] {
            let rt = runtime(dir.path(), &format!("{wait}.db")).await;
            let addr = "127.0.0.1:0".parse().expect("addr");
            let server = Server::run(ServerOptions::new(addr, Token::new("bench")), rt.clone())
                .await
                .expect("server");
            let url = format!("http://{}/api/v1/instances", server.local_addr());
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(concurrency)
                .build()
                .expect("client");
            let body = serde_json::json!({"processId": "simple", "wait": wait});
            rows.push(
                load(what, n, concurrency, move |_| {
                    let (client, url, body) = (client.clone(), url.clone(), body.clone());
                    async move {
                        let r = client
                            .post(&url)
                            .bearer_auth("bench")
                            .json(&body)
                            .send()
                            .await
                            .expect("send");
                        assert!(r.status().is_success(), "{}", r.status());
                        let _ = r.bytes().await;
                    }
                })
                .await,
            );
            server.shutdown().await.expect("server shutdown");
            rt.shutdown().await.expect("shutdown");
        }

        println!(
            "{n} starts, {concurrency} in flight, SQLite (durable), one abstract task per instance"
        );
        println!("| what | starts/s | p50 | p99 | rate vs in-process |");
        println!("|---|---:|---:|---:|---:|");
        let base = rows[0].rate;
        for r in &rows {
            println!(
                "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2}× |",
                r.what,
                r.rate,
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.rate / base
            );
        }
    });
}
