//! Health probes: liveness (the process answers), readiness (it can serve writes now).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
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

/// Ready to take traffic: storage answers and the service is not shutting down.
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
    let is_ready = storage.is_ok() && !shutting_down;
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
