//! `/metrics` (Prometheus text) and the request metrics middleware.
//!
//! The service records through the `metrics` facade; the composition root supplies the
//! renderer, so this adapter does not know the exporter. Gauges that describe other systems
//! (the dead-letter queue) are refreshed at scrape time.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use datastorage_application::audit::QueueStatus;
use datastorage_application::ports::QueueDurability;

use crate::AppState;

/// Renders every recorded metric as Prometheus text.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// Counts requests by route template, method and status, times them, and logs one line per
/// request (id, method, route, status, latency; never a body: audit payloads may hold
/// secrets). The request id was settled by [`crate::trace::trace_request`], which also
/// echoes it; the route template is recorded on its span here, the first place it is known.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    crate::trace::record_route(&route);
    let method = request.method().to_string();
    let request_id = request
        .headers()
        .get(crate::trace::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status_code = response.status().as_u16();
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status = status_code,
        latency_ms = latency.as_secs_f64() * 1000.0,
        "request"
    );
    let status = status_code.to_string();
    metrics::counter!("datastorage_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("datastorage_http_request_duration_seconds", "route" => route, "method" => method)
        .record(latency.as_secs_f64());
    response
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "Metrics", operation_id = "getMetrics",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.audit.queue_status().await {
        QueueStatus::Available { stats, durability } => {
            let ratio = stats.depth as f64 / stats.capacity.max(1) as f64;
            let level = [95.0, 90.0, 80.0]
                .into_iter()
                .find(|l| ratio * 100.0 >= *l)
                .unwrap_or(0.0);
            metrics::gauge!("datastorage_dlq_depth").set(stats.depth as f64);
            metrics::gauge!("datastorage_dlq_capacity_ratio").set(ratio);
            metrics::gauge!("datastorage_dlq_capacity_warning_level").set(level);
            metrics::gauge!("datastorage_dlq_pending").set(stats.pending as f64);
            metrics::gauge!("datastorage_dlq_dead_letter_depth").set(stats.dead_lettered as f64);
            metrics::gauge!("datastorage_dlq_oldest_age_seconds")
                .set(stats.oldest_age_seconds.unwrap_or(0.0));
            let always = matches!(durability, QueueDurability::Always);
            metrics::gauge!("datastorage_dlq_durability_always").set(if always {
                1.0
            } else {
                0.0
            });
            metrics::gauge!("datastorage_dlq_up").set(1.0);
        }
        QueueStatus::Unavailable(_) => metrics::gauge!("datastorage_dlq_up").set(0.0),
        QueueStatus::NotConfigured => {}
    }
    metrics::gauge!("datastorage_circuit_breaker_open").set(if state.audit.breaker_open() {
        1.0
    } else {
        0.0
    });
    let text = (state.metrics)();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
