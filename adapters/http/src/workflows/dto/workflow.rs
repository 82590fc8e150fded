//! A workflow version: what registers one, what is answered, the listing, and the lifecycle changes.

use chrono::{DateTime, Utc};
use datastorage_domain::ValidationErrors;
use datastorage_domain::workflow::{StatusUpdateDraft, Workflow, WorkflowDraft};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::*;

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
