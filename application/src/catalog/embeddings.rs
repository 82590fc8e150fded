//! Use-cases: embedding-cache invalidation and re-embedding the catalog after a model change.

use crate::cause::chain;
use datastorage_domain::workflow::WorkflowId;

use super::CatalogService;
use crate::cause::Cause;
use crate::error::WorkflowError;
use crate::ports::Embedder;

/// What a re-embedding pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReembedReport {
    pub embedded: u64,
}

impl CatalogService {
    /// Drops the cached embeddings of one workflow (logged, never fatal: the cache is an
    /// optimisation). Called on every status change.
    pub(crate) async fn invalidate_cached(&self, id: WorkflowId) {
        if let Some(embedder) = &self.embedder
            && let Err(e) = embedder.cache().invalidate_workflow(id).await
        {
            tracing::warn!(error = %chain(&e), workflow = %id, "could not invalidate cached embeddings");
        }
    }

    /// `DELETE /cache/workflows/{id}`: returns how many entries were dropped.
    pub async fn invalidate_workflow_cache(&self, id: WorkflowId) -> Result<u64, WorkflowError> {
        match &self.embedder {
            None => Ok(0),
            Some(e) => e
                .cache()
                .invalidate_workflow(id)
                .await
                .map_err(|e| WorkflowError::Unavailable(Cause::new(e))),
        }
    }

    /// `DELETE /cache/workflows`: returns how many entries were dropped.
    pub async fn invalidate_all_cache(&self) -> Result<u64, WorkflowError> {
        match &self.embedder {
            None => Ok(0),
            Some(e) => e
                .cache()
                .invalidate_all()
                .await
                .map_err(|e| WorkflowError::Unavailable(Cause::new(e))),
        }
    }

    /// Embeds every workflow that has no embedding of the current model, in batches; run
    /// after changing the embedding model (`datastorage reembed`).
    pub async fn reembed(&self) -> Result<ReembedReport, WorkflowError> {
        let Some(embedder) = &self.embedder else {
            return Err(WorkflowError::EmbedderUnavailable(
                "no embedder is configured".into(),
            ));
        };
        let mut report = ReembedReport::default();
        loop {
            let batch = self
                .catalog
                .missing_embeddings(embedder.model(), 64)
                .await?;
            if batch.is_empty() {
                return Ok(report);
            }
            let texts: Vec<(String, Option<WorkflowId>)> = batch
                .iter()
                .map(|w| (w.search_text(), Some(w.id)))
                .collect();
            let vectors = embedder.embed_tagged(&texts).await?;
            for (workflow, vector) in batch.iter().zip(&vectors) {
                self.catalog.set_embedding(workflow.id, vector).await?;
                report.embedded += 1;
            }
        }
    }
}
