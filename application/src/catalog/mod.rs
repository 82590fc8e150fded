//! The workflow catalog use-cases, one per file, sharing one [`CatalogService`] handle.
//! Every change and every search is itself audited through the audit use-case.

mod audit_trail;
mod change_status;
mod diff_versions;
mod embeddings;
mod read;
mod register;
mod search;

use std::sync::Arc;

use datastorage_domain::workflow::WorkflowLimits;

use crate::audit::AuditService;
use crate::clock::Clock;
use crate::embedding::CachedEmbedder;
use crate::ports::WorkflowCatalog;

pub use embeddings::ReembedReport;
pub use read::ListInput;
pub use search::{
    MissingEvidence, RankedWorkflow, ScoringMode, SearchRequest, SearchResults, SearchSettings,
    WhenEmbedderDown,
};

#[derive(Clone)]
pub struct CatalogService {
    catalog: Arc<dyn WorkflowCatalog>,
    audit: AuditService,
    clock: Arc<dyn Clock>,
    limits: WorkflowLimits,
    /// `None`: label-only search, and workflows are registered without embeddings.
    embedder: Option<Arc<CachedEmbedder>>,
    /// The search audits written in the background (see `audit_trail`).
    background_audits: Arc<audit_trail::BackgroundAudits>,
    search: SearchSettings,
}

impl CatalogService {
    pub fn new(
        catalog: Arc<dyn WorkflowCatalog>,
        audit: AuditService,
        clock: Arc<dyn Clock>,
        embedder: Option<Arc<CachedEmbedder>>,
    ) -> Self {
        Self {
            catalog,
            background_audits: Arc::new(audit_trail::BackgroundAudits::new(audit.clone())),
            audit,
            clock,
            limits: WorkflowLimits::default(),
            embedder,
            search: SearchSettings::default(),
        }
    }

    /// The fusion weights and what a search does when the embedder is down.
    #[must_use]
    pub fn with_search_settings(mut self, search: SearchSettings) -> Self {
        self.search = search;
        self
    }
}
