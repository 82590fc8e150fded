//! Health probes: liveness (the process answers), readiness (it can serve writes now).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use datastorage_application::audit::QueueStatus;
use datastorage_application::ports::QueueDurability;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

/// Overall health, in the original contract's shape.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// `healthy` or `unhealthy`.
    #[schema(example = "healthy")]
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Readiness with the state of each dependency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadinessResponse {
    /// `ready` or `not_ready`.
    #[schema(example = "ready")]
    pub status: String,
    /// Dependency → `ok`, or why it is not.
    pub checks: BTreeMap<String, String>,
    pub shutting_down: bool,
}

/// Whether the service and its storage are healthy.
#[utoipa::path(get, path = "/health", tag = "Health", operation_id = "healthCheck",
    responses(
        (status = 200, description = "Healthy", body = HealthResponse),
        (status = 503, description = "Unhealthy", body = HealthResponse),
    ))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    match state.audit.storage_ready().await {
        Ok(()) => (
            StatusCode::OK,
            Json(HealthResponse {
                status: "healthy".into(),
                error: None,
            }),
        ),
        Err(why) => {
            tracing::warn!(reason = %why, "health check: audit storage unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(HealthResponse {
                    status: "unhealthy".into(),
                    error: Some("audit storage unavailable".into()),
                }),
            )
        }
    }
}

/// The process is alive; checks no dependency.
#[utoipa::path(get, path = "/health/live", tag = "Health", operation_id = "livenessCheck",
    responses((status = 200, description = "Alive", body = HealthResponse)))]
async fn live() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "alive".into(),
        error: None,
    })
}

/// Ready to take traffic: not shutting down, and a write can be made durable now, in
/// storage or (while storage is down) in a queue that fsyncs every write.
#[utoipa::path(get, path = "/health/ready", tag = "Health", operation_id = "readinessCheck",
    responses(
        (status = 200, description = "Ready", body = ReadinessResponse),
        (status = 503, description = "Not ready (a dependency is down, or shutting down)", body = ReadinessResponse),
    ))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadinessResponse>) {
    let shutting_down = state.shutting_down.load(Ordering::SeqCst);
    let mut checks = BTreeMap::new();
    let storage = state.audit.storage_ready().await;
    checks.insert(
        "audit_storage".to_owned(),
        match &storage {
            Ok(()) => "ok".to_owned(),
            Err(_) => "unavailable".to_owned(),
        },
    );
    let queue = state.audit.queue_status().await;
    let (queue_check, durability, queue_durable) = match &queue {
        QueueStatus::NotConfigured => ("not_configured", "none".to_owned(), false),
        QueueStatus::Available { durability, .. } => (
            "ok",
            durability.label(),
            matches!(durability, QueueDurability::Always),
        ),
        QueueStatus::Unavailable(_) => ("unavailable", "unknown".to_owned(), false),
    };
    checks.insert("dead_letter_queue".to_owned(), queue_check.to_owned());
    checks.insert("dlq_durability".to_owned(), durability);
    let is_ready = !shutting_down && (storage.is_ok() || queue_durable);
    let status = if is_ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(ReadinessResponse {
            status: if is_ready { "ready" } else { "not_ready" }.into(),
            checks,
            shutting_down,
        }),
    )
}
