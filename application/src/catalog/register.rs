//! Use-case: register a workflow version.

use datastorage_domain::workflow::{Workflow, WorkflowDraft, WorkflowId};
use serde_json::json;

use super::CatalogService;
use super::audit_trail::CatalogEvent;
use crate::error::WorkflowError;
use crate::ports::RegisterOutcome;

impl CatalogService {
    /// Validates and stores a new version, with the embedding of its text (computed before
    /// the store's transaction and written in it); returns it and whether it was newly
    /// created (`false`: the identical version was already registered).
    pub async fn register(&self, draft: WorkflowDraft) -> Result<(Workflow, bool), WorkflowError> {
        let id = WorkflowId::from_uuid(uuid::Uuid::now_v7());
        let mut new = draft.validate(&self.limits, id, self.clock.now())?;
        if let Some(embedder) = &self.embedder {
            let text = new.0.search_text();
            let mut vectors = embedder.embed_tagged(&[(text, Some(id))]).await?;
            new.0.embedding = vectors.pop();
        }
        let started = std::time::Instant::now();
        let stored = self.catalog.register(&new).await;
        metrics::histogram!("datastorage_write_duration_seconds", "table" => "workflows")
            .record(started.elapsed().as_secs_f64());
        match stored? {
            RegisterOutcome::AlreadyExists(existing) => Ok((existing, false)),
            RegisterOutcome::Created(created) => {
                self.audit(CatalogEvent {
                    event_type: "workflow.catalog.registered",
                    action: "registered",
                    actor: created.created_by.as_deref(),
                    resource_id: created.id.to_string(),
                    resource_name: format!("{}@{}", created.name, created.version),
                    correlation_id: format!("workflow:{}", created.name),
                    data: json!({
                        "workflow_name": created.name.as_str(),
                        "version": created.version.as_str(),
                        "previous_version": created.previous_version,
                        "content_hash": created.content_hash,
                    }),
                })
                .await;
                Ok((created, true))
            }
        }
    }
}
