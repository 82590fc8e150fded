//! Retrieval quality of workflow search: nDCG@5, recall@5 and MRR of label-only,
//! semantic-only and hybrid scoring over a dataset of workflows and incident descriptions
//! with graded relevance (`eval/retrieval/`).
//!
//! Every mode searches the same catalog through the real use-case (hard filters first), so
//! the modes differ only in how they rank the workflows that pass the filters.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use datastorage::SystemClock;
use datastorage_application::audit::{AuditService, AuditSettings};
use datastorage_application::catalog::{CatalogService, ScoringMode, SearchRequest};
use datastorage_application::embedding::CachedEmbedder;
use datastorage_application::ports::Embedder;
use datastorage_domain::workflow::{CustomLabels, DetectedLabels, SearchFilters, WorkflowDraft};
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub workflows: usize,
    pub queries: usize,
    pub label_only: Metrics,
    pub semantic_only: Metrics,
    pub hybrid: Metrics,
}

impl Report {
    pub fn table(&self) -> String {
        let row = |name: &str, m: &Metrics| {
            format!(
                "| {name} | {:.3} | {:.3} | {:.3} |",
                m.ndcg_at_5, m.recall_at_5, m.mrr
            )
        };
        [
            format!(
                "{} workflows, {} incident descriptions",
                self.workflows, self.queries
            ),
            String::new(),
            "| scoring | nDCG@5 | recall@5 | MRR |".into(),
            "|---|---|---|---|".into(),
            row("label-only", &self.label_only),
            row("semantic-only", &self.semantic_only),
            row("hybrid", &self.hybrid),
        ]
        .join("\n")
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// nDCG@5 with gains 2^grade − 1, recall@5 of everything graded ≥ 1, reciprocal rank of the
/// first grade-3 (the right remediation) result.
fn metrics(ranked: &[String], relevance: &BTreeMap<String, u32>) -> Metrics {
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
    Metrics {
        ndcg_at_5: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        recall_at_5: found as f64 / relevant as f64,
        mrr: first_right.map_or(0.0, |i| 1.0 / (i + 1) as f64),
    }
}

fn mean(all: &[Metrics]) -> Metrics {
    let n = all.len().max(1) as f64;
    Metrics {
        ndcg_at_5: all.iter().map(|m| m.ndcg_at_5).sum::<f64>() / n,
        recall_at_5: all.iter().map(|m| m.recall_at_5).sum::<f64>() / n,
        mrr: all.iter().map(|m| m.mrr).sum::<f64>() / n,
    }
}

/// Registers the dataset's workflows in a fresh in-memory catalog and runs every query in
/// the three modes.
///
/// # Errors
/// When the dataset cannot be read or a workflow or query in it is invalid.
pub async fn evaluate(dataset: &Path, embedder: Arc<dyn Embedder>) -> Result<Report, String> {
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
    let catalog = CatalogService::new(
        Arc::new(datastorage_memory::MemoryWorkflowCatalog::new()),
        audit,
        clock,
        Some(cached),
    );
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
        for (name, mode) in [
            ("label-only", ScoringMode::LabelsOnly),
            ("semantic-only", ScoringMode::SemanticOnly),
            ("hybrid", ScoringMode::Hybrid),
        ] {
            let results = catalog
                .search(SearchRequest {
                    filters: Some(filters.clone()),
                    query: Some(q.text.clone()),
                    mode,
                    top_k: 100,
                    ..SearchRequest::default()
                })
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
        }
    }
    let of = |name: &str| mean(per_mode.get(name).map(Vec::as_slice).unwrap_or_default());
    Ok(Report {
        workflows: workflows.len(),
        queries: queries.len(),
        label_only: of("label-only"),
        semantic_only: of("semantic-only"),
        hybrid: of("hybrid"),
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
        assert_eq!((perfect.recall_at_5, perfect.mrr), (1.0, 1.0));
        let reversed = metrics(&["c".into(), "b".into(), "a".into()], &rel);
        assert!(reversed.ndcg_at_5 < 0.6);
        assert!((reversed.mrr - 1.0 / 3.0).abs() < 1e-12);
        let missing = metrics(&["c".into()], &rel);
        assert_eq!(
            (missing.ndcg_at_5, missing.recall_at_5, missing.mrr),
            (0.0, 0.0, 0.0)
        );
    }
}
