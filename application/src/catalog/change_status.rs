//! Use-case: move a workflow version through its lifecycle (disable, enable, deprecate,
//! archive), recording who, why and when.

use datastorage_domain::workflow::{
    LifecycleStatus, MAX_NOTE_CHARS, StatusUpdateDraft, UpdateRefused, Workflow, WorkflowId,
};
use serde_json::json;

use super::CatalogService;
use super::audit_trail::CatalogEvent;
use crate::error::WorkflowError;
use crate::ports::StatusChange;

impl CatalogService {
    /// A change to a registered version as the client sent it: only its lifecycle (with who
    /// and why) may change; a defining field is `ImmutableField`.
    pub async fn update(
        &self,
        id: WorkflowId,
        draft: StatusUpdateDraft,
    ) -> Result<Workflow, WorkflowError> {
        let update = draft.validate().map_err(|refused| match refused {
            UpdateRefused::Immutable(_) => WorkflowError::ImmutableField(refused.to_string()),
            UpdateRefused::Invalid(errors) => WorkflowError::Invalid(errors),
        })?;
        self.change_status(id, update.to, update.by, update.reason)
            .await
    }

    pub async fn change_status(
        &self,
        id: WorkflowId,
        to: LifecycleStatus,
        by: Option<String>,
        reason: Option<String>,
    ) -> Result<Workflow, WorkflowError> {
        let mut errors = datastorage_domain::ValidationErrors::new();
        let by = errors.optional_text("updated_by", by, MAX_NOTE_CHARS);
        let reason = errors.optional_text("reason", reason, MAX_NOTE_CHARS);
        errors.into_result()?;
        let change = StatusChange {
            id,
            to,
            by: by.clone(),
            reason: reason.clone(),
            at: self.clock.now(),
        };
        let (workflow, changed) = self.catalog.set_status(&change).await?;
        if changed {
            self.invalidate_cached(id).await;
            let (event_type, action) = match to {
                LifecycleStatus::Active => ("workflow.catalog.enabled", "enabled"),
                LifecycleStatus::Disabled => ("workflow.catalog.disabled", "disabled"),
                LifecycleStatus::Deprecated => ("workflow.catalog.deprecated", "deprecated"),
                LifecycleStatus::Archived => ("workflow.catalog.archived", "archived"),
            };
            self.audit(CatalogEvent {
                event_type,
                action,
                actor: by.as_deref(),
                resource_id: workflow.id.to_string(),
                resource_name: format!("{}@{}", workflow.name, workflow.version),
                correlation_id: format!("workflow:{}", workflow.name),
                data: json!({ "status": to.as_str(), "reason": reason }),
            })
            .await;
        }
        Ok(workflow)
    }
}
