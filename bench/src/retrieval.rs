//! Retrieval quality of workflow search: nDCG@5, recall@5, MRR and top-1 of label-only,
//! lexical-only, semantic-only and hybrid scoring over a dataset of workflows and incident
//! descriptions with graded relevance (`eval/retrieval/`), and the cross-validation that
//! chooses the fusion weights ([`crate::fusion_cv`]).
//!
//! Every mode searches the same catalog through the real use-case (hard filters first), so
//! the modes differ only in how they rank the workflows that pass the filters.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use datastorage::SystemClock;
use datastorage_application::audit::{AuditService, AuditSettings};
use datastorage_application::catalog::{
    CatalogService, ScoringMode, SearchRequest, SearchSettings, WhenEmbedderDown,
};
use datastorage_application::embedding::CachedEmbedder;
use datastorage_application::ports::Embedder;
use datastorage_domain::workflow::{
    CustomLabels, DetectedLabels, FusionWeights, SearchFilters, WorkflowDraft,
};

use crate::fusion_cv::{self, CrossValidation, QuerySignals, Signals};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct WorkflowSpec {
    key: String,
    name: String,
    description: String,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    detected_labels: Value,
    #[serde(default)]
    custom_labels: Value,
}

#[derive(Debug, Deserialize)]
struct QuerySpec {
    id: String,
    text: String,
    filters: Value,
    relevance: BTreeMap<String, u32>,
}

/// Mean metrics of one scoring mode.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub ndcg_at_5: f64,
    pub recall_at_5: f64,
    pub mrr: f64,
    /// Queries whose first result is a best-graded workflow (a count, not a mean).
    pub top_1: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub workflows: usize,
    pub queries: usize,
    /// The weights the hybrid row was scored with.
    pub weights: FusionWeights,
    pub label_only: Metrics,
    pub lexical_only: Metrics,
    pub semantic_only: Metrics,
    pub hybrid: Metrics,
    /// Hybrid with the embedder down: labels and lexical evidence only.
    pub hybrid_without_semantic: Metrics,
    pub cross_validation: CrossValidation,
}

impl Report {
    /// The four modes (and the degraded hybrid) as a Markdown table.
    pub fn table(&self) -> String {
        let row = |name: &str, m: &Metrics| {
            format!(
                "| {name} | {:.3} | {:.3} | {:.3} | {}/{} |",
                m.ndcg_at_5, m.recall_at_5, m.mrr, m.top_1, self.queries
            )
        };
        [
            format!(
                "{} workflows, {} incident descriptions; hybrid weights: lexical {}, labels {}",
                self.workflows, self.queries, self.weights.lexical, self.weights.labels
            ),
            String::new(),
            "| scoring | nDCG@5 | recall@5 | MRR | top-1 |".into(),
            "|---|---|---|---|---|".into(),
            row("label-only", &self.label_only),
            row("lexical-only", &self.lexical_only),
            row("semantic-only", &self.semantic_only),
            row("hybrid", &self.hybrid),
            row(
                "hybrid, embedder down (labels + lexical)",
                &self.hybrid_without_semantic,
            ),
        ]
        .join("\n")
    }

    /// The table and the cross-validation that chose the weights.
    pub fn markdown(&self) -> String {
        format!("{}\n\n{}", self.table(), self.cross_validation.markdown())
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// nDCG@5 with gains 2^grade − 1, recall@5 of everything graded ≥ 1, reciprocal rank of the
/// first grade-3 (the right remediation) result, and whether the first result has the best
/// grade of the query.
pub(crate) fn metrics(ranked: &[String], relevance: &BTreeMap<String, u32>) -> Metrics {
    let gain = |g: u32| f64::from((1u32 << g) - 1);
    let dcg: f64 = ranked
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, k)| gain(*relevance.get(k).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = relevance.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, g)| gain(*g) / ((i + 2) as f64).log2())
        .sum();
    let relevant = relevance.values().filter(|g| **g >= 1).count().max(1);
    let found = ranked
        .iter()
        .take(5)
        .filter(|k| relevance.get(*k).is_some_and(|g| *g >= 1))
        .count();
    let first_right = ranked.iter().position(|k| relevance.get(k) == Some(&3));
    let best = relevance.values().copied().max().unwrap_or(0);
    let first_is_best =
        best > 0 && ranked.first().and_then(|k| relevance.get(k)).copied() == Some(best);
    Metrics {
        ndcg_at_5: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        recall_at_5: found as f64 / relevant as f64,
        mrr: first_right.map_or(0.0, |i| 1.0 / (i + 1) as f64),
        top_1: usize::from(first_is_best),
    }
}

pub(crate) fn mean(all: &[Metrics]) -> Metrics {
    let n = all.len().max(1) as f64;
    Metrics {
        ndcg_at_5: all.iter().map(|m| m.ndcg_at_5).sum::<f64>() / n,
        recall_at_5: all.iter().map(|m| m.recall_at_5).sum::<f64>() / n,
        mrr: all.iter().map(|m| m.mrr).sum::<f64>() / n,
        top_1: all.iter().map(|m| m.top_1).sum(),
    }
}

/// Registers the dataset's workflows in a fresh in-memory catalog, runs every query in every
/// mode (hybrid with `weights`), and cross-validates the fusion weights.
///
/// # Errors
/// When the dataset cannot be read or a workflow or query in it is invalid.
pub async fn evaluate(
    dataset: &Path,
    embedder: Arc<dyn Embedder>,
    weights: FusionWeights,
) -> Result<Report, String> {
    let read = |name: &str| -> Result<String, String> {
        std::fs::read_to_string(dataset.join(name))
            .map_err(|e| format!("{}: {e}", dataset.join(name).display()))
    };
    let workflows: Vec<WorkflowSpec> =
        serde_json::from_str(&read("workflows.json")?).map_err(|e| e.to_string())?;
    let queries: Vec<QuerySpec> =
        serde_json::from_str(&read("queries.json")?).map_err(|e| e.to_string())?;

    let clock = Arc::new(SystemClock);
    let audit = AuditService::new(
        Arc::new(datastorage_memory::MemoryAuditEventRepository::new()),
        None,
        clock.clone(),
        AuditSettings::default(),
    );
    let cached = Arc::new(CachedEmbedder::new(
        embedder,
        Arc::new(datastorage_memory::MemoryEmbeddingCache::new(10_000)),
        Duration::from_secs(3600),
    ));
    let store = Arc::new(datastorage_memory::MemoryWorkflowCatalog::new());
    let catalog = CatalogService::new(store.clone(), audit.clone(), clock.clone(), Some(cached))
        .with_search_settings(SearchSettings {
            weights,
            when_embedder_down: WhenEmbedderDown::Refuse,
        });
    // The same catalog without an embedder: what a search answers while it is down.
    let without_embedder =
        CatalogService::new(store, audit, clock, None).with_search_settings(SearchSettings {
            weights,
            when_embedder_down: WhenEmbedderDown::Degrade,
        });
    for w in &workflows {
        let label = |k: &str| w.labels.get(k).cloned().unwrap_or_default();
        let draft = WorkflowDraft {
            workflow_name: w.key.clone(),
            version: "1.0.0".into(),
            title: w.name.clone(),
            description: w.description.clone(),
            content: format!("kind: Workflow # {}", w.key),
            content_hash: None,
            signal_type: label("signal_type"),
            severity: label("severity"),
            component: label("component"),
            environment: label("environment"),
            priority: label("priority"),
            detected_labels: w.detected_labels.clone(),
            custom_labels: w.custom_labels.clone(),
            parameters: Value::Null,
            execution_engine: "argo-workflows".into(),
            container_image: None,
            container_digest: None,
            owner: None,
            maintainer: None,
            version_notes: None,
            change_summary: None,
            created_by: None,
        };
        catalog
            .register(draft)
            .await
            .map_err(|e| format!("workflow {}: {e}", w.key))?;
    }

    let mut per_mode: HashMap<&str, Vec<Metrics>> = HashMap::new();
    let mut signals = Vec::new();
    for q in &queries {
        let f = &q.filters;
        let filters = SearchFilters::parse(
            text(f, "signal_type"),
            &text(f, "severity"),
            text(f, "component"),
            text(f, "environment"),
            &text(f, "priority"),
            DetectedLabels::from_json(&f["detected_labels"])
                .map_err(|e| format!("query {}: {e}", q.id))?,
            CustomLabels::from_json(&f["custom_labels"])
                .map_err(|e| format!("query {}: {e}", q.id))?,
        )
        .map_err(|e| format!("query {}: {e}", q.id))?;
        let search = |mode: ScoringMode| SearchRequest {
            filters: Some(filters.clone()),
            query: Some(q.text.clone()),
            mode,
            top_k: 100,
            ..SearchRequest::default()
        };
        for (name, mode) in [
            ("label-only", ScoringMode::LabelsOnly),
            ("lexical-only", ScoringMode::LexicalOnly),
            ("semantic-only", ScoringMode::SemanticOnly),
            ("hybrid", ScoringMode::Hybrid),
            ("hybrid-without-semantic", ScoringMode::Hybrid),
        ] {
            let service = if name == "hybrid-without-semantic" {
                &without_embedder
            } else {
                &catalog
            };
            let results = service
                .search(search(mode))
                .await
                .map_err(|e| format!("query {}: {e}", q.id))?;
            let ranked: Vec<String> = results
                .results
                .iter()
                .map(|r| r.workflow.name.to_string())
                .collect();
            per_mode
                .entry(name)
                .or_default()
                .push(metrics(&ranked, &q.relevance));
            if name == "hybrid" {
                signals.push(QuerySignals {
                    group: text(f, "signal_type"),
                    relevance: q.relevance.clone(),
                    candidates: results
                        .results
                        .iter()
                        .map(|r| Signals {
                            id: *r.workflow.id.as_uuid(),
                            key: r.workflow.name.to_string(),
                            labels: r.score,
                            similarity: r.similarity,
                            lexical: r.lexical.as_ref().map(|m| m.score),
                        })
                        .collect(),
                });
            }
        }
    }
    let of = |name: &str| mean(per_mode.get(name).map(Vec::as_slice).unwrap_or_default());
    Ok(Report {
        workflows: workflows.len(),
        queries: queries.len(),
        weights,
        label_only: of("label-only"),
        lexical_only: of("lexical-only"),
        semantic_only: of("semantic-only"),
        hybrid: of("hybrid"),
        hybrid_without_semantic: of("hybrid-without-semantic"),
        cross_validation: fusion_cv::cross_validate(&signals),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_of_a_perfect_and_a_reversed_ranking() {
        let rel = BTreeMap::from([("a".to_string(), 3), ("b".to_string(), 1)]);
        let perfect = metrics(&["a".into(), "b".into(), "c".into()], &rel);
        assert!((perfect.ndcg_at_5 - 1.0).abs() < 1e-12);
        assert_eq!(
            (perfect.recall_at_5, perfect.mrr, perfect.top_1),
            (1.0, 1.0, 1)
        );
        let reversed = metrics(&["c".into(), "b".into(), "a".into()], &rel);
        assert!(reversed.ndcg_at_5 < 0.6);
        assert!((reversed.mrr - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(reversed.top_1, 0);
        let missing = metrics(&["c".into()], &rel);
        assert_eq!(
            (missing.ndcg_at_5, missing.recall_at_5, missing.mrr),
            (0.0, 0.0, 0.0)
        );
    }
}
