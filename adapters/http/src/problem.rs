//! The one place where errors become HTTP responses: RFC 7807 `application/problem+json`.
//!
//! Handlers and extractors return [`ApiError`]; its `IntoResponse` attaches a [`Problem`] to
//! the response, and [`problem_details`] (a middleware around every route) writes it out with
//! the request path as `instance`. The middleware also turns every other 4xx/5xx (unknown
//! route, wrong method, a layer's rejection) into a problem, and logs 5xx causes, which are
//! never sent to the client.

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use datastorage_application::AuditError;
use datastorage_domain::{Reason, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

/// Stable prefix of every problem `type` (kept from the original contract so existing
/// clients' checks keep working).
pub const PROBLEM_BASE: &str = "https://kubernaut.io/problems/";

/// RFC 7807 problem details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI identifying the problem type; ends in a stable slug such as `validation-error`.
    #[schema(example = "https://kubernaut.io/problems/validation-error")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    #[schema(example = "Validation Error")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// For validation errors: field name → what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_errors: Option<BTreeMap<String, String>>,
    /// For `outcome-unknown`: the ids of the request's events, in request order. Re-sending
    /// the events with these ids stores each once, whatever happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["0193a5c2-7e4b-7d1a-9c3e-5f2b8a9d0e11"]))]
    pub event_ids: Option<Vec<String>>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            instance: None,
            field_errors: None,
            event_ids: None,
        }
    }

    /// The problem for a bare status produced outside our handlers.
    fn for_status(status: StatusCode) -> Self {
        let (slug, title, detail) = match status {
            StatusCode::NOT_FOUND => ("not-found", "Not Found", "no resource at this path"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "Method Not Allowed",
                "this path does not accept this method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload-too-large",
                "Payload Too Large",
                "the request body exceeds the configured limit",
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "request-timeout",
                "Request Timeout",
                "the request took longer than the configured timeout",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "service-unavailable",
                "Service Unavailable",
                "the service cannot take this request now; retry later",
            ),
            s if s.is_server_error() => (
                "internal-error",
                "Internal Server Error",
                "the service failed to handle this request",
            ),
            _ => (
                "bad-request",
                "Bad Request",
                "the request is not acceptable",
            ),
        };
        Self::new(status, slug, title, detail)
    }
}

/// An internal cause attached to a 5xx response for the log; never serialised.
#[derive(Debug, Clone)]
struct InternalCause(String);

/// Every error an HTTP handler can return.
#[derive(Debug)]
pub enum ApiError {
    /// Input broke rules; `field_errors` says where, `reasons` what kind of rule (for the
    /// metrics).
    Validation {
        detail: String,
        field_errors: BTreeMap<String, String>,
        reasons: Vec<(String, Reason)>,
    },
    /// The body is not JSON.
    MalformedJson(String),
    UnsupportedMediaType(String),
    PayloadTooLarge,
    NotFound(String),
    Conflict(String),
    /// Storage is down and nothing was written; the client should retry after a moment. The
    /// cause chain, for the log.
    Unavailable(String),
    /// Neither store answered in time: the events may be stored. The client should retry
    /// with these ids. The cause chain, for the log.
    OutcomeUnknown {
        event_ids: Vec<String>,
        cause: String,
    },
    /// The cause chain, for the log.
    Internal(String),
    /// A client error with its own problem type (`version-not-incremented`, ...).
    Specific {
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn validation(errors: &ValidationErrors) -> Self {
        Self::validation_at(None, errors)
    }

    /// One field refused, its message also the detail's.
    pub fn invalid_field(
        field: impl Into<String>,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        let (field, message) = (field.into(), message.into());
        Self::Validation {
            detail: format!("{field}: {message}"),
            reasons: vec![(field.clone(), reason)],
            field_errors: BTreeMap::from([(field, message)]),
        }
    }

    /// Validation errors of the `index`-th item of a batch: keys become `[i].field`.
    pub fn validation_at(index: Option<usize>, errors: &ValidationErrors) -> Self {
        let mut field_errors: BTreeMap<String, String> = BTreeMap::new();
        let mut reasons = Vec::new();
        for e in errors.errors() {
            let key = match index {
                Some(i) => format!("[{i}].{}", e.field),
                None => e.field.clone(),
            };
            reasons.push((key.clone(), e.reason));
            field_errors
                .entry(key)
                .and_modify(|m| {
                    m.push_str("; ");
                    m.push_str(&e.message);
                })
                .or_insert_with(|| e.message.clone());
        }
        let detail = match index {
            Some(i) => format!("event at index {i}: {errors}"),
            None => errors.to_string(),
        };
        Self::Validation {
            detail,
            field_errors,
            reasons,
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Invalid(errors) => ApiError::validation(&errors),
            AuditError::InvalidBatchItem { index, errors } => {
                ApiError::validation_at(Some(index), &errors)
            }
            e @ AuditError::BatchSize { .. } => ApiError::Validation {
                detail: e.to_string(),
                field_errors: BTreeMap::from([("body".to_owned(), e.to_string())]),
                reasons: vec![("body".to_owned(), Reason::OutOfRange)],
            },
            e @ AuditError::Conflict { .. } => {
                ApiError::Conflict(format!("{e}; re-send it unchanged or use a new event_id"))
            }
            e @ AuditError::AlreadyHeld { .. } => {
                ApiError::Conflict(format!("{e}; release it first to place another"))
            }
            e @ (AuditError::NotFound(_)
            | AuditError::NotLogged(_)
            | AuditError::TreeNotSigned { .. }
            | AuditError::NotInTree { .. }
            | AuditError::UnknownCorrelation(_)
            | AuditError::NoHold(_)) => ApiError::NotFound(e.to_string()),
            // The store's own wording may name tables or constraints: log it, say less.
            AuditError::Rejected(why) => {
                tracing::warn!(reason = %why.chain(), "storage rejected an event");
                ApiError::Validation {
                    detail: "the event was refused by a storage constraint".into(),
                    field_errors: BTreeMap::new(),
                    reasons: Vec::new(),
                }
            }
            AuditError::Unavailable(why) => ApiError::Unavailable(why.chain()),
            AuditError::OutcomeUnknown { event_ids, cause } => ApiError::OutcomeUnknown {
                event_ids: event_ids.iter().map(ToString::to_string).collect(),
                cause: cause.chain(),
            },
            AuditError::Internal(why) => ApiError::Internal(why.chain()),
        }
    }
}

/// The remediation history's parameters, with the original's problem types and wording.
impl From<datastorage_domain::remediation::HistoryParamError> for ApiError {
    fn from(e: datastorage_domain::remediation::HistoryParamError) -> Self {
        use datastorage_domain::remediation::HistoryParamError as H;
        let (slug, title) = match e {
            H::Missing(_) => ("missing-parameter", "Missing Required Parameter"),
            _ => ("invalid-parameter", "Invalid Parameter"),
        };
        ApiError::Specific {
            status: StatusCode::BAD_REQUEST,
            slug,
            title,
            detail: e.to_string(),
        }
    }
}

impl From<datastorage_application::WorkflowError> for ApiError {
    fn from(e: datastorage_application::WorkflowError) -> Self {
        use datastorage_application::WorkflowError as W;
        match e {
            W::Invalid(errors) => ApiError::validation(&errors),
            W::NotFound(detail) => ApiError::NotFound(detail),
            W::VersionExists(detail) => ApiError::Conflict(detail),
            W::VersionNotIncremented(detail) => ApiError::Specific {
                status: StatusCode::BAD_REQUEST,
                slug: "version-not-incremented",
                title: "Version Not Incremented",
                detail,
            },
            W::ImmutableField(detail) => ApiError::Specific {
                status: StatusCode::BAD_REQUEST,
                slug: "immutable-field-violation",
                title: "Immutable Field Violation",
                detail,
            },
            W::InvalidTransition(detail) => ApiError::Specific {
                status: StatusCode::CONFLICT,
                slug: "invalid-status-transition",
                title: "Invalid Status Transition",
                detail,
            },
            W::Unavailable(why) => ApiError::Unavailable(why.chain()),
            W::EmbedderUnavailable(detail) => ApiError::Specific {
                status: StatusCode::SERVICE_UNAVAILABLE,
                slug: "embedder-unavailable",
                title: "Embedder Unavailable",
                detail,
            },
            W::Internal(why) => ApiError::Internal(why.chain()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (problem, cause) = match self {
            ApiError::Validation {
                detail,
                field_errors,
                reasons,
            } => {
                for (field, reason) in &reasons {
                    // `[3].custom_labels.team` → `custom_labels`: bounded label values.
                    let bare = field.rsplit("].").next().unwrap_or(field);
                    let top = bare.split('.').next().unwrap_or(bare).to_owned();
                    metrics::counter!(
                        "datastorage_validation_failures_total",
                        "field" => top,
                        "reason" => reason.as_str()
                    )
                    .increment(1);
                }
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "validation-error",
                    "Validation Error",
                    detail,
                );
                p.field_errors = (!field_errors.is_empty()).then_some(field_errors);
                (p, None)
            }
            ApiError::MalformedJson(detail) => (
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    "Malformed JSON",
                    detail,
                ),
                None,
            ),
            ApiError::UnsupportedMediaType(detail) => (
                Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "Unsupported Media Type",
                    detail,
                ),
                None,
            ),
            ApiError::PayloadTooLarge => (Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE), None),
            ApiError::NotFound(detail) => (
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found", detail),
                None,
            ),
            ApiError::Conflict(detail) => (
                Problem::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "Resource Conflict",
                    detail,
                ),
                None,
            ),
            ApiError::Unavailable(cause) => (
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service-unavailable",
                    "Service Unavailable",
                    "storage is temporarily unavailable; nothing was written, retry later",
                ),
                Some(cause),
            ),
            ApiError::OutcomeUnknown { event_ids, cause } => {
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "outcome-unknown",
                    "Outcome Unknown",
                    "storage did not answer in time: the events may or may not be stored; \
                     retry with the same event_id values (event_ids), which stores each once",
                );
                p.event_ids = Some(event_ids);
                (p, Some(cause))
            }
            ApiError::Internal(cause) => (
                Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR),
                Some(cause),
            ),
            ApiError::Specific {
                status,
                slug,
                title,
                detail,
            } => (Problem::new(status, slug, title, detail), None),
        };
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(problem);
        if let Some(cause) = cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        response
    }
}

const PROBLEM_JSON: &str = "application/problem+json";

/// Writes every 4xx/5xx as a problem document with `instance` set, and logs 5xx causes.
pub async fn problem_details(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    // The request's id, as the request log line and the client's response carry it.
    let request_id = request
        .headers()
        .get(crate::trace::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    if let Some(InternalCause(cause)) = parts.extensions.remove::<InternalCause>() {
        tracing::error!(%request_id, %method, %path, status = status.as_u16(), %cause, "request failed");
    } else if status.is_server_error() {
        tracing::error!(%request_id, %method, %path, status = status.as_u16(), "request failed");
    }
    // A JSON body (a problem from elsewhere, or a health report) is already meant for the
    // client; only bare or plain-text error bodies are replaced.
    let is_json = parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(PROBLEM_JSON.as_bytes()) || v.starts_with(b"application/json")
    });
    let problem = match parts.extensions.remove::<Problem>() {
        Some(p) => p,
        None if is_json => return Response::from_parts(parts, body),
        None => Problem::for_status(status),
    };
    drop(body);
    let problem = Problem {
        instance: Some(path),
        ..problem
    };
    let bytes = serde_json::to_vec(&problem).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
