//! `/metrics` (outside the token, like the probes): the Prometheus text
//! exposition of the runtime's counters and histograms
//! (`windlass_runtime::metrics`), with the levels read at scrape time
//! (intake queue depth per shard, timers armed, messages buffered).

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Installs the process-wide Prometheus recorder (once per process: the
/// `metrics` facade has one global recorder) and describes the runtime's
/// metrics. `None` when a recorder is already installed.
pub fn install_prometheus() -> Option<PrometheusHandle> {
    let seconds = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0,
    ];
    let events = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .ok()?
        .set_buckets_for_metric(
            Matcher::Full(windlass_runtime::metrics::COMMIT_EVENTS.into()),
            &events,
        )
        .ok()?
        .install_recorder()
        .ok()?;
    windlass_runtime::metrics::describe();
    Some(handle)
}

/// The metrics, as Prometheus text.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        (status = 404, description = "Metrics are off in this server"),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are off in this server\n").into_response();
    };
    let levels = state.rt.levels();
    for (shard, depth) in levels.intake.iter().enumerate() {
        gauge!("windlass_intake_queue_depth", "shard" => shard.to_string()).set(*depth as f64);
    }
    gauge!("windlass_timers_armed").set(levels.timers_armed as f64);
    gauge!("windlass_messages_buffered").set(levels.messages_buffered as f64);
    let board = state.board.levels();
    gauge!("windlass_worker_jobs", "state" => "queued").set(board.queued as f64);
    gauge!("windlass_worker_jobs", "state" => "leased").set(board.leased as f64);
    let stats = state.rt.timer_stats();
    counter!("windlass_timers_fired_total").absolute(stats.fired);
    counter!("windlass_timers_skipped_total").absolute(stats.skipped);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}
