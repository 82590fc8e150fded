//! Use-cases: read one version, a name's history, or a filtered page of the catalog.

use datastorage_domain::workflow::{
    LifecycleStatus, Workflow, WorkflowId, WorkflowName, WorkflowVersion,
};
use datastorage_domain::{Reason, ValidationErrors};

use super::CatalogService;
use crate::error::WorkflowError;
use crate::ports::{WorkflowListQuery, WorkflowPage};

/// Listing parameters as the client wrote them.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    pub workflow_name: Option<String>,
    pub status: Option<String>,
    pub component: Option<String>,
    pub environment: Option<String>,
    pub priority: Option<String>,
    pub latest_only: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl CatalogService {
    pub async fn get(&self, id: WorkflowId) -> Result<Workflow, WorkflowError> {
        self.catalog
            .get(id)
            .await?
            .ok_or_else(|| WorkflowError::NotFound(format!("workflow {id} not found")))
    }

    /// Every version of a name, newest (by semver precedence) first.
    pub async fn versions(&self, name: &str) -> Result<Vec<Workflow>, WorkflowError> {
        let name = WorkflowName::parse(name)?;
        let mut versions = self.catalog.versions(&name).await?;
        if versions.is_empty() {
            return Err(WorkflowError::NotFound(format!("no workflow named {name}")));
        }
        versions.sort_by(|a, b| b.version.cmp(&a.version));
        Ok(versions)
    }

    /// One version of a name (`v1.2.3` and `1.2.3` are the same version).
    pub async fn version(&self, name: &str, version: &str) -> Result<Workflow, WorkflowError> {
        let wanted = WorkflowVersion::parse(version)?;
        self.versions(name)
            .await?
            .into_iter()
            .find(|w| w.version == wanted)
            .ok_or_else(|| WorkflowError::NotFound(format!("{name} has no version {version}")))
    }

    pub async fn list(&self, input: ListInput) -> Result<(WorkflowPage, u32, u64), WorkflowError> {
        let mut errors = ValidationErrors::new();
        let name = errors
            .collect(
                input
                    .workflow_name
                    .filter(|s| !s.is_empty())
                    .map(WorkflowName::parse)
                    .transpose(),
            )
            .flatten();
        let status = errors
            .collect(
                // An empty status is not a status (unlike an empty name, which is no filter).
                input.status.map(|s| LifecycleStatus::parse(&s)).transpose(),
            )
            .flatten();
        let limit = input.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            errors.push_because("limit", Reason::OutOfRange, "must be between 1 and 1000");
        }
        let offset = input.offset.unwrap_or(0);
        if offset < 0 {
            errors.push("offset", "must be zero or positive");
        }
        // Label filters are compared with stored labels: at most 100 characters, no NUL
        // (which no stored text can hold).
        let mut label = |field: &str, value: Option<String>| {
            let value = value.filter(|s| !s.is_empty())?;
            if value.chars().count() > 100 || value.contains('\0') {
                errors.push_because(
                    field,
                    Reason::OutOfRange,
                    "must be at most 100 characters, none of them NUL",
                );
                return None;
            }
            Some(value)
        };
        let component = label("component", input.component);
        let environment = label("environment", input.environment);
        let priority = label("priority", input.priority);
        errors.into_result()?;
        let query = WorkflowListQuery {
            name,
            status,
            component,
            environment,
            priority,
            latest_only: input.latest_only.unwrap_or(false),
            limit: limit as u32,
            offset: offset as u64,
        };
        let page = self.catalog.list(&query).await?;
        Ok((page, query.limit, query.offset))
    }
}
