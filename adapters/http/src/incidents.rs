//! `GET /api/v1/incidents` and `/incidents/{id}`: the seeds' incidents read API, answered
//! from the audit trail's remediations (issue 25 step 3). Field names follow the seeds'
//! `Incident` (`alert_name`, `alert_severity`, `action_type`, `action_timestamp`,
//! `execution_status`) and `{data, pagination}` envelope; the target and score are ours.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::SecondsFormat;
use datastorage_application::audit::{IncidentPage, IncidentQueryInput};
use datastorage_domain::remediation::Incident;
use serde::{Deserialize, Serialize};
use serde_json::Number;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit::dto::time_bound_schema;
use crate::effectiveness::number;
use crate::extract::ApiQuery;
use crate::problem::{ApiError, Problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{id}", get(one))
}

/// Query parameters of `GET /api/v1/incidents`; all given filters must hold. An empty
/// parameter is no filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentsParams {
    /// The alert's name (the gateway's `signal_name`), exact.
    #[param(example = "HighCPULoad", max_length = 255, pattern = r"^[^\u0000]*$")]
    pub alert_name: Option<String>,
    /// The alert's severity, case-insensitive: critical, high, medium or low.
    #[param(example = "critical", schema_with = severity_schema)]
    pub severity: Option<String>,
    /// The chosen workflow's action type, exact.
    #[param(example = "ScaleReplicas", max_length = 255, pattern = r"^[^\u0000]*$")]
    pub action_type: Option<String>,
    /// The target's namespace, exact.
    #[param(example = "prod", max_length = 255, pattern = r"^[^\u0000]*$")]
    pub namespace: Option<String>,
    /// Earliest action_timestamp (inclusive): RFC 3339, or relative to now like 24h, 7d.
    #[param(example = "7d", schema_with = time_bound_schema)]
    pub since: Option<String>,
    /// Latest action_timestamp (inclusive): RFC 3339, or relative to now. Not earlier than
    /// since.
    #[param(schema_with = time_bound_schema)]
    pub until: Option<String>,
    /// Page size (1-1000, default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 50)]
    pub limit: Option<String>,
    /// Incidents to skip (default 0). Not with cursor.
    #[param(value_type = Option<u64>, minimum = 0, default = 0)]
    pub offset: Option<String>,
    /// Keyset pagination: `pagination.next_cursor` of the previous page; stable while
    /// remediations are added, unlike offset. Not with offset.
    #[param(example = "1772359200000000_72722d637075")]
    pub cursor: Option<String>,
}

fn severity_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["critical", "high", "medium", "low", ""]))
        .description(Some(
            "The alert's severity, case-insensitive: critical, high, medium or low (empty: any)",
        ))
        .into()
}

impl From<IncidentsParams> for IncidentQueryInput {
    fn from(p: IncidentsParams) -> Self {
        Self {
            alert_name: p.alert_name,
            severity: p.severity,
            action_type: p.action_type,
            namespace: p.namespace,
            since: p.since,
            until: p.until,
            limit: p.limit,
            offset: p.offset,
            cursor: p.cursor,
        }
    }
}

/// One remediation: the seeds' incident row, plus its target and effectiveness score.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDto {
    /// The remediation's correlation id (its RemediationRequest name); the seeds had a
    /// number.
    #[schema(example = "rr-cpu-7f3a")]
    pub id: String,
    /// `signal_name` of the gateway's `gateway.signal.received`; null without one.
    #[schema(example = "HighCPULoad")]
    pub alert_name: Option<String>,
    /// The normalised severity of `signalprocessing.signal.processed`, else the gateway's raw
    /// severity; null without either.
    #[schema(example = "critical")]
    pub alert_severity: Option<String>,
    /// `action_type` of the last `remediation.workflow_created`.
    #[schema(example = "ScaleReplicas")]
    pub action_type: Option<String>,
    /// When the last `remediation.workflow_created` was recorded (the action was chosen).
    #[schema(value_type = String, format = DateTime)]
    pub action_timestamp: String,
    /// `pending` (workflow chosen), `running`, `completed` or `failed`: the lifecycle's
    /// completion (`orchestrator.lifecycle.completed`, `outcome` Failed → failed) when there
    /// is one, else the last workflow execution event.
    #[schema(example = "completed")]
    pub execution_status: &'static str,
    /// From the workflow's `target_resource` (`{namespace}/{kind}/{name}`).
    #[schema(example = "Deployment")]
    pub target_kind: Option<String>,
    #[schema(example = "api")]
    pub target_name: Option<String>,
    /// Null for a cluster-scoped target.
    #[schema(example = "prod")]
    pub target_namespace: Option<String>,
    /// The score `GET /api/v1/effectiveness/{id}` gives; null when not assessed.
    #[schema(value_type = Option<f64>, example = 0.45)]
    pub effectiveness_score: Option<Number>,
}

impl From<Incident> for IncidentDto {
    fn from(i: Incident) -> Self {
        Self {
            id: i.id.as_str().to_owned(),
            alert_name: i.alert_name,
            alert_severity: i.alert_severity,
            action_type: i.action_type,
            action_timestamp: i
                .action_timestamp
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            execution_status: i.execution_status.as_str(),
            target_kind: i.target_kind,
            target_name: i.target_name,
            target_namespace: i.target_namespace,
            effectiveness_score: number(i.effectiveness_score),
        }
    }
}

/// Paging of an incidents page.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = IncidentsPagination)]
pub struct IncidentsPagination {
    pub limit: u32,
    pub offset: u64,
    /// The count of every incident matching the filters, not the page's length.
    pub total: u64,
    /// Whether incidents beyond this page match.
    pub has_more: bool,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One page of incidents, newest first (`action_timestamp`, then id, descending).
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentsResponse {
    pub data: Vec<IncidentDto>,
    pub pagination: IncidentsPagination,
}

impl From<IncidentPage> for IncidentsResponse {
    fn from(page: IncidentPage) -> Self {
        Self {
            pagination: IncidentsPagination {
                limit: page.limit.get(),
                offset: page.offset,
                total: page.total,
                has_more: page.has_more,
                next_cursor: page.next_cursor.map(|c| c.encode()),
            },
            data: page.incidents.into_iter().map(IncidentDto::from).collect(),
        }
    }
}

/// The seeds' incidents: one row per remediation.
///
/// A remediation is a correlation with a `remediation.workflow_created` event; its row folds
/// the correlation's lifecycle events (signal, workflow, execution, completion,
/// effectiveness). `pagination.total` is the exact count of every match. Page with
/// `offset` (the seeds') or `cursor` (`pagination.next_cursor`, stable while remediations
/// are added).
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "Remediation Read API",
    operation_id = "listIncidents",
    params(IncidentsParams),
    responses(
        (status = 200, description = "One page of incidents", body = IncidentsResponse),
        (status = 400, description = "A filter is invalid (unknown severity, limit outside 1-1000, a time that is neither RFC 3339 nor relative, until before since, cursor with offset or not issued by this service)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<IncidentsParams>,
) -> Result<Json<IncidentsResponse>, ApiError> {
    let page = state.audit.incidents(params.into()).await?;
    Ok(Json(page.into()))
}

/// One incident by its id (the remediation's correlation id).
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "Remediation Read API",
    operation_id = "getIncident",
    params(("id" = String, Path, description = "The remediation's correlation id")),
    responses(
        (status = 200, description = "The incident", body = IncidentDto),
        (status = 400, description = "id is invalid (longer than 255 characters, or holding NUL)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No remediation (no `remediation.workflow_created`) with this correlation id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDto>, ApiError> {
    match state.audit.incident(&id).await? {
        Some(incident) => Ok(Json(incident.into())),
        None => Err(ApiError::NotFound(format!("no incident {id}"))),
    }
}
