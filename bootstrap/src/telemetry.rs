//! The process's Prometheus metrics: the recorder every `metrics::` call writes to, the
//! `/metrics` renderer, and the upkeep that keeps the recorder's memory bounded.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// How often recorded histogram samples are folded into their buckets: the exporter's own
/// default when it runs the upkeep itself.
const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// The process-wide Prometheus recorder (installed once; every `Application` of a process
/// shares it, as tests build many).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        const SECONDS: [f64; 14] = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(&SECONDS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        // Counters that only move on rare events exist from the start, at zero.
        for name in [
            "datastorage_dlq_replayed_entries_total",
            "datastorage_dlq_dead_lettered_entries_total",
            "datastorage_embedding_cache_hits_total",
            "datastorage_embedding_cache_misses_total",
        ] {
            metrics::counter!(name).increment(0);
        }
        handle
    })
}

/// Renders `/metrics`, refreshing the connection-pool gauges first.
pub(crate) fn renderer(
    pool: Option<datastorage_postgres::PgPool>,
) -> datastorage_http::metrics::MetricsRenderer {
    let handle = recorder().clone();
    Arc::new(move || {
        if let Some(pool) = &pool {
            let idle = pool.num_idle() as f64;
            let size = f64::from(pool.size());
            metrics::gauge!("datastorage_db_pool_connections", "state" => "in_use")
                .set(size - idle);
            metrics::gauge!("datastorage_db_pool_connections", "state" => "idle").set(idle);
        }
        handle.render()
    })
}

/// Runs for as long as it is polled, folding the recorder's histogram samples into buckets
/// every [`UPKEEP_PERIOD`]. A recorder built without the exporter's own HTTP listener keeps
/// every sample until `/metrics` is scraped: with nobody scraping, memory grows with every
/// request, without bound.
pub(crate) async fn upkeep() {
    let handle = recorder().clone();
    every(UPKEEP_PERIOD, move || handle.run_upkeep()).await;
}

/// Calls `f` once per `period`, the first time one period after the first poll.
async fn every(period: Duration, f: impl Fn()) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        f();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_calls_once_per_period_and_not_before_the_first() {
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        let task = tokio::spawn(every(Duration::from_secs(5), move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        let read = || calls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(4_999)).await;
        assert_eq!(read(), 0);
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(read(), 1);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(read(), 3);
        task.abort();
    }
}
