//! Use-case: search the catalog by incident labels (DESIGN.md §5, label-only scoring).
//!
//! The store returns every candidate that passes the hard filters; scoring, the `min_score`
//! cut, the order `final_score DESC, workflow_id ASC` and the `top_k` cut happen here, over
//! the whole candidate set, so whenever at least `top_k` workflows pass, exactly `top_k` come
//! back, in the same order on every adapter.

use datastorage_domain::ValidationErrors;
use datastorage_domain::workflow::*;
use serde_json::json;

use super::CatalogService;
use super::audit_trail::CatalogEvent;
use crate::error::WorkflowError;

/// A search as asked.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub filters: SearchFilters,
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
    pub workflow: Workflow,
    pub score: LabelScore,
    pub final_score: f64,
    pub rank: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub results: Vec<RankedWorkflow>,
    /// Workflows that passed the hard filters and `min_score` (before `top_k`).
    pub total_matching: usize,
}

impl CatalogService {
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, WorkflowError> {
        let mut errors = ValidationErrors::new();
        if !(1..=100).contains(&request.top_k) {
            errors.push("top_k", "must be between 1 and 100");
        }
        if !(0.0..=1.0).contains(&request.min_score) {
            errors.push("min_score", "must be between 0 and 1");
        }
        errors.into_result()?;
        let statuses = request.statuses.clone().unwrap_or_else(|| {
            let mut s = vec![LifecycleStatus::Active];
            if request.include_disabled {
                s.push(LifecycleStatus::Disabled);
            }
            s
        });

        let candidates = self.catalog.candidates(&request.filters, &statuses).await?;
        let mut scored: Vec<(u32, LabelScore, Workflow)> = candidates
            .into_iter()
            .filter(|w| passes_hard_filters(&request.filters, &w.labels))
            .map(|w| {
                let score = score_labels(&request.filters, &w.detected_labels, &w.custom_labels);
                (score.label_only_units(), score, w)
            })
            .filter(|(units, _, _)| f64::from(*units) / 100_000.0 >= request.min_score)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.id.cmp(&b.2.id)));
        let total_matching = scored.len();
        let results: Vec<RankedWorkflow> = scored
            .into_iter()
            .take(request.top_k as usize)
            .enumerate()
            .map(|(i, (_, score, workflow))| RankedWorkflow {
                final_score: score.label_only(),
                score,
                workflow,
                rank: i as u32 + 1,
            })
            .collect();

        let f = &request.filters;
        self.audit(CatalogEvent {
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
                    "signal_type": f.signal_type, "severity": f.severity.as_str(),
                    "component": f.component, "environment": f.environment,
                    "priority": f.priority.as_str(),
                },
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
        })
    }
}
