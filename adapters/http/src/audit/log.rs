//! `/api/v1/audit/log/*` and `/api/v1/audit/verify-chain`: the transparency log for readers
//! and auditors. Hashes travel as standard base64, as checkpoints carry them.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use datastorage_application::log::{ChainVerdict, LogStatus};
use datastorage_domain::audit::{CorrelationId, EventId};
use datastorage_domain::log::Hash;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Identity;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/log/checkpoint", get(checkpoint))
        .route("/audit/log/vkey", get(vkey))
        .route("/audit/log/proof/inclusion", get(inclusion))
        .route("/audit/log/proof/consistency", get(consistency))
        .route("/audit/log/status", get(status))
        .route("/audit/verify-chain", post(verify_chain))
        .route("/audit/export", get(export))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn b64(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

/// The latest signed checkpoint: a C2SP tlog-checkpoint body (origin, tree size, base64 root
/// hash, a `timestamp` extension line) signed as a C2SP signed note with Ed25519. Verify it
/// with the key from `GET /api/v1/audit/log/vkey`, obtained out of band.
#[utoipa::path(get, path = "/api/v1/audit/log/checkpoint", tag = "Audit Log",
    operation_id = "getLogCheckpoint",
    responses(
        (status = 200, description = "The signed note", body = String, content_type = "text/plain"),
        (status = 503, description = "No checkpoint signed yet, or storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(text(state.log.checkpoint().await?.note))
}

/// The log's verifier key in C2SP signed-note `vkey` form (`<origin>+<key hash>+<base64>`).
#[utoipa::path(get, path = "/api/v1/audit/log/vkey", tag = "Audit Log",
    operation_id = "getLogVerifierKey",
    responses((status = 200, description = "The verifier key", body = String, content_type = "text/plain")))]
async fn vkey(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.log.vkey()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The event whose leaf is proved.
    #[param(format = Uuid)]
    pub event_id: String,
    /// The tree size the proof is for: a signed checkpoint's size, else 404; default: the
    /// latest checkpoint's.
    #[param(minimum = 1)]
    pub tree_size: Option<u64>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionProofResponse {
    pub event_id: Uuid,
    /// The leaf's index.
    pub log_index: u64,
    /// The size of the tree whose root the path leads to.
    pub tree_size: u64,
    /// RFC 9162 leaf hash, SHA-256(0x00 || RFC 8785 JSON of the event as read, without
    /// `log_index`), base64.
    pub leaf_hash: String,
    /// RFC 9162 §2.1.3 inclusion path, leaf to root, base64 hashes.
    pub audit_path: Vec<String>,
}

/// Proof that an event's leaf is in the log.
#[utoipa::path(get, path = "/api/v1/audit/log/proof/inclusion", tag = "Audit Log",
    operation_id = "getLogInclusionProof",
    params(InclusionParams),
    responses(
        (status = 200, description = "The proof", body = InclusionProofResponse),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The event is not in the log (not stored, or not sequenced yet), no checkpoint of tree_size is signed, or the event is outside that tree", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<InclusionParams>,
) -> Result<Json<InclusionProofResponse>, ApiError> {
    let id = EventId::parse(&params.event_id).map_err(|e| ApiError::validation(&e))?;
    let proof = state.log.inclusion(id, params.tree_size).await?;
    Ok(Json(InclusionProofResponse {
        event_id: *proof.event_id.as_uuid(),
        log_index: proof.log_index,
        tree_size: proof.tree_size,
        leaf_hash: proof.leaf_hash.to_base64(),
        audit_path: b64(&proof.audit_path),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size (at least 1).
    #[param(minimum = 1)]
    pub first: u64,
    /// The newer tree size (at least first; a signed checkpoint's size, else 404).
    #[param(minimum = 1)]
    pub second: u64,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProofResponse {
    pub first: u64,
    pub second: u64,
    /// RFC 9162 §2.1.4 consistency path, base64 hashes (empty when first = second).
    pub consistency_path: Vec<String>,
}

/// Proof that the log of `first` leaves is a prefix of the log of `second` leaves.
#[utoipa::path(get, path = "/api/v1/audit/log/proof/consistency", tag = "Audit Log",
    operation_id = "getLogConsistencyProof",
    params(ConsistencyParams),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProofResponse),
        (status = 400, description = "A parameter is invalid, or first is above second", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No checkpoint of tree size second is signed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn consistency(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ConsistencyParams>,
) -> Result<Json<ConsistencyProofResponse>, ApiError> {
    let proof = state.log.consistency(params.first, params.second).await?;
    Ok(Json(ConsistencyProofResponse {
        first: proof.first,
        second: proof.second,
        consistency_path: b64(&proof.consistency_path),
    }))
}

/// The log's state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogStatusResponse {
    /// The log's origin (the checkpoint's first line and the signing key's name).
    pub origin: String,
    /// Leaves in the log.
    pub size: u64,
    /// Committed events not yet sequenced.
    pub unsequenced: u64,
    /// Age of the oldest of those: the sequencing lag.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_unsequenced_seconds: Option<f64>,
    /// Tree size of the latest signed checkpoint.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_size: Option<u64>,
    /// Seconds since the latest checkpoint was signed.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_age_seconds: Option<f64>,
}

impl From<LogStatus> for LogStatusResponse {
    fn from(s: LogStatus) -> Self {
        Self {
            origin: s.origin,
            size: s.size,
            unsequenced: s.unsequenced,
            oldest_unsequenced_seconds: s.oldest_unsequenced_seconds,
            checkpoint_size: s.checkpoint_size,
            checkpoint_age_seconds: s.checkpoint_age_seconds,
        }
    }
}

/// Log size, sequencing lag and checkpoint age.
#[utoipa::path(get, path = "/api/v1/audit/log/status", tag = "Audit Log",
    operation_id = "getLogStatus",
    responses(
        (status = 200, description = "The log's state", body = LogStatusResponse),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn status(State(state): State<AppState>) -> Result<Json<LogStatusResponse>, ApiError> {
    Ok(Json(state.log.status().await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyChainRequest {
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\u0000]+$")]
    pub correlation_id: String,
}

/// A stored event that no longer hashes to its leaf.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TamperedEventDto {
    pub event_id: Uuid,
    pub log_index: u64,
    /// The leaf hash in the log (base64).
    pub expected_hash: String,
    /// The leaf hash of the row as stored now (base64).
    pub actual_hash: String,
    pub message: String,
}

/// A logged event whose row is gone.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MissingEventDto {
    pub event_id: Uuid,
    pub log_index: u64,
    /// Its leaf hash in the log (base64).
    pub leaf_hash: String,
    pub message: String,
}

/// The verdict on one correlation's trail.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyChainResponse {
    pub correlation_id: String,
    /// True when no event is tampered or missing and the log matches its signed checkpoint.
    pub is_valid: bool,
    /// Events of the correlation stored now.
    pub total_events: u64,
    /// Stored events whose leaf is in the log and matches.
    pub verified_events: u64,
    pub tampered_events: Vec<TamperedEventDto>,
    pub missing_events: Vec<MissingEventDto>,
    /// Stored events not sequenced yet (normally for at most a second after their commit).
    pub unsequenced_events: Vec<Uuid>,
    /// Logged events that retention dropped with their month: gone lawfully, not missing.
    pub pruned_events: Vec<Uuid>,
    /// Tree size of the signed checkpoint the log was checked against (0: none yet).
    pub checkpoint_tree_size: u64,
    /// Why the log itself fails its latest signed checkpoint, when it does.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_problem: Option<String>,
}

impl From<ChainVerdict> for VerifyChainResponse {
    fn from(v: ChainVerdict) -> Self {
        Self {
            correlation_id: v.correlation_id.as_str().to_owned(),
            is_valid: v.is_valid,
            total_events: v.total_events,
            verified_events: v.verified_events,
            tampered_events: v
                .tampered_events
                .into_iter()
                .map(|t| TamperedEventDto {
                    event_id: *t.event_id.as_uuid(),
                    log_index: t.log_index,
                    expected_hash: t.expected_hash.to_base64(),
                    actual_hash: t.actual_hash.to_base64(),
                    message: t.message,
                })
                .collect(),
            missing_events: v
                .missing_events
                .into_iter()
                .map(|m| MissingEventDto {
                    event_id: *m.event_id.as_uuid(),
                    log_index: m.log_index,
                    leaf_hash: m.leaf_hash.to_base64(),
                    message: m.message,
                })
                .collect(),
            unsequenced_events: v
                .unsequenced_events
                .iter()
                .map(|id| *id.as_uuid())
                .collect(),
            pruned_events: v.pruned_events.iter().map(|id| *id.as_uuid()).collect(),
            checkpoint_tree_size: v.checkpoint_size,
            log_problem: v.log_problem,
        }
    }
}

/// Verify a correlation's trail against the transparency log.
///
/// Every stored event of the correlation is hashed again and compared with its leaf; every
/// leaf logged for the correlation must still have its row; and the log must reproduce its
/// latest signed checkpoint.
#[utoipa::path(post, path = "/api/v1/audit/verify-chain", tag = "Audit Log",
    operation_id = "verifyAuditChain",
    request_body(content = VerifyChainRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The verdict", body = VerifyChainResponse),
        (status = 400, description = "correlation_id is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_chain(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<VerifyChainRequest>,
) -> Result<Json<VerifyChainResponse>, ApiError> {
    let correlation_id =
        CorrelationId::parse(request.correlation_id).map_err(|e| ApiError::validation(&e))?;
    Ok(Json(state.log.verify_chain(correlation_id).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Inclusive lower bound on event_timestamp: RFC 3339, or a span back from now (`24h`).
    #[param(schema_with = crate::audit::dto::time_bound_schema)]
    pub start_time: Option<String>,
    /// Inclusive upper bound on event_timestamp: RFC 3339, or a span back from now.
    #[param(schema_with = crate::audit::dto::time_bound_schema)]
    pub end_time: Option<String>,
    pub correlation_id: Option<String>,
    #[param(value_type = Option<crate::audit::dto::EventCategoryDoc>)]
    pub event_category: Option<String>,
}

/// The export's body: lines handed over by the task that reads them. Dropped when the
/// client goes away, which ends that task at its next line.
struct Lines(tokio::sync::mpsc::Receiver<Vec<u8>>);

impl futures_core::Stream for Lines {
    type Item = Result<Vec<u8>, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|line| line.map(Ok))
    }
}

/// Export events with the proofs to check them offline, as NDJSON (`application/x-ndjson`).
///
/// Line 1, the header: `{"type": "header", "format": "datastorage-audit-export/v1",
/// "filters", "tree_size", "checkpoint"}` (the signed checkpoint every proof is against).
/// Then one line per matching event sequenced into that checkpoint, newest first:
/// `{"type": "event", "log_index", "event" (as `GET /audit/events/{id}` returns it),
/// "leaf_hash", "audit_path"}`. Last, the manifest: `{"type": "manifest", "events",
/// "sha256" (of every byte before this line), "note"}`, the note a C2SP signed note by the
/// log's key over `datastorage-audit-export/v1`, the origin, the count and the digest, one
/// per line. No size cap: it streams. `datastorage export verify FILE --vkey V` checks
/// everything offline. Each export is recorded as an audit event (`datastorage.audit.exported`).
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "Audit Log",
    operation_id = "exportAuditEvents",
    params(ExportParams),
    responses(
        (status = 200, description = "The export, streamed", body = String, content_type = "application/x-ndjson"),
        (status = 400, description = "A filter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No checkpoint signed yet, or storage unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export(
    State(state): State<AppState>,
    identity: Option<axum::extract::Extension<Identity>>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let prepared = state
        .log
        .prepare_export(datastorage_application::log::ExportInput {
            start_time: params.start_time,
            end_time: params.end_time,
            correlation_id: params.correlation_id,
            event_category: params.event_category,
        })
        .await?;
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    let actor = identity.map(|i| i.0.0.clone());
    let background = state.clone();
    // The sender lives until the export is recorded: the response ends only then, so a
    // client that read the manifest finds the export in the trail. The task's lines belong
    // to this request, so it runs in the request's span.
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            match background.log.run_export(prepared, &sender).await {
                Ok(summary) => {
                    let draft = summary.audit_event(actor.as_deref(), chrono::Utc::now());
                    if let Err(e) = background.audit.record(draft).await {
                        tracing::error!(error = %e, "could not record the export's audit event");
                    }
                }
                Err(e) => tracing::error!(error = %e, "export failed before its manifest"),
            }
        }
        .instrument(span),
    );
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(Lines(receiver)),
    )
        .into_response())
}
