//! `/api/v1/audit/*`: record, read and query audit events.

pub mod dto;
pub(crate) mod legal_hold;
pub(crate) mod log;
pub(crate) mod timeline;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::SubsecRound;
use datastorage_application::AuditError;
use datastorage_application::audit::WriteOutcome;
use datastorage_domain::ValidationErrors;
use datastorage_domain::audit::{
    AuditEventDraft, EventId, NotificationDraft, NotificationRecord, PagePosition,
};
use tokio::sync::Semaphore;

use crate::AppState;
use crate::auth::Identity;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};
use dto::*;

/// With a token, the recorded actor is the token's identity, whatever the body claims.
fn with_actor(mut draft: AuditEventDraft, identity: Option<&Identity>) -> AuditEventDraft {
    if let Some(Identity(who)) = identity {
        draft.actor_id = Some(who.clone());
        draft.actor_type = draft.actor_type.or_else(|| Some("service".into()));
    }
    draft
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/events", post(create_event).get(query_events))
        .route(
            "/audit/events/batch",
            post(create_batch).layer(axum::middleware::from_fn_with_state(
                Arc::new(Semaphore::new(batch_concurrency())),
                one_of_few_batches,
            )),
        )
        .route("/audit/events/{event_id}", get(get_event))
        .route("/audit/notifications", post(create_notification))
        .route(
            "/audit/correlations/{correlation_id}",
            get(correlation_trail),
        )
        .merge(log::router())
        .merge(legal_hold::router())
        .merge(timeline::router())
}

/// Batches decoded at once: twice the cores. A batch's body, its parsed events and its
/// `COPY` payload are about a megabyte while it is handled; a batch waiting here has not
/// been read yet (its body is still in the socket), so 16 clients of 100-event batches hold
/// a few of those megabytes instead of 16. More at once would not be faster: decoding and
/// the insert already keep the cores busy.
fn batch_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

async fn one_of_few_batches(
    State(gate): State<Arc<Semaphore>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The semaphore is never closed, so acquiring cannot fail; if it ever did, the batch is
    // handled ungated rather than refused.
    let _permit = gate.acquire().await.ok();
    next.run(request).await
}

/// Record one audit event.
///
/// An `event_id` is unique within its `correlation_id`. 201: committed to storage. 200: an
/// identical event with this `event_id` was already stored in this correlation (idempotent
/// re-send; nothing written). 409: the `event_id` is stored in this correlation with other
/// content (the same id in another correlation is another event). 202: storage was unavailable and the event is durably queued for replay (only
/// with a dead-letter queue configured). 503 `service-unavailable`: nothing could take the
/// event, nothing was written; retry. 503 `outcome-unknown`: a store did not answer within
/// the write's deadline, so the event may be stored; retry with the `event_ids` the problem
/// names (the same `event_id`), which stores it once either way.
#[utoipa::path(
    post, path = "/api/v1/audit/events", tag = "Audit Write API",
    operation_id = "createAuditEvent",
    request_body(content = AuditEventRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Audit event created", body = AuditEventResponse),
        (status = 200, description = "Identical event already stored (idempotent re-send)", body = AuditEventResponse),
        (status = 202, description = "Storage unavailable; event durably queued for replay", body = AuditEventResponse),
        (status = 400, description = "Validation error or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "event_id already stored in this correlation with other content", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than the configured limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service-unavailable`: neither store could take the write, nothing was written. `outcome-unknown`: a store did not answer in time, so the events may be stored; `event_ids` names them: retry with those ids, which stores each once. Both with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_event(
    State(state): State<AppState>,
    identity: Option<Extension<Identity>>,
    ApiJson(request): ApiJson<AuditEventRequest>,
) -> Result<Response, ApiError> {
    let draft = with_actor(AuditEventDraft::from(request), identity.as_deref());
    let recorded = state.audit.record(draft).await?;
    let (status, message) = match recorded.outcome {
        WriteOutcome::Created => (StatusCode::CREATED, "audit event created"),
        WriteOutcome::AlreadyExists => (StatusCode::OK, "audit event already recorded"),
        WriteOutcome::Queued => (
            StatusCode::ACCEPTED,
            "storage unavailable: audit event durably queued for replay",
        ),
    };
    let body = AuditEventResponse {
        event_id: *recorded.event_id.as_uuid(),
        event_timestamp: *recorded.event_timestamp.as_datetime(),
        status: WriteStatus::from(recorded.outcome),
        message: message.to_owned(),
    };
    Ok((status, Json(body)).into_response())
}

/// Record a batch of audit events, all or nothing.
///
/// The whole batch is validated first: any bad item is a 400 naming `event at index i`, and
/// nothing is written. Then one transaction stores every event. An `event_id` is unique
/// within its `correlation_id`: the same id in two correlations is two events.
#[utoipa::path(
    post, path = "/api/v1/audit/events/batch", tag = "Audit Write API",
    operation_id = "createAuditEventsBatch",
    request_body(content = AuditEventBatchDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Batch created", body = BatchAuditEventResponse),
        (status = 200, description = "Every event was already stored (idempotent re-send)", body = BatchAuditEventResponse),
        (status = 202, description = "Storage unavailable; batch durably queued for replay", body = BatchAuditEventResponse),
        (status = 400, description = "Validation error (names the index), empty or oversized batch", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An event_id is stored in its correlation with other content", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than the configured limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service-unavailable`: neither store could take the write, nothing was written. `outcome-unknown`: a store did not answer in time, so the events may be stored; `event_ids` names them: retry with those ids, which stores each once. Both with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_batch(
    State(state): State<AppState>,
    identity: Option<Extension<Identity>>,
    ApiJson(requests): ApiJson<Vec<AuditEventRequest>>,
) -> Result<Response, ApiError> {
    let drafts = requests
        .into_iter()
        .map(|r| with_actor(AuditEventDraft::from(r), identity.as_deref()))
        .collect();
    let recorded = state.audit.record_batch(drafts).await?;
    let outcome = recorded.outcome();
    let count = |o| recorded.events.iter().filter(|r| r.outcome == o).count();
    let (status, message) = match outcome {
        WriteOutcome::Queued => (
            StatusCode::ACCEPTED,
            format!(
                "storage unavailable: {} audit events durably queued for replay",
                recorded.events.len()
            ),
        ),
        WriteOutcome::Created | WriteOutcome::AlreadyExists => (
            if outcome == WriteOutcome::Created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            format!(
                "{} audit events created, {} already recorded",
                count(WriteOutcome::Created),
                count(WriteOutcome::AlreadyExists)
            ),
        ),
    };
    let body = BatchAuditEventResponse {
        event_ids: recorded
            .events
            .iter()
            .map(|r| *r.event_id.as_uuid())
            .collect(),
        status: WriteStatus::from(outcome),
        message,
    };
    Ok((status, Json(body)).into_response())
}

/// Record a notification delivery attempt (the original contract's notification audit).
///
/// Stored as one unified audit event (category `notification`, correlation
/// `remediation_id`), so it is queried, replayed and kept like any event. `notification_id`
/// is unique: the same record sent again is stored once (200, the same answer); other
/// content under the same `notification_id` is a 409. 202 when storage was down and the
/// event is durably queued.
#[utoipa::path(
    post, path = "/api/v1/audit/notifications", tag = "Audit Write API",
    operation_id = "createNotificationAudit",
    request_body(content = NotificationAuditRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = NotificationAuditResponse),
        (status = 200, description = "This exact record was already stored (idempotent re-send)", body = NotificationAuditResponse),
        (status = 202, description = "Storage unavailable; the record is durably queued for replay", body = AuditEventResponse),
        (status = 400, description = "Validation error or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "notification_id already stored with other content", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service-unavailable`: neither store could take the write, nothing was written. `outcome-unknown`: a store did not answer in time, so the events may be stored; `event_ids` names them: retry with those ids, which stores each once. Both with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_notification(
    State(state): State<AppState>,
    identity: Option<Extension<Identity>>,
    ApiJson(request): ApiJson<NotificationAuditRequest>,
) -> Result<Response, ApiError> {
    let record = NotificationDraft::from(request)
        .validate()
        .map_err(|e| ApiError::validation(&e))?;
    let draft = with_actor(record.to_event(), identity.as_deref());
    let recorded = match state.audit.record(draft).await {
        Ok(recorded) => recorded,
        Err(AuditError::Invalid(errors)) => {
            let mut renamed = ValidationErrors::new();
            for e in errors.errors() {
                renamed.push(
                    NotificationRecord::field_of_event(&e.field),
                    e.message.clone(),
                );
            }
            return Err(ApiError::validation(&renamed));
        }
        Err(AuditError::Conflict { .. }) => {
            return Err(ApiError::Conflict(format!(
                "a notification audit record with notification_id {:?} is already stored with \
                 other content; re-send it unchanged or use a new notification_id",
                record.notification_id
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let at = chrono::Utc::now().trunc_subsecs(6);
    let status = match recorded.outcome {
        WriteOutcome::Created => StatusCode::CREATED,
        WriteOutcome::AlreadyExists => StatusCode::OK,
        WriteOutcome::Queued => {
            let body = AuditEventResponse {
                event_id: *recorded.event_id.as_uuid(),
                event_timestamp: *recorded.event_timestamp.as_datetime(),
                status: WriteStatus::Accepted,
                message: "storage unavailable: notification audit record durably queued for \
                          replay"
                    .to_owned(),
            };
            return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
        }
    };
    Ok((status, Json(NotificationAuditResponse::new(&record, at))).into_response())
}

/// Query audit events, newest first.
///
/// Offset pagination (`offset`) as in the original contract, or keyset pagination (`cursor`
/// from the previous page's `pagination.next_cursor`), which stays stable while events are
/// being written. `include_total=false` skips counting every match.
#[utoipa::path(
    get, path = "/api/v1/audit/events", tag = "Audit Write API",
    operation_id = "queryAuditEvents",
    params(AuditEventsParams),
    responses(
        (status = 200, description = "Query results", body = AuditEventsQueryResponse),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn query_events(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditEventsParams>,
) -> Result<Response, ApiError> {
    let page = state.audit.query(params.into()).await?;
    let ids: Vec<EventId> = page.page.events.iter().map(|e| e.event_id).collect();
    let indexes = state.log.indexes(&ids).await?;
    // The use-case validated these; read back what it applied.
    let (limit, offset) = (
        page.limit.get(),
        match page.position {
            PagePosition::Offset(n) => n,
            PagePosition::After(_) => 0,
        },
    );
    let mut body = AuditEventsQueryResponse::new(&page.page, limit, offset);
    AuditEventDto::index_all(&mut body.data, &indexes);
    Ok(Json(body).into_response())
}

/// Get one audit event by id.
///
/// An `event_id` is unique within its correlation; when a client used one id in several
/// correlations, this answers the first stored (read the correlation's trail for each).
#[utoipa::path(
    get, path = "/api/v1/audit/events/{event_id}", tag = "Audit Write API",
    operation_id = "getAuditEvent",
    params(("event_id" = String, Path, format = Uuid, description = "The event's id")),
    responses(
        (status = 200, description = "The event", body = AuditEventDto),
        (status = 400, description = "event_id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_event(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = EventId::parse(&event_id).map_err(|e| ApiError::validation(&e))?;
    let event = state.audit.get(id).await?;
    let mut body = AuditEventDto::from(&event);
    body.log_index = state.log.indexes(&[id]).await?.get(&id).copied();
    Ok(Json(body).into_response())
}

/// The trail of one correlation: its events as a parent/child tree.
///
/// Events are returned in depth-first pre-order (each parent before its children; siblings
/// oldest first) with each event's `depth` and `children`. An unknown correlation has an
/// empty trail.
#[utoipa::path(
    get, path = "/api/v1/audit/correlations/{correlation_id}", tag = "Audit Write API",
    operation_id = "getCorrelationTrail",
    params(("correlation_id" = String, Path, description = "The correlation id")),
    responses(
        (status = 200, description = "The trail", body = CorrelationTrailResponse),
        (status = 400, description = "correlation_id is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn correlation_trail(
    State(state): State<AppState>,
    Path(correlation_id): Path<String>,
) -> Result<Response, ApiError> {
    let trail = state.audit.correlation_trail(&correlation_id).await?;
    let ids: Vec<EventId> = trail.nodes.iter().map(|n| n.event.event_id).collect();
    let indexes = state.log.indexes(&ids).await?;
    let mut body = CorrelationTrailResponse::from(&trail);
    AuditEventDto::index_all(body.events.iter_mut().map(|e| &mut e.event), &indexes);
    Ok(Json(body).into_response())
}
