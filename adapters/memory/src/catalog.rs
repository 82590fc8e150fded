//! The workflow catalog in process memory.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use datastorage_application::ports::*;
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_domain::workflow::*;

#[derive(Default)]
pub struct MemoryWorkflowCatalog {
    workflows: RwLock<HashMap<WorkflowId, Workflow>>,
}

impl MemoryWorkflowCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    // Writes check first and then mutate, so a poisoned lock holds no half-applied change.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<WorkflowId, Workflow>> {
        self.workflows.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<WorkflowId, Workflow>> {
        self.workflows.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn accepts(label: &LabelValue, wanted: &Option<String>) -> bool {
    wanted
        .as_ref()
        .is_none_or(|w| label.as_str().eq_ignore_ascii_case(w))
}

#[async_trait]
impl WorkflowCatalog for MemoryWorkflowCatalog {
    async fn register(&self, new: &NewWorkflow) -> Result<RegisterOutcome, CatalogError> {
        let mut all = self.write();
        let new = &new.0;
        let same_name: Vec<&Workflow> = all.values().filter(|w| w.name == new.name).collect();
        if let Some(existing) = same_name.iter().find(|w| w.version == new.version) {
            return if existing.registration_hash() == new.registration_hash() {
                Ok(RegisterOutcome::AlreadyExists((*existing).clone()))
            } else {
                Err(CatalogError::VersionExists {
                    name: new.name.to_string(),
                    version: existing.version.to_string(),
                })
            };
        }
        let latest = same_name
            .iter()
            .find(|w| w.is_latest_version)
            .map(|w| (w.id, w.version.clone()));
        if let Some((_, latest_version)) = &latest
            && new.version <= *latest_version
        {
            return Err(CatalogError::VersionNotIncremented {
                name: new.name.to_string(),
                given: new.version.to_string(),
                latest: latest_version.to_string(),
            });
        }
        let mut created = new.clone();
        created.is_latest_version = true;
        created.previous_version = latest.as_ref().map(|(_, v)| v.to_string());
        if let Some((latest_id, _)) = latest
            && let Some(old) = all.get_mut(&latest_id)
        {
            old.is_latest_version = false;
        }
        all.insert(created.id, created.clone());
        Ok(RegisterOutcome::Created(created))
    }

    async fn get(&self, id: WorkflowId) -> Result<Option<Workflow>, CatalogError> {
        Ok(self.read().get(&id).cloned())
    }

    async fn versions(&self, name: &WorkflowName) -> Result<Vec<Workflow>, CatalogError> {
        Ok(self
            .read()
            .values()
            .filter(|w| &w.name == name)
            .cloned()
            .collect())
    }

    async fn set_status(&self, change: &StatusChange) -> Result<(Workflow, bool), CatalogError> {
        let mut all = self.write();
        let workflow = all
            .get_mut(&change.id)
            .ok_or(CatalogError::NotFound(change.id))?;
        let changed = workflow.apply_status(
            change.to,
            change.by.clone(),
            change.reason.clone(),
            change.at,
        )?;
        Ok((workflow.clone(), changed))
    }

    async fn list(&self, q: &WorkflowListQuery) -> Result<WorkflowPage, CatalogError> {
        let all = self.read();
        let mut matching: Vec<&Workflow> = all
            .values()
            .filter(|w| q.name.as_ref().is_none_or(|n| &w.name == n))
            .filter(|w| q.status.is_none_or(|s| w.status == s))
            .filter(|w| !q.latest_only || w.is_latest_version)
            .filter(|w| accepts(&w.labels.component, &q.component))
            .filter(|w| accepts(&w.labels.environment, &q.environment))
            .filter(|w| {
                q.priority
                    .as_ref()
                    .is_none_or(|p| w.labels.priority.as_str().eq_ignore_ascii_case(p))
            })
            .collect();
        matching.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| b.version.cmp(&a.version))
                .then_with(|| a.id.cmp(&b.id))
        });
        let total = matching.len() as u64;
        let workflows = matching
            .into_iter()
            .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
            .take(q.limit as usize)
            .cloned()
            .collect();
        Ok(WorkflowPage { workflows, total })
    }

    async fn candidates(
        &self,
        filters: &SearchFilters,
        statuses: &[LifecycleStatus],
        query: Option<&Embedding>,
    ) -> Result<Vec<Candidate>, CatalogError> {
        Ok(self
            .read()
            .values()
            .filter(|w| w.is_latest_version && statuses.contains(&w.status))
            .filter(|w| passes_hard_filters(filters, &w.labels))
            .map(|w| Candidate {
                similarity: query.and_then(|q| w.embedding.as_ref().and_then(|e| q.cosine(e).ok())),
                workflow: WorkflowSummary::from(w),
            })
            .collect())
    }

    async fn missing_embeddings(
        &self,
        model: &EmbeddingModel,
        limit: u32,
    ) -> Result<Vec<Workflow>, CatalogError> {
        let mut missing: Vec<Workflow> = self
            .read()
            .values()
            .filter(|w| w.embedding.as_ref().is_none_or(|e| e.model() != model))
            .cloned()
            .collect();
        missing.sort_by_key(|w| w.id);
        missing.truncate(limit as usize);
        Ok(missing)
    }

    async fn set_embedding(
        &self,
        id: WorkflowId,
        embedding: &Embedding,
    ) -> Result<(), CatalogError> {
        let mut all = self.write();
        let workflow = all.get_mut(&id).ok_or(CatalogError::NotFound(id))?;
        workflow.embedding = Some(embedding.clone());
        Ok(())
    }
}
