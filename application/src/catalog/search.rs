//! Use-case: search the catalog by incident labels and, optionally, by the incident's text
//! (DESIGN.md §5).
//!
//! The store returns every candidate that passes the hard filters (with its exact cosine
//! similarity to the query text when there is one); lexical scoring, fusion, the `min_score`
//! cut, the order `final_score DESC, workflow_id ASC` and the `top_k` cut happen here, over
//! the whole candidate set, so whenever at least `top_k` workflows pass, exactly `top_k` come
//! back, in the same order on every adapter.

use datastorage_domain::workflow::*;
use datastorage_domain::{Reason, ValidationErrors};
use serde_json::json;

use super::CatalogService;
use super::audit_trail::CatalogEvent;
use crate::error::WorkflowError;
use crate::ports::{Candidate, Embedder};

/// How candidates are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScoringMode {
    /// Hybrid when there is a query text, label-only otherwise (what the API does).
    #[default]
    Auto,
    /// `min(1, (5 + boost − penalty) / 10)`, ignoring any query text.
    LabelsOnly,
    /// The normalised BM25 score alone (for evaluation).
    LexicalOnly,
    /// The cosine similarity alone (for evaluation).
    SemanticOnly,
    /// Labels, semantic and lexical evidence fused ([`fuse`]).
    Hybrid,
}

/// What a search does when the query text cannot be embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenEmbedderDown {
    /// Answer from labels and lexical evidence, saying that semantic evidence is missing.
    #[default]
    Degrade,
    /// Refuse: 503 `embedder-unavailable` (400 when no embedder is configured).
    Refuse,
}

/// How the catalog searches (settings).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SearchSettings {
    pub weights: FusionWeights,
    pub when_embedder_down: WhenEmbedderDown,
}

/// Evidence a search could not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingEvidence {
    /// The query text could not be embedded: no semantic similarity.
    Semantic,
}

impl MissingEvidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Semantic => "semantic",
        }
    }
}

/// A search as asked.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub filters: Option<SearchFilters>,
    /// Free text: the incident as described.
    pub query: Option<String>,
    pub mode: ScoringMode,
    pub top_k: i64,
    pub min_score: f64,
    pub include_disabled: bool,
    /// Statuses to search instead of the default (active, plus disabled if asked).
    pub statuses: Option<Vec<LifecycleStatus>>,
    /// For the audit trail of the search.
    pub remediation_id: Option<String>,
}

/// One result, with how its score was made.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedWorkflow {
    pub workflow: WorkflowSummary,
    pub score: LabelScore,
    /// Cosine similarity to the query text; `None` without semantic evidence.
    pub similarity: Option<f64>,
    /// The lexical match; `None` without a query text.
    pub lexical: Option<LexicalMatch>,
    /// Each evidence's part of `final_score` (for a hybrid search).
    pub fused: Option<Fused>,
    pub final_score: f64,
    pub rank: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub results: Vec<RankedWorkflow>,
    /// Workflows that passed the hard filters and `min_score` (before `top_k`).
    pub total_matching: usize,
    /// Evidence the ranking could not use (empty when nothing was missing).
    pub missing_evidence: Vec<MissingEvidence>,
}

/// Scores in millionths, so that ordering is exact and the same everywhere.
fn micro(score: f64) -> i64 {
    (score.clamp(0.0, 1.0) * 1_000_000.0).round() as i64
}

impl CatalogService {
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, WorkflowError> {
        let started = std::time::Instant::now();
        let semantic = request.query.as_ref().is_some_and(|q| !q.trim().is_empty());
        let result = self.search_unmeasured(request).await;
        let mode = if semantic { "hybrid" } else { "labels" };
        metrics::histogram!("datastorage_workflow_search_duration_seconds", "mode" => mode)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn search_unmeasured(
        &self,
        request: SearchRequest,
    ) -> Result<SearchResults, WorkflowError> {
        let mut errors = ValidationErrors::new();
        // It becomes the correlation id of the search's audit event.
        if let Some(id) = request
            .remediation_id
            .as_deref()
            .filter(|id| !id.is_empty())
            && datastorage_domain::audit::CorrelationId::parse(id).is_err()
        {
            errors.push_because(
                "remediation_id",
                Reason::OutOfRange,
                "must be at most 255 characters, none of them NUL",
            );
        }
        if !(1..=100).contains(&request.top_k) {
            errors.push_because("top_k", Reason::OutOfRange, "must be between 1 and 100");
        }
        if !(0.0..=1.0).contains(&request.min_score) {
            errors.push_because("min_score", Reason::OutOfRange, "must be between 0 and 1");
        }
        let query = request.query.clone().filter(|q| !q.trim().is_empty());
        if query
            .as_ref()
            .is_some_and(|q| q.chars().count() > 2000 || q.contains('\0'))
        {
            errors.push_because(
                "query",
                Reason::OutOfRange,
                "must be at most 2000 characters, none of them NUL",
            );
        }
        let mode = match (request.mode, &query) {
            (ScoringMode::Auto, Some(_)) => ScoringMode::Hybrid,
            (ScoringMode::Auto, None) => ScoringMode::LabelsOnly,
            (m @ (ScoringMode::Hybrid | ScoringMode::SemanticOnly), None) => {
                errors.push_because(
                    "query",
                    Reason::Required,
                    "is required for semantic scoring",
                );
                m
            }
            (m, _) => m,
        };
        let semantic = matches!(mode, ScoringMode::Hybrid | ScoringMode::SemanticOnly);
        let degrade = mode == ScoringMode::Hybrid
            && self.search.when_embedder_down == WhenEmbedderDown::Degrade;
        if semantic && self.embedder.is_none() && !degrade {
            errors.push(
                "query",
                "free-text search is not available: this service has no embedder configured",
            );
        }
        let Some(filters) = request.filters.clone() else {
            errors.push_because("filters", Reason::Required, "is required");
            return Err(errors.into());
        };
        errors.into_result()?;

        let statuses = request.statuses.clone().unwrap_or_else(|| {
            let mut s = vec![LifecycleStatus::Active];
            if request.include_disabled {
                s.push(LifecycleStatus::Disabled);
            }
            s
        });
        let mut missing_evidence = Vec::new();
        let query_embedding = match (&self.embedder, &query) {
            (Some(embedder), Some(text)) if semantic => {
                match embedder.embed(std::slice::from_ref(text)).await {
                    Ok(mut embedded) => embedded.pop(),
                    Err(e) if degrade => {
                        tracing::warn!(error = %e, "searching without semantic evidence: the query could not be embedded");
                        missing_evidence.push(MissingEvidence::Semantic);
                        None
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            (None, Some(_)) if semantic => {
                missing_evidence.push(MissingEvidence::Semantic);
                None
            }
            _ => None,
        };
        for missing in &missing_evidence {
            metrics::counter!("datastorage_workflow_search_degraded_total", "missing" => missing.as_str())
                .increment(1);
        }
        let semantic = semantic && missing_evidence.is_empty();
        let candidates = self
            .catalog
            .candidates(&filters, &statuses, query_embedding.as_ref())
            .await?;

        let candidates: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| passes_hard_filters(&filters, &c.workflow.labels))
            .collect();
        // Lexical evidence is scored over the hard-filtered candidates, in the domain, so
        // every adapter ranks alike (docs/architecture.md, "Lexical search").
        let lexical: Vec<Option<LexicalMatch>> = match &query {
            Some(text) if mode != ScoringMode::LabelsOnly => {
                let texts: Vec<String> = candidates
                    .iter()
                    .map(|c| c.workflow.lexical_text())
                    .collect();
                let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                score_documents(text, &texts)
                    .into_iter()
                    .map(Some)
                    .collect()
            }
            _ => vec![None; candidates.len()],
        };
        let weights = self.search.weights;
        let mut scored: Vec<(i64, RankedWorkflow)> = candidates
            .into_iter()
            .zip(lexical)
            .map(
                |(
                    Candidate {
                        workflow,
                        similarity,
                    },
                    lexical,
                )| {
                    let score =
                        score_labels(&filters, &workflow.detected_labels, &workflow.custom_labels);
                    // A workflow without an embedding of this model counts as unrelated text.
                    let similarity = semantic.then_some(similarity.unwrap_or(0.0));
                    let lexical_score = lexical.as_ref().map(|m| m.score);
                    let fused = (mode == ScoringMode::Hybrid)
                        .then(|| fuse(weights, score, similarity, lexical_score));
                    let final_score = match mode {
                        ScoringMode::SemanticOnly => similarity.unwrap_or(0.0).clamp(0.0, 1.0),
                        ScoringMode::LexicalOnly => lexical_score.unwrap_or(0.0),
                        ScoringMode::Hybrid => fused.map_or(0.0, |f| f.final_score),
                        _ => score.label_only(),
                    };
                    let ranked = RankedWorkflow {
                        similarity,
                        lexical,
                        fused,
                        final_score: micro(final_score) as f64 / 1_000_000.0,
                        workflow,
                        score,
                        rank: 0,
                    };
                    (micro(final_score), ranked)
                },
            )
            .filter(|(m, _)| *m as f64 / 1_000_000.0 >= request.min_score)
            .collect();
        scored.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.workflow.id.cmp(&b.1.workflow.id))
        });
        let total_matching = scored.len();
        let results: Vec<RankedWorkflow> = scored
            .into_iter()
            .take(request.top_k as usize)
            .enumerate()
            .map(|(i, (_, mut r))| {
                r.rank = i as u32 + 1;
                r
            })
            .collect();

        self.audit_in_background(CatalogEvent {
            event_type: "workflow.search.executed",
            action: "searched",
            actor: None,
            resource_id: "catalog".into(),
            resource_name: "workflow-catalog".into(),
            correlation_id: request
                .remediation_id
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "workflow-search".into()),
            data: json!({
                "filters": {
                    "signal_type": filters.signal_type, "severity": filters.severity.as_str(),
                    "component": filters.component, "environment": filters.environment,
                    "priority": filters.priority.as_str(),
                },
                "semantic": semantic,
                "missing_evidence": missing_evidence.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "top_k": request.top_k,
                "total_matching": total_matching,
                "results": results.iter().map(|r| json!({
                    "workflow_id": r.workflow.id.to_string(), "final_score": r.final_score, "rank": r.rank,
                })).collect::<Vec<_>>(),
            }),
        })
        .await;
        Ok(SearchResults {
            results,
            total_matching,
            missing_evidence,
        })
    }
}
