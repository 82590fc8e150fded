//! A name's versions, the diff of two, and the embedding cache's answer.

use datastorage_domain::workflow::FieldChange;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::*;

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
