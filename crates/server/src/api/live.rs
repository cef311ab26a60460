//! `GET /api/v1/instances/{id}/events`: an instance run's history as it is
//! committed, as server-sent events (`text/event-stream`).
//!
//! Each history event is one SSE message (the default `message` type): `id:`
//! is its sequence number, `data:` the JSON of the line
//! `GET /api/v1/instances/{id}/history` answers with. A client that
//! reconnects with `Last-Event-ID` (or asks `?after=SEQ`) gets only the
//! events behind that number. When the run has finished and every event was
//! sent, a last message of type `end` (`{"status": …}`) closes the stream.
//! A comment goes out every [`KEEP_ALIVE`] so proxies keep the connection.
//!
//! How new events are noticed: the runtime has no per-commit notification
//! (its shards answer "finished" and "settled" waits, not "something was
//! committed"), so the stream polls the store every [`POLL`]: one index
//! read (the run's status) and one history read of the events behind the
//! last one sent (usually none). The definition is parsed once per stream.
//! Polling the store also sees commits made by another node of a cluster.
//!
//! Bounded: the stream ends when the run has finished and everything was
//! sent, when the client goes away, and when the server shuts down (its
//! shutdown token), so an open stream never holds `ServerHandle::shutdown`
//! beyond the drain of the response in flight.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::{AppState, ServerStore};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use windlass_model::ProcessGraph;
use windlass_runtime::RuntimeHandle;
use windlass_store_api::{HistoryRead as _, InstanceIndex as _, InstanceRef};
use windlass_views::Views;
use windlass_views::definition::load_graph;
use windlass_views::history::lines;
use windlass_views::replay::decode;

/// How often the store is asked for new events.
pub const POLL: Duration = Duration::from_millis(250);

/// How often a keep-alive comment is sent.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Which run, from where.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// A run id (default: the latest run when the stream opens).
    pub run: Option<String>,
    /// Only events with a greater sequence number (default 0: the whole
    /// history first). A `Last-Event-ID` header wins over it.
    pub after: Option<u64>,
}

/// The events of an instance run as they are committed (server-sent
/// events). Each message: `id:` the sequence number, `data:` one history
/// line (the items of `/history`). `Last-Event-ID` or `after` resume; a
/// last message of type `end` (`{"status": …}`) follows once the run has
/// finished; a comment every 15 s keeps the connection. The store is polled
/// every 250 ms for new events.
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}/events",
    tag = "instances",
    params(
        ("id" = String, Path, description = "The instance id (`/` as `%2F`)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number"),
        EventsQuery
    ),
    responses(
        (status = 200, description = "A `text/event-stream` of history lines (`data:` is a HistoryLine as JSON, `id:` its seq), ended by an `end` event", content_type = "text/event-stream", body = windlass_views::HistoryLine),
        (status = 400, description = "A malformed `Last-Event-ID` or query", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<KeepAliveStream<ReceiverStream<Result<Event, Infallible>>>>> {
    let after = match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                crate::ApiError::bad_request(
                    "Last-Event-ID: not a sequence number (a whole number)",
                )
            })?,
        None => q.after.unwrap_or(0),
    };
    let views = Views::new(state.rt.store());
    let row = views.row(&id, q.run.as_deref()).await?;
    let graph = load_graph(state.rt.store(), &row.definition_key).await?;
    let (tx, rx) = mpsc::channel(64);
    let feed = Feed {
        rt: state.rt.clone(),
        instance: row.instance,
        graph,
        after,
        stop: state.shutdown.child_token(),
        tx,
    };
    tokio::spawn(feed.run());
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// The task behind one stream.
struct Feed {
    rt: RuntimeHandle<ServerStore>,
    instance: InstanceRef,
    graph: Arc<ProcessGraph>,
    /// The last sequence number sent.
    after: u64,
    stop: CancellationToken,
    tx: mpsc::Sender<Result<Event, Infallible>>,
}

/// Why a feed stops early.
enum Stop {
    /// The client went away or the server stops.
    Gone,
}

impl Feed {
    async fn run(mut self) {
        loop {
            if self.rt.is_stopped() {
                return;
            }
            match self.tick().await {
                Ok(Some(status)) => {
                    let end = Event::default()
                        .event("end")
                        .data(serde_json::json!({ "status": status }).to_string());
                    let _ = self.tx.send(Ok(end)).await;
                    return;
                }
                Ok(None) => {}
                Err(Stop::Gone) => return,
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = self.tx.closed() => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Sends the events committed since the last tick; `Some(status)` once
    /// the run has finished and all of them were sent.
    async fn tick(&mut self) -> Result<Option<&'static str>, Stop> {
        match self.read().await {
            Ok((lines, finished)) => {
                for line in lines {
                    let event = Event::default()
                        .id(line.seq.to_string())
                        .data(serde_json::to_string(&line).unwrap_or_default());
                    self.after = self.after.max(line.seq);
                    self.send(event).await?;
                }
                Ok(finished)
            }
            Err(e) => {
                // Said once, then the stream ends: the client reconnects
                // (Last-Event-ID) or falls back to polling.
                tracing::warn!(instance = %self.instance, code = e.body.code, "event stream: {}", e.body.message);
                let body = serde_json::json!({ "code": e.body.code, "message": e.body.message });
                let _ = self
                    .send(Event::default().event("error").data(body.to_string()))
                    .await;
                Err(Stop::Gone)
            }
        }
    }

    /// The new lines, and the run's status if it has finished. The status is
    /// read first: a finished run's last events are committed by then, so
    /// the history read after it has them all.
    async fn read(&self) -> ApiResult<(Vec<windlass_views::HistoryLine>, Option<&'static str>)> {
        let store = self.rt.store();
        let status = match store.instance(&self.instance).await? {
            Some(row) => row.status.is_finished().then(|| row.status.as_str()),
            // Removed from the index (retention): nothing more will come.
            None => Some("removed"),
        };
        let stored = store.history_after(&self.instance, self.after).await?;
        if stored.is_empty() {
            return Ok((Vec::new(), status));
        }
        let events = decode(&self.instance, stored)?;
        Ok((lines(&events, &self.graph), status))
    }

    async fn send(&self, event: Event) -> Result<(), Stop> {
        tokio::select! {
            sent = self.tx.send(Ok(event)) => sent.map_err(|_| Stop::Gone),
            () = self.stop.cancelled() => Err(Stop::Gone),
        }
    }
}
