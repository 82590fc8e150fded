//! `/api/v1/audit/legal-hold`: the original's routes and fields. A hold covers the
//! correlation's future events too; who placed or released it is the token's identity.

use axum::Json;
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use datastorage_application::governance::ANONYMOUS;
use datastorage_application::ports::LegalHold;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Identity;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/legal-hold", get(list).post(place))
        .route("/audit/legal-hold/{correlation_id}", delete(release))
}

fn actor(identity: Option<Extension<Identity>>) -> String {
    identity.map_or_else(|| ANONYMOUS.to_owned(), |i| i.0.0.clone())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaceLegalHoldRequest {
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\u0000]+$")]
    pub correlation_id: String,
    #[schema(min_length = 1, max_length = 4096, pattern = r"^[^\u0000]+$")]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlaceLegalHoldResponse {
    pub correlation_id: String,
    /// Events of the correlation stored now; events that arrive later are held too.
    pub events_affected: u64,
    /// The authenticated identity that placed it (`anonymous` without authentication).
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    pub reason: String,
}

/// Place a legal hold on a correlation: none of its events, present or future, is deleted by
/// retention until the hold is released. Recorded as an audit event in the correlation's
/// trail (`datastorage.audit.legal_hold.placed`).
#[utoipa::path(post, path = "/api/v1/audit/legal-hold", tag = "Audit Governance",
    operation_id = "placeLegalHold",
    request_body(content = PlaceLegalHoldRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Hold placed", body = PlaceLegalHoldResponse),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No event has this correlation_id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The correlation is already held (release it first)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn place(
    State(state): State<AppState>,
    identity: Option<Extension<Identity>>,
    ApiJson(request): ApiJson<PlaceLegalHoldRequest>,
) -> Result<Response, ApiError> {
    let placed = state
        .governance
        .place_hold(request.correlation_id, request.reason, &actor(identity))
        .await?;
    let body = PlaceLegalHoldResponse {
        correlation_id: placed.hold.correlation_id.as_str().to_owned(),
        events_affected: placed.events_affected,
        placed_by: placed.hold.placed_by,
        placed_at: placed.hold.placed_at,
        reason: placed.hold.reason,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LegalHoldDto {
    pub correlation_id: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
}

impl From<LegalHold> for LegalHoldDto {
    fn from(h: LegalHold) -> Self {
        Self {
            correlation_id: h.correlation_id.as_str().to_owned(),
            reason: h.reason,
            placed_by: h.placed_by,
            placed_at: h.placed_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LegalHoldList {
    pub holds: Vec<LegalHoldDto>,
    pub total: u64,
}

/// Active legal holds, oldest first.
#[utoipa::path(get, path = "/api/v1/audit/legal-hold", tag = "Audit Governance",
    operation_id = "listLegalHolds",
    responses(
        (status = 200, description = "Active holds", body = LegalHoldList),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(State(state): State<AppState>) -> Result<Json<LegalHoldList>, ApiError> {
    let holds: Vec<LegalHoldDto> = state
        .governance
        .holds()
        .await?
        .into_iter()
        .map(LegalHoldDto::from)
        .collect();
    Ok(Json(LegalHoldList {
        total: holds.len() as u64,
        holds,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleaseLegalHoldRequest {
    #[schema(min_length = 1, max_length = 4096, pattern = r"^[^\u0000]+$")]
    pub release_reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleaseLegalHoldResponse {
    pub correlation_id: String,
    /// Events of the correlation stored now, no longer held.
    pub events_released: u64,
    pub released_by: String,
    pub released_at: DateTime<Utc>,
}

/// Release a correlation's legal hold. Recorded as an audit event in its trail
/// (`datastorage.audit.legal_hold.released`).
#[utoipa::path(delete, path = "/api/v1/audit/legal-hold/{correlation_id}", tag = "Audit Governance",
    operation_id = "releaseLegalHold",
    params(("correlation_id" = String, Path, description = "The held correlation")),
    request_body(content = ReleaseLegalHoldRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Hold released", body = ReleaseLegalHoldResponse),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The correlation is not held", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn release(
    State(state): State<AppState>,
    identity: Option<Extension<Identity>>,
    Path(correlation_id): Path<String>,
    ApiJson(request): ApiJson<ReleaseLegalHoldRequest>,
) -> Result<Json<ReleaseLegalHoldResponse>, ApiError> {
    let released = state
        .governance
        .release_hold(correlation_id, request.release_reason, &actor(identity))
        .await?;
    Ok(Json(ReleaseLegalHoldResponse {
        correlation_id: released.correlation_id.as_str().to_owned(),
        events_released: released.events_released,
        released_by: released.released_by,
        released_at: released.released_at,
    }))
}
