//! `/api/v1/workflows*`: register, read, list, change status, history, diff, search.

pub mod dto;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use datastorage_application::catalog::{ListInput, SearchRequest};
use datastorage_domain::ValidationErrors;
use datastorage_domain::workflow::*;
use serde_json::{Map, Value};

use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, OptionalJson};
use crate::problem::{ApiError, Problem};
use dto::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workflows", post(register).get(list))
        .route("/workflows/search", post(search))
        .route("/workflows/{workflow_id}", get(get_workflow).patch(update))
        .route("/workflows/{workflow_id}/disable", patch(disable))
        .route("/workflows/{workflow_id}/enable", patch(enable))
        .route("/workflows/by-name/{workflow_name}/versions", get(versions))
        .route(
            "/workflows/by-name/{workflow_name}/versions/{version}",
            get(version),
        )
        .route("/workflows/by-name/{workflow_name}/diff", get(diff))
        .route(
            "/cache/workflows",
            axum::routing::delete(invalidate_all_cache),
        )
        .route(
            "/cache/workflows/{workflow_id}",
            axum::routing::delete(invalidate_workflow_cache),
        )
}

/// Drop the cached embeddings of one workflow.
#[utoipa::path(delete, path = "/api/v1/cache/workflows/{workflow_id}", tag = "Workflow Catalog API", operation_id = "invalidateWorkflowCache",
    params(("workflow_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Invalidated", body = CacheInvalidation),
        (status = 400, description = "workflow_id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The cache is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn invalidate_workflow_cache(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CacheInvalidation>, ApiError> {
    let invalidated = state
        .catalog
        .invalidate_workflow_cache(workflow_id(&id)?)
        .await?;
    Ok(Json(CacheInvalidation { invalidated }))
}

/// Drop every cached embedding.
#[utoipa::path(delete, path = "/api/v1/cache/workflows", tag = "Workflow Catalog API", operation_id = "invalidateAllWorkflowCache",
    responses(
        (status = 200, description = "Invalidated", body = CacheInvalidation),
        (status = 503, description = "The cache is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn invalidate_all_cache(
    State(state): State<AppState>,
) -> Result<Json<CacheInvalidation>, ApiError> {
    let invalidated = state.catalog.invalidate_all_cache().await?;
    Ok(Json(CacheInvalidation { invalidated }))
}

/// The shared body of `/disable` and `/enable`.
async fn move_to(
    state: &AppState,
    id: &str,
    to: LifecycleStatus,
    body: WorkflowDisableRequest,
) -> Result<Json<WorkflowDto>, ApiError> {
    let workflow = state
        .catalog
        .change_status(workflow_id(id)?, to, body.updated_by, body.reason)
        .await?;
    Ok(Json(WorkflowDto::from(&workflow)))
}

fn workflow_id(raw: &str) -> Result<WorkflowId, ApiError> {
    WorkflowId::parse(raw).map_err(|e| ApiError::validation(&e))
}

/// Register a workflow version.
///
/// The version must be semver (a leading `v` is kept for display) and greater than the
/// name's latest version (400 `version-not-incremented`). A registered (name, version) is
/// immutable: sending it again unchanged answers 200 with the stored version; with other
/// content, 409. The new version becomes the name's latest in the same transaction.
#[utoipa::path(post, path = "/api/v1/workflows", tag = "Workflow Catalog API", operation_id = "createWorkflow",
    request_body(content = WorkflowRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = WorkflowDto),
        (status = 200, description = "This exact version was already registered", body = WorkflowDto),
        (status = 400, description = "Validation error, or `version-not-incremented`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This version exists with other content", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Catalog unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<WorkflowRequest>,
) -> Result<Response, ApiError> {
    let (workflow, created) = state.catalog.register(WorkflowDraft::from(request)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(WorkflowDto::from(&workflow))).into_response())
}

/// List workflow versions with filters and pagination.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "Workflow Catalog API", operation_id = "listWorkflows",
    params(WorkflowListParams),
    responses(
        (status = 200, description = "Workflow list", body = WorkflowListResponse),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<WorkflowListParams>,
) -> Result<Json<WorkflowListResponse>, ApiError> {
    let (page, limit, offset) = state
        .catalog
        .list(ListInput {
            workflow_name: p.workflow_name,
            status: p.status,
            component: p.component,
            environment: p.environment,
            priority: p.priority,
            latest_only: p.latest_only,
            limit: p.limit,
            offset: p.offset,
        })
        .await?;
    Ok(Json(WorkflowListResponse {
        workflows: page.workflows.iter().map(WorkflowDto::from).collect(),
        limit,
        offset,
        total: page.total,
    }))
}

/// Get a workflow version by id.
#[utoipa::path(get, path = "/api/v1/workflows/{workflow_id}", tag = "Workflow Catalog API", operation_id = "getWorkflowByID",
    params(("workflow_id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Workflow found", body = WorkflowDto),
        (status = 400, description = "workflow_id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Workflow not found", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_workflow(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WorkflowDto>, ApiError> {
    let workflow = state.catalog.get(workflow_id(&id)?).await?;
    Ok(Json(WorkflowDto::from(&workflow)))
}

/// Update mutable fields: the lifecycle status, with who and why.
///
/// Content, labels, description and the other defining fields are immutable (400
/// `immutable-field-violation`): register a new version instead. An illegal transition
/// (anything out of `archived`) is 409 `invalid-status-transition`.
#[utoipa::path(patch, path = "/api/v1/workflows/{workflow_id}", tag = "Workflow Catalog API", operation_id = "updateWorkflow",
    params(("workflow_id" = String, Path, format = Uuid)),
    request_body(content = WorkflowUpdateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Workflow updated", body = WorkflowDto),
        (status = 400, description = "Validation error or `immutable-field-violation`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Workflow not found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-status-transition`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<WorkflowDto>, ApiError> {
    let id = workflow_id(&id)?;
    let draft = status_update_draft(body).map_err(|e| ApiError::validation(&e))?;
    let workflow = state.catalog.update(id, draft).await?;
    Ok(Json(WorkflowDto::from(&workflow)))
}

/// Disable a workflow version (out of search until enabled), recording who, why and when.
#[utoipa::path(patch, path = "/api/v1/workflows/{workflow_id}/disable", tag = "Workflow Catalog API", operation_id = "disableWorkflow",
    params(("workflow_id" = String, Path, format = Uuid)),
    request_body(content = Option<WorkflowDisableRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Workflow disabled", body = WorkflowDto),
        (status = 400, description = "workflow_id is not a UUID, or the body is not a JSON object of these fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Workflow not found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-status-transition` (archived)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<WorkflowDisableRequest>,
) -> Result<Json<WorkflowDto>, ApiError> {
    move_to(&state, &id, LifecycleStatus::Disabled, body).await
}

/// Enable a disabled workflow version again (clears the disable metadata).
#[utoipa::path(patch, path = "/api/v1/workflows/{workflow_id}/enable", tag = "Workflow Catalog API", operation_id = "enableWorkflow",
    params(("workflow_id" = String, Path, format = Uuid)),
    request_body(content = Option<WorkflowDisableRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Workflow enabled", body = WorkflowDto),
        (status = 400, description = "workflow_id is not a UUID, or the body is not a JSON object of these fields", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Workflow not found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-status-transition` (archived)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<WorkflowDisableRequest>,
) -> Result<Json<WorkflowDto>, ApiError> {
    move_to(&state, &id, LifecycleStatus::Active, body).await
}

/// Every version of a workflow, newest first by semver precedence.
#[utoipa::path(get, path = "/api/v1/workflows/by-name/{workflow_name}/versions", tag = "Workflow Catalog API", operation_id = "listWorkflowVersions",
    params(("workflow_name" = String, Path, min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$")),
    responses(
        (status = 200, description = "Versions", body = WorkflowVersionsResponse),
        (status = 400, description = "workflow_name is not a workflow name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No workflow of that name", body = Problem, content_type = "application/problem+json"),
    ))]
async fn versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkflowVersionsResponse>, ApiError> {
    let versions = state.catalog.versions(&name).await?;
    Ok(Json(WorkflowVersionsResponse {
        workflow_name: name,
        versions: versions.iter().map(WorkflowDto::from).collect(),
    }))
}

/// One version of a workflow (`v1.2.3` and `1.2.3` name the same version).
#[utoipa::path(get, path = "/api/v1/workflows/by-name/{workflow_name}/versions/{version}", tag = "Workflow Catalog API", operation_id = "getWorkflowVersion",
    params(("workflow_name" = String, Path, min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"), ("version" = String, Path, min_length = 5, max_length = 50, pattern = r"^v?(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})(-(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")),
    responses(
        (status = 200, description = "The version", body = WorkflowDto),
        (status = 400, description = "version is not semver, or workflow_name is not a workflow name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
    ))]
async fn version(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<WorkflowDto>, ApiError> {
    let workflow = state.catalog.version(&name, &version).await?;
    Ok(Json(WorkflowDto::from(&workflow)))
}

/// Field-by-field difference between two versions of a workflow.
#[utoipa::path(get, path = "/api/v1/workflows/by-name/{workflow_name}/diff", tag = "Workflow Catalog API", operation_id = "diffWorkflowVersions",
    params(("workflow_name" = String, Path, min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"), DiffParams),
    responses(
        (status = 200, description = "The changes (empty when identical)", body = WorkflowDiffResponse),
        (status = 400, description = "from/to missing or not semver, or workflow_name is not a workflow name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such workflow or version", body = Problem, content_type = "application/problem+json"),
    ))]
async fn diff(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<DiffParams>,
) -> Result<Json<WorkflowDiffResponse>, ApiError> {
    let mut errors = ValidationErrors::new();
    if p.from.as_deref().unwrap_or("").is_empty() {
        errors.push("from", "is required");
    }
    if p.to.as_deref().unwrap_or("").is_empty() {
        errors.push("to", "is required");
    }
    errors.into_result().map_err(|e| ApiError::validation(&e))?;
    let (from, to) = (p.from.unwrap_or_default(), p.to.unwrap_or_default());
    let (a, b, changes) = state.catalog.diff(&name, &from, &to).await?;
    Ok(Json(WorkflowDiffResponse {
        workflow_name: name,
        from: VersionRef {
            workflow_id: *a.id.as_uuid(),
            version: a.version.to_string(),
        },
        to: VersionRef {
            workflow_id: *b.id.as_uuid(),
            version: b.version.to_string(),
        },
        changes: changes.iter().map(FieldChangeDto::from).collect(),
    }))
}

/// Search the catalog by incident labels and, with `query`, by meaning and by its words.
///
/// Hard filters: `signal_type` and `severity` exact (case-insensitive); `component`,
/// `environment`, `priority` exact or the workflow's `*`; latest versions only; active (plus
/// disabled with `include_disabled`). Score without `query`: `min(1, (5 + boost − penalty) /
/// 10)` (DD-WORKFLOW-004); with `query`: `clamp((1 − w_lex) × cosine + w_lex × lexical +
/// w_labels × (boost − penalty), 0, 1)`, the cosine of the query's embedding and the
/// workflow's (exact, over every filtered workflow) and `lexical` its BM25 over the filtered
/// workflows divided by the best one's; each result's `score_breakdown` shows the parts.
/// When the query cannot be embedded the search answers from labels and lexical evidence and
/// says so in `missing_evidence` (unless the service is set to refuse with 503). Order:
/// `final_score DESC, workflow_id ASC`. Whenever at least `top_k` workflows pass, exactly
/// `top_k` come back; none is 200 with an empty list.
#[utoipa::path(post, path = "/api/v1/workflows/search", tag = "Workflow Catalog API", operation_id = "searchWorkflows",
    request_body(content = WorkflowSearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Ranked workflows", body = WorkflowSearchResponse),
        (status = 400, description = "Validation error", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`embedder-unavailable`: the query could not be embedded and the service is set to refuse rather than search without semantic evidence", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<WorkflowSearchRequest>,
) -> Result<Json<WorkflowSearchResponse>, ApiError> {
    let mut echo = request.filters.clone();
    let search = SearchRequest::try_from(request).map_err(|e| ApiError::validation(&e))?;
    if let Some(filters) = &search.filters {
        // The echo spells the labels as the contract's enums do, whatever case was sent.
        echo.severity = filters.severity.as_str().to_owned();
        echo.priority = filters.priority.as_str().to_owned();
    }
    let results = state.catalog.search(search).await?;
    Ok(Json(WorkflowSearchResponse {
        workflows: results
            .results
            .iter()
            .map(WorkflowSearchResult::from)
            .collect(),
        total_results: results.total_matching,
        filters: echo,
        missing_evidence: (!results.missing_evidence.is_empty()).then(|| {
            results
                .missing_evidence
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect()
        }),
    }))
}
