//! Jobs for remote workers across nodes: when several servers write one
//! PostgreSQL database, each holds the jobs of its own partitions' instances
//! on its board. A worker may poll any node (`POST /api/v1/jobs/activate`),
//! so a node that has fewer jobs than asked for asks the other live nodes
//! for the rest ([`PeerLookup`]), as a forwarded call with no wait (a node
//! receiving a forwarded activation answers from its own board only). The
//! jobs come back to the worker through the node it polled; answering them
//! there is forwarded to their owners like any call about an instance
//! (`crate::forward`), lease extensions included.
//!
//! A long poll (`waitMillis`) waits on the polled node's board in slices of
//! [`SLICE`], asking the other nodes again between slices, so a job that
//! appears on another node reaches a worker polling elsewhere within about
//! a slice. gRPC streams ask the same way (`crate::grpc`).

use crate::board::ActivatedJob;
use crate::standby::{FORWARDED_HEADER, copy_headers};
use axum::http::{HeaderMap, HeaderValue};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The API addresses (`http://host:port`) of the other live nodes.
pub type PeerLookup =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Vec<String>> + Send>> + Send + Sync>;

/// How long a long poll waits on this node's board before asking the
/// other nodes again.
pub const SLICE: Duration = Duration::from_millis(500);

/// How long a node waits for another node's answer to an activation.
const PEER_TIMEOUT: Duration = Duration::from_secs(2);

/// What an activation asks, as sent to another node.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// The kinds.
    pub kinds: &'a [String],
    /// The worker.
    pub worker_id: &'a str,
    /// The lease, ms.
    pub lock_millis: u64,
}

/// Another node's answer.
#[derive(Deserialize)]
struct Answer {
    jobs: Vec<ActivatedJob>,
}

/// Asking the other nodes for jobs.
pub struct Peers {
    lookup: PeerLookup,
    node: HeaderValue,
    client: reqwest::Client,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Peers {
    /// Asking the nodes `lookup` finds, as node `node` (sent in
    /// [`FORWARDED_HEADER`]).
    pub fn new(node: &str, lookup: PeerLookup) -> Result<Peers, crate::ServerError> {
        let node = HeaderValue::from_str(node).unwrap_or_else(|_| HeaderValue::from_static("node"));
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| crate::ServerError::Serve(std::io::Error::other(e)))?;
        Ok(Peers {
            lookup,
            node,
            client,
        })
    }

    /// Up to `max` jobs from the other live nodes' boards, asked in turn
    /// with the worker's headers (its credentials); a node that does not
    /// answer is skipped (its jobs wait for the next poll).
    pub async fn activate(
        &self,
        headers: &HeaderMap,
        ask: &Ask<'_>,
        max: usize,
    ) -> Vec<ActivatedJob> {
        let mut out: Vec<ActivatedJob> = Vec::new();
        for base in (self.lookup)().await {
            let left = max.saturating_sub(out.len());
            if left == 0 {
                break;
            }
            match self.ask(&base, headers, ask, left).await {
                Ok(jobs) => out.extend(jobs),
                Err(e) => tracing::debug!(node = %base, "jobs not asked of another node: {e}"),
            }
        }
        out
    }

    async fn ask(
        &self,
        base: &str,
        from: &HeaderMap,
        ask: &Ask<'_>,
        max: usize,
    ) -> Result<Vec<ActivatedJob>, String> {
        let url = format!("{}/api/v1/jobs/activate", base.trim_end_matches('/'));
        let mut headers = HeaderMap::new();
        // The worker's credentials and the like (hop-by-hop headers and the
        // length of its own body are left out).
        copy_headers(from, &mut headers);
        headers.insert(FORWARDED_HEADER, self.node.clone());
        let body = serde_json::json!({
            "kinds": ask.kinds,
            "workerId": ask.worker_id,
            "maxJobs": max,
            "lockMillis": ask.lock_millis,
            "waitMillis": 0,
        });
        let answer = self
            .client
            .post(&url)
            .headers(headers)
            .json(&body)
            .timeout(PEER_TIMEOUT)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status().is_success() {
            return Err(format!("answered {}", answer.status()));
        }
        let answer: Answer = answer.json().await.map_err(|e| e.to_string())?;
        Ok(answer.jobs)
    }
}
