//! `/api/v1/dlq`: the state of the dead-letter queue, for operators.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use datastorage_application::audit::QueueStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::problem::{ApiError, Problem};

pub fn router() -> Router<AppState> {
    Router::new().route("/dlq", get(dlq_status))
}

/// Dead-letter queue depth and health.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DlqStatus {
    /// False when no queue is configured (a storage outage then answers 503).
    pub configured: bool,
    /// Entries waiting or being replayed (an entry is one request: an event or a batch).
    pub depth: u64,
    /// Most entries the queue holds; beyond it writes get 503 instead of being dropped.
    pub capacity: u64,
    /// depth / capacity.
    pub capacity_ratio: f64,
    /// Age of the oldest waiting entry.
    pub oldest_age_seconds: Option<f64>,
    /// Entries claimed by a replay worker and not yet acknowledged.
    pub pending: u64,
    /// Entries moved to the dead-letter stream (never storable; see the service log).
    pub dead_lettered: u64,
    /// `always` when every enqueue is fsynced before the 202 (Redis `appendfsync always`).
    pub durability: String,
    /// True while writes skip storage after repeated failures.
    pub circuit_open: bool,
}

/// The dead-letter queue: depth, oldest entry age, pending and dead-lettered counts.
#[utoipa::path(get, path = "/api/v1/dlq", tag = "Operations", operation_id = "getDlqStatus",
    responses(
        (status = 200, description = "Queue status", body = DlqStatus),
        (status = 503, description = "The queue cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
async fn dlq_status(State(state): State<AppState>) -> Result<Json<DlqStatus>, ApiError> {
    let circuit_open = state.audit.breaker_open();
    match state.audit.queue_status().await {
        QueueStatus::NotConfigured => Ok(Json(DlqStatus {
            configured: false,
            depth: 0,
            capacity: 0,
            capacity_ratio: 0.0,
            oldest_age_seconds: None,
            pending: 0,
            dead_lettered: 0,
            durability: "none".into(),
            circuit_open,
        })),
        QueueStatus::Available { stats, durability } => Ok(Json(DlqStatus {
            configured: true,
            depth: stats.depth,
            capacity: stats.capacity,
            capacity_ratio: stats.depth as f64 / stats.capacity.max(1) as f64,
            oldest_age_seconds: stats.oldest_age_seconds,
            pending: stats.pending,
            dead_lettered: stats.dead_lettered,
            durability: durability.label(),
            circuit_open,
        })),
        QueueStatus::Unavailable(why) => Err(ApiError::Unavailable(why)),
    }
}
