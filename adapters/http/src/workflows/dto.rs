//! Wire shapes of the workflow catalog. Field names follow the original contract's
//! `RemediationWorkflow`, `WorkflowSearchRequest` and `WorkflowSearchResult`.

use chrono::{DateTime, Utc};
use datastorage_application::catalog::{RankedWorkflow, ScoringMode, SearchRequest};
use datastorage_domain::ValidationErrors;
use datastorage_domain::workflow::{
    CustomLabels, DetectedLabels, FieldChange, LifecycleStatus, SearchFilters, StatusUpdateDraft,
    Workflow, WorkflowDraft,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The five mandatory labels (DD-WORKFLOW-001 v2.3).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MandatoryLabelsDto {
    /// Signal type this workflow handles (e.g. OOMKilled, CrashLoopBackOff); not `*`.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "OOMKilled"
    )]
    pub signal_type: String,
    /// Case-insensitive on input; answered in lower case.
    #[schema(value_type = SeverityDoc, example = "critical")]
    pub severity: String,
    /// Kubernetes resource type (pod, deployment, node, ...) or `*` for any.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]+$",
        example = "pod"
    )]
    pub component: String,
    /// production, staging, ... or `*` for any.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]+$",
        example = "production"
    )]
    pub environment: String,
    /// `*` for any. Case-insensitive on input.
    #[schema(value_type = WorkflowPriorityDoc, example = "P0")]
    pub priority: String,
}

/// Severity of the signal.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Severity)]
#[allow(dead_code)] // documents the accepted values; parsing lives in the domain
pub enum SeverityDoc {
    Critical,
    High,
    Medium,
    Low,
}

/// Priority a workflow is for: a level, or `*` for any.
#[derive(Serialize, ToSchema)]
#[schema(as = WorkflowPriority)]
#[allow(dead_code)]
pub enum WorkflowPriorityDoc {
    P0,
    P1,
    P2,
    P3,
    #[serde(rename = "*")]
    Any,
}

/// Priority of an incident.
#[derive(Serialize, ToSchema)]
#[schema(as = Priority)]
#[allow(dead_code)]
pub enum PriorityDoc {
    P0,
    P1,
    P2,
    P3,
}

/// GitOps tool, or `*` for any.
#[derive(Serialize, ToSchema)]
#[schema(as = GitOpsTool)]
#[allow(dead_code)]
pub enum GitOpsToolDoc {
    #[serde(rename = "argocd")]
    ArgoCd,
    #[serde(rename = "flux")]
    Flux,
    #[serde(rename = "*")]
    Any,
}

/// Service mesh, or `*` for any.
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceMesh)]
#[allow(dead_code)]
pub enum ServiceMeshDoc {
    #[serde(rename = "istio")]
    Istio,
    #[serde(rename = "linkerd")]
    Linkerd,
    #[serde(rename = "*")]
    Any,
}

/// A detected label whose detection can fail.
#[derive(Serialize, ToSchema)]
#[schema(as = DetectedField)]
#[allow(dead_code, non_camel_case_types)]
pub enum DetectedFieldDoc {
    gitOpsManaged,
    pdbProtected,
    hpaEnabled,
    stateful,
    helmManaged,
    networkIsolated,
    serviceMesh,
}

/// Customer-defined labels: key (1-253 characters) → up to 50 values (1-255 characters
/// each; a single string is read as a one-value list). At most 50 keys. On a workflow, the
/// value `*` matches any value of its key. No text may hold NUL.
pub fn custom_labels_schema() -> utoipa::openapi::schema::Object {
    custom_labels(false)
}

/// [`custom_labels_schema`] where `null` is also accepted (no labels).
pub fn optional_custom_labels_schema() -> utoipa::openapi::schema::Object {
    custom_labels(true)
}

fn custom_labels(nullable: bool) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type,
    };
    let value = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some(r"^[^\u0000]+$"))
    };
    let values = OneOfBuilder::new()
        .item(value())
        .item(ArrayBuilder::new().items(value()).max_items(Some(50)));
    let schema_type = if nullable {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::new(Type::Object)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .description(Some(
            "Customer-defined labels: key (1-253 characters) → values (up to 50 of 1-255 \
             characters; a single string is one value). At most 50 keys. On a workflow, `*` \
             matches any value of its key.",
        ))
        .max_properties(Some(50))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(253))
                .pattern(Some(r"^[^\u0000]+$")),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(values.into())))
        .build()
}

/// Auto-detected labels of the Kubernetes resource (all optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[allow(non_snake_case)]
pub struct DetectedLabelsDoc {
    /// Fields whose detection failed; they are ignored.
    #[schema(value_type = Option<Vec<DetectedFieldDoc>>, example = json!(["pdbProtected"]))]
    pub failed_detections: Option<Vec<String>>,
    pub gitOpsManaged: Option<bool>,
    /// Case-insensitive on input.
    #[schema(value_type = Option<GitOpsToolDoc>)]
    pub gitOpsTool: Option<String>,
    pub pdbProtected: Option<bool>,
    pub hpaEnabled: Option<bool>,
    pub stateful: Option<bool>,
    pub helmManaged: Option<bool>,
    pub networkIsolated: Option<bool>,
    /// Case-insensitive on input.
    #[schema(value_type = Option<ServiceMeshDoc>)]
    pub serviceMesh: Option<String>,
}

/// A workflow version to register.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkflowRequest {
    /// The name that groups versions (letters, digits, '.', '_', '-'; a letter or digit
    /// first).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        example = "oomkill-increase-memory"
    )]
    pub workflow_name: String,
    /// Semantic version (semver 2.0), optional leading v; must be greater than the name's
    /// latest version (400 `version-not-incremented`).
    #[schema(
        min_length = 5,
        max_length = 50,
        pattern = r"^v?(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})(-(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$",
        example = "v1.0.0"
    )]
    pub version: String,
    /// Human-readable title.
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\u0000]+$")]
    pub name: String,
    /// At most 10,000 characters by default (`DS_WORKFLOWS__DESCRIPTION_CHARS`).
    #[schema(min_length = 1, pattern = r"^[^\u0000]+$")]
    pub description: String,
    /// The workflow definition (YAML): at most 1 MiB by default
    /// (`DS_WORKFLOWS__CONTENT_BYTES`).
    #[schema(min_length = 1, pattern = r"^[^\u0000]+$")]
    pub content: String,
    /// SHA-256 of content (hex); computed when omitted or empty, and when given it must be
    /// the SHA-256 of `content`.
    #[schema(pattern = r"^([0-9A-Fa-f]{64})?$")]
    pub content_hash: Option<String>,
    pub labels: MandatoryLabelsDto,
    /// key → values; a workflow value `*` matches any value of that key.
    #[schema(schema_with = optional_custom_labels_schema)]
    pub custom_labels: Option<Value>,
    #[schema(value_type = Option<DetectedLabelsDoc>)]
    pub detected_labels: Option<Value>,
    /// Any JSON object whose keys and strings hold no NUL.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]+$",
        example = "argo-workflows"
    )]
    pub execution_engine: String,
    /// Empty reads as absent.
    #[schema(max_length = 512, pattern = r"^[^\u0000]*$")]
    pub container_image: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub container_digest: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub owner: Option<String>,
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub maintainer: Option<String>,
    #[schema(max_length = 10000, pattern = r"^[^\u0000]*$")]
    pub version_notes: Option<String>,
    #[schema(max_length = 10000, pattern = r"^[^\u0000]*$")]
    pub change_summary: Option<String>,
    /// Who registers it (recorded and audited; a bearer token's identity wins).
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub created_by: Option<String>,
}

impl From<WorkflowRequest> for WorkflowDraft {
    fn from(r: WorkflowRequest) -> Self {
        WorkflowDraft {
            workflow_name: r.workflow_name,
            version: r.version,
            title: r.name,
            description: r.description,
            content: r.content,
            content_hash: r.content_hash,
            signal_type: r.labels.signal_type,
            severity: r.labels.severity,
            component: r.labels.component,
            environment: r.labels.environment,
            priority: r.labels.priority,
            detected_labels: r.detected_labels.unwrap_or(Value::Null),
            custom_labels: r.custom_labels.unwrap_or(Value::Null),
            parameters: r.parameters.unwrap_or(Value::Null),
            execution_engine: r.execution_engine,
            container_image: r.container_image,
            container_digest: r.container_digest,
            owner: r.owner,
            maintainer: r.maintainer,
            version_notes: r.version_notes,
            change_summary: r.change_summary,
            created_by: r.created_by,
        }
    }
}

/// Lifecycle status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = WorkflowStatus)]
#[allow(dead_code)] // documents the accepted values; parsing lives in the domain
pub enum WorkflowStatusDoc {
    Active,
    Disabled,
    Deprecated,
    Archived,
}

/// One registered workflow version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDto {
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub version: String,
    /// Human-readable title.
    pub name: String,
    pub description: String,
    pub content: String,
    pub content_hash: String,
    pub labels: MandatoryLabelsDto,
    #[schema(schema_with = custom_labels_schema)]
    pub custom_labels: Value,
    #[schema(value_type = DetectedLabelsDoc)]
    pub detected_labels: Value,
    #[schema(value_type = Object)]
    pub parameters: Value,
    pub execution_engine: String,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_digest: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintainer: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_notes: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_summary: Option<String>,
    #[schema(value_type = WorkflowStatusDoc)]
    pub status: String,
    /// Why the status last changed (also the deprecation notice).
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_by: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub is_latest_version: bool,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub updated_at: DateTime<Utc>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

pub fn labels_dto(w: &Workflow) -> MandatoryLabelsDto {
    MandatoryLabelsDto {
        signal_type: w.labels.signal_type.clone(),
        severity: w.labels.severity.as_str().into(),
        component: w.labels.component.as_str().into(),
        environment: w.labels.environment.as_str().into(),
        priority: w.labels.priority.as_str().into(),
    }
}

impl From<&Workflow> for WorkflowDto {
    fn from(w: &Workflow) -> Self {
        Self {
            workflow_id: *w.id.as_uuid(),
            workflow_name: w.name.to_string(),
            version: w.version.to_string(),
            name: w.title.clone(),
            description: w.description.clone(),
            content: w.content.clone(),
            content_hash: w.content_hash.clone(),
            labels: labels_dto(w),
            custom_labels: w.custom_labels.to_json(),
            detected_labels: w.detected_labels.to_json(),
            parameters: Value::Object(w.parameters.clone()),
            execution_engine: w.execution_engine.clone(),
            container_image: w.container_image.clone(),
            container_digest: w.container_digest.clone(),
            owner: w.owner.clone(),
            maintainer: w.maintainer.clone(),
            version_notes: w.version_notes.clone(),
            change_summary: w.change_summary.clone(),
            status: w.status.as_str().into(),
            status_reason: w.status_reason.clone(),
            disabled_at: w.disabled_at,
            disabled_by: w.disabled_by.clone(),
            disabled_reason: w.disabled_reason.clone(),
            is_latest_version: w.is_latest_version,
            previous_version: w.previous_version.clone(),
            created_at: w.created_at,
            created_by: w.created_by.clone(),
            updated_at: w.updated_at,
            updated_by: w.updated_by.clone(),
        }
    }
}

/// A page of the catalog, ordered by name, then newest version first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowListResponse {
    pub workflows: Vec<WorkflowDto>,
    pub limit: u32,
    pub offset: u64,
    pub total: u64,
}

/// Listing filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowListParams {
    /// Empty: no filter.
    #[param(max_length = 255, pattern = r"^([A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    pub workflow_name: Option<String>,
    #[param(value_type = Option<WorkflowStatusDoc>)]
    pub status: Option<String>,
    /// Exact (case-insensitive) or the workflow's `*`; empty: no filter.
    #[param(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub environment: Option<String>,
    #[param(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub priority: Option<String>,
    #[param(max_length = 100, pattern = r"^[^\u0000]*$")]
    pub component: Option<String>,
    /// Only the latest version of each name.
    pub latest_only: Option<bool>,
    /// 1-1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// Mutable fields only (DD-WORKFLOW-012): content, labels and description need a new version.
///
/// Any other field is refused: the defining ones with 400 `immutable-field-violation`, unknown
/// ones with 400 `validation-error`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowUpdateRequest {
    /// The status to move to (`archived` is final: 409 `invalid-status-transition`).
    #[schema(value_type = WorkflowStatusDoc)]
    pub status: Option<String>,
    /// Why (kept as the status reason; for deprecation, the notice). The first given of
    /// reason, disabled_reason, deprecation_notice is used.
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub reason: Option<String>,
    /// Who (the first given of updated_by, disabled_by; a bearer token's identity wins).
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub disabled_by: Option<String>,
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub disabled_reason: Option<String>,
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub updated_by: Option<String>,
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub deprecation_notice: Option<String>,
}

/// Reads a PATCH body into the domain's draft: the mutable fields as text, and the name of
/// every field it carries, so the domain can refuse the defining ones by name.
pub fn status_update_draft(
    body: Map<String, Value>,
) -> Result<StatusUpdateDraft, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut text = |field: &str| match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(field, "must be a string");
            None
        }
    };
    let draft = StatusUpdateDraft {
        status: text("status"),
        reason: text("reason"),
        disabled_by: text("disabled_by"),
        disabled_reason: text("disabled_reason"),
        updated_by: text("updated_by"),
        deprecation_notice: text("deprecation_notice"),
        named: body.keys().cloned().collect(),
    };
    errors.into_result().map(|()| draft)
}

/// Body of `/disable` and `/enable` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WorkflowDisableRequest {
    /// Why.
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub reason: Option<String>,
    /// Who.
    #[schema(max_length = 1000, pattern = r"^[^\u0000]*$")]
    pub updated_by: Option<String>,
}

/// Search filters: the incident's labels.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSearchFilters {
    /// A concrete value (not `*`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "OOMKilled"
    )]
    pub signal_type: String,
    /// Case-insensitive on input; echoed in lower case.
    #[schema(value_type = SeverityDoc, example = "critical")]
    pub severity: String,
    /// A concrete value (not `*`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "pod"
    )]
    pub component: String,
    /// A concrete value (not `*`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "production"
    )]
    pub environment: String,
    /// Case-insensitive on input; echoed in upper case.
    #[schema(value_type = PriorityDoc, example = "P0")]
    pub priority: String,
    #[schema(schema_with = optional_custom_labels_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_labels: Option<Value>,
    #[schema(value_type = Option<DetectedLabelsDoc>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_labels: Option<Value>,
    /// Statuses to search instead of the default (active, plus disabled with include_disabled).
    #[schema(value_type = Option<Vec<WorkflowStatusDoc>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<String>>,
}

/// A search of the catalog by labels and, with `query`, by meaning.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkflowSearchRequest {
    /// For the audit trail of the search: the search event's correlation id.
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub remediation_id: Option<String>,
    pub filters: WorkflowSearchFilters,
    /// The incident in words. With it the score is hybrid:
    /// `min(1, cosine similarity + boost − penalty)`.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000]*$",
        example = "payments-api pods OOMKilled right after the v2.14 deploy"
    )]
    pub query: Option<String>,
    /// 1-100, default 10.
    #[schema(minimum = 1, maximum = 100, default = 10)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub top_k: Option<i64>,
    /// 0-1, default 0.
    #[schema(minimum = 0.0, maximum = 1.0, default = 0.0)]
    pub min_score: Option<f64>,
    #[serde(default)]
    pub include_disabled: bool,
}

impl TryFrom<WorkflowSearchRequest> for SearchRequest {
    type Error = ValidationErrors;

    /// The wire's labels become the domain's filters; every broken one is named under
    /// `filters.`. The use-case checks the rest (top_k, min_score, query).
    fn try_from(request: WorkflowSearchRequest) -> Result<Self, ValidationErrors> {
        let f = request.filters;
        let mut errors = ValidationErrors::new();
        let under_filters = |e: ValidationErrors| {
            let mut out = ValidationErrors::new();
            for fe in e.errors() {
                out.push(format!("filters.{}", fe.field), fe.message.clone());
            }
            out
        };
        let detected = errors.collect(
            DetectedLabels::from_json(f.detected_labels.as_ref().unwrap_or(&Value::Null))
                .map_err(under_filters),
        );
        let custom = errors.collect(
            CustomLabels::from_json(f.custom_labels.as_ref().unwrap_or(&Value::Null))
                .map_err(under_filters),
        );
        let statuses = match &f.status {
            None => None,
            Some(list) => errors.collect(
                list.iter()
                    .map(|s| LifecycleStatus::parse(s).map_err(under_filters))
                    .collect::<Result<Vec<_>, _>>(),
            ),
        };
        let filters = errors.collect(SearchFilters::parse(
            f.signal_type,
            &f.severity,
            f.component,
            f.environment,
            &f.priority,
            detected.unwrap_or_default(),
            custom.unwrap_or_default(),
        ));
        errors.into_result()?;
        Ok(SearchRequest {
            filters,
            query: request.query,
            mode: ScoringMode::Auto,
            top_k: request.top_k.unwrap_or(10),
            min_score: request.min_score.unwrap_or(0.0),
            include_disabled: request.include_disabled,
            statuses,
            remediation_id: request.remediation_id,
        })
    }
}

/// One ranked workflow.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSearchResult {
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub version: String,
    /// Human-readable title.
    pub title: String,
    pub description: String,
    pub signal_type: String,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_digest: Option<String>,
    /// Same as final_score.
    pub confidence: f64,
    pub final_score: f64,
    /// Cosine similarity of the query text; absent for a label-only search.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_similarity: Option<f64>,
    pub label_boost: f64,
    pub label_penalty: f64,
    /// 1-based position.
    #[schema(minimum = 1)]
    pub rank: u32,
    #[schema(schema_with = custom_labels_schema)]
    pub custom_labels: Value,
    #[schema(value_type = DetectedLabelsDoc)]
    pub detected_labels: Value,
}

impl From<&RankedWorkflow> for WorkflowSearchResult {
    fn from(r: &RankedWorkflow) -> Self {
        let w = &r.workflow;
        // Scores are exact in units of 0.00001; print them without float noise.
        let round = |x: f64| (x * 100_000.0).round() / 100_000.0;
        Self {
            workflow_id: *w.id.as_uuid(),
            workflow_name: w.name.to_string(),
            version: w.version.to_string(),
            title: w.title.clone(),
            description: w.description.clone(),
            signal_type: w.labels.signal_type.clone(),
            container_image: w.container_image.clone(),
            container_digest: w.container_digest.clone(),
            confidence: round(r.final_score),
            final_score: round(r.final_score),
            semantic_similarity: r.similarity.map(round),
            label_boost: round(r.score.boost()),
            label_penalty: round(r.score.penalty()),
            rank: r.rank,
            custom_labels: w.custom_labels.to_json(),
            detected_labels: w.detected_labels.to_json(),
        }
    }
}

/// Ranked results, best first (`final_score DESC, workflow_id ASC`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSearchResponse {
    pub workflows: Vec<WorkflowSearchResult>,
    /// Workflows that passed the filters and min_score, before top_k.
    pub total_results: usize,
    pub filters: WorkflowSearchFilters,
}

/// What a cache invalidation dropped.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CacheInvalidation {
    /// Cached embeddings removed.
    pub invalidated: u64,
}

/// Every version of a name, newest first by semver precedence.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowVersionsResponse {
    pub workflow_name: String,
    pub versions: Vec<WorkflowDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionRef {
    pub workflow_id: Uuid,
    pub version: String,
}

/// One field that differs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldChangeDto {
    /// Field name (`labels.severity` for a mandatory label).
    pub field: String,
    #[schema(value_type = Object)]
    pub from: Value,
    #[schema(value_type = Object)]
    pub to: Value,
}

impl From<&FieldChange> for FieldChangeDto {
    fn from(c: &FieldChange) -> Self {
        Self {
            field: c.field.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
        }
    }
}

/// Field-by-field difference of two versions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDiffResponse {
    pub workflow_name: String,
    pub from: VersionRef,
    pub to: VersionRef,
    pub changes: Vec<FieldChangeDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The older version.
    #[param(
        required = true,
        min_length = 5,
        max_length = 50,
        pattern = r"^v?(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})(-(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
    )]
    pub from: Option<String>,
    /// The newer version.
    #[param(
        required = true,
        min_length = 5,
        max_length = 50,
        pattern = r"^v?(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})(-(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
    )]
    pub to: Option<String>,
}
