//! A search of the catalog and its ranked answer.

use datastorage_application::catalog::{RankedWorkflow, ScoringMode, SearchRequest};
use datastorage_domain::ValidationErrors;
use datastorage_domain::workflow::{CustomLabels, DetectedLabels, LifecycleStatus, SearchFilters};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;

/// Search filters: the incident's labels.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSearchFilters {
    /// A concrete value (not `*`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "OOMKilled"
    )]
    pub signal_type: String,
    /// Case-insensitive on input; echoed in lower case.
    #[schema(value_type = SeverityDoc, example = "critical")]
    pub severity: String,
    /// A concrete value (not `*`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "pod"
    )]
    pub component: String,
    /// A concrete value (not `*`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^(?!\*$)[^\u0000]+$",
        example = "production"
    )]
    pub environment: String,
    /// Case-insensitive on input; echoed in upper case.
    #[schema(value_type = PriorityDoc, example = "P0")]
    pub priority: String,
    #[schema(schema_with = optional_custom_labels_schema)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_labels: Option<Value>,
    #[schema(value_type = Option<DetectedLabelsDoc>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_labels: Option<Value>,
    /// Statuses to search instead of the default (active, plus disabled with include_disabled).
    #[schema(value_type = Option<Vec<WorkflowStatusDoc>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<String>>,
}

/// A search of the catalog by labels and, with `query`, by meaning.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkflowSearchRequest {
    /// For the audit trail of the search: the search event's correlation id.
    #[schema(max_length = 255, pattern = r"^[^\u0000]*$")]
    pub remediation_id: Option<String>,
    pub filters: WorkflowSearchFilters,
    /// The incident in words. With it the score is hybrid: semantic similarity, lexical
    /// relevance and labels fused (see the operation and `score_breakdown`).
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000]*$",
        example = "payments-api pods OOMKilled right after the v2.14 deploy"
    )]
    pub query: Option<String>,
    /// 1-100, default 10.
    #[schema(minimum = 1, maximum = 100, default = 10)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub top_k: Option<i64>,
    /// 0-1, default 0.
    #[schema(minimum = 0.0, maximum = 1.0, default = 0.0)]
    pub min_score: Option<f64>,
    #[serde(default)]
    pub include_disabled: bool,
}

impl TryFrom<WorkflowSearchRequest> for SearchRequest {
    type Error = ValidationErrors;

    /// The wire's labels become the domain's filters; every broken one is named under
    /// `filters.`. The use-case checks the rest (top_k, min_score, query).
    fn try_from(request: WorkflowSearchRequest) -> Result<Self, ValidationErrors> {
        let f = request.filters;
        let mut errors = ValidationErrors::new();
        let under_filters = |e: ValidationErrors| {
            let mut out = ValidationErrors::new();
            for fe in e.errors() {
                out.push(format!("filters.{}", fe.field), fe.message.clone());
            }
            out
        };
        let detected = errors.collect(
            DetectedLabels::from_json(f.detected_labels.as_ref().unwrap_or(&Value::Null))
                .map_err(under_filters),
        );
        let custom = errors.collect(
            CustomLabels::from_json(f.custom_labels.as_ref().unwrap_or(&Value::Null))
                .map_err(under_filters),
        );
        let statuses = match &f.status {
            None => None,
            Some(list) => errors.collect(
                list.iter()
                    .map(|s| LifecycleStatus::parse(s).map_err(under_filters))
                    .collect::<Result<Vec<_>, _>>(),
            ),
        };
        let filters = errors.collect(SearchFilters::parse(
            f.signal_type,
            &f.severity,
            f.component,
            f.environment,
            &f.priority,
            detected.unwrap_or_default(),
            custom.unwrap_or_default(),
        ));
        errors.into_result()?;
        Ok(SearchRequest {
            filters,
            query: request.query,
            mode: ScoringMode::Auto,
            top_k: request.top_k.unwrap_or(10),
            min_score: request.min_score.unwrap_or(0.0),
            include_disabled: request.include_disabled,
            statuses,
            remediation_id: request.remediation_id,
        })
    }
}

/// One ranked workflow.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSearchResult {
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub version: String,
    /// Human-readable title.
    pub title: String,
    pub description: String,
    pub signal_type: String,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_digest: Option<String>,
    /// Same as final_score.
    pub confidence: f64,
    pub final_score: f64,
    /// Cosine similarity of the query text; absent for a label-only search.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_similarity: Option<f64>,
    pub label_boost: f64,
    pub label_penalty: f64,
    /// 1-based position.
    #[schema(minimum = 1)]
    pub rank: u32,
    #[schema(schema_with = custom_labels_schema)]
    pub custom_labels: Value,
    #[schema(value_type = DetectedLabelsDoc)]
    pub detected_labels: Value,
    /// Why this workflow ranked where it did (a search with `query`).
    #[schema(nullable = false)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_breakdown: Option<ScoreBreakdown>,
}

/// The evidence behind a hybrid `final_score` and each part's share of it:
/// `final_score = clamp(semantic_part + lexical_part + label_part, 0, 1)`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScoreBreakdown {
    #[schema(minimum = 0.0, maximum = 0.39)]
    pub label_boost: f64,
    #[schema(minimum = 0.0, maximum = 0.20)]
    pub label_penalty: f64,
    /// Cosine similarity of the query's and the workflow's embeddings; absent when semantic
    /// evidence is missing.
    #[schema(nullable = false)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_similarity: Option<f64>,
    /// BM25 of the query's terms in the workflow's title, description and labels, divided by
    /// the best BM25 among the filtered workflows (1 for the best lexical match).
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub lexical_score: f64,
    /// The query's terms (lower case, identifiers also split into parts) found in the
    /// workflow's text.
    pub matched_terms: Vec<String>,
    /// `(1 − lexical_weight) × semantic_similarity`.
    pub semantic_part: f64,
    /// `lexical_weight × lexical_score` (the whole lexical_score when semantic evidence is
    /// missing).
    pub lexical_part: f64,
    /// `label_weight × (label_boost − label_penalty)`.
    pub label_part: f64,
}

impl From<&RankedWorkflow> for WorkflowSearchResult {
    fn from(r: &RankedWorkflow) -> Self {
        let w = &r.workflow;
        // Scores are exact in units of 0.00001; print them without float noise.
        let round = |x: f64| (x * 100_000.0).round() / 100_000.0;
        Self {
            workflow_id: *w.id.as_uuid(),
            workflow_name: w.name.to_string(),
            version: w.version.to_string(),
            title: w.title.clone(),
            description: w.description.clone(),
            signal_type: w.labels.signal_type.clone(),
            container_image: w.container_image.clone(),
            container_digest: w.container_digest.clone(),
            confidence: round(r.final_score),
            final_score: round(r.final_score),
            semantic_similarity: r.similarity.map(round),
            label_boost: round(r.score.boost()),
            label_penalty: round(r.score.penalty()),
            rank: r.rank,
            custom_labels: w.custom_labels.to_json(),
            detected_labels: w.detected_labels.to_json(),
            score_breakdown: r.fused.map(|fused| ScoreBreakdown {
                label_boost: round(r.score.boost()),
                label_penalty: round(r.score.penalty()),
                semantic_similarity: r.similarity.map(round),
                lexical_score: round(r.lexical.as_ref().map_or(0.0, |m| m.score)),
                matched_terms: r
                    .lexical
                    .as_ref()
                    .map(|m| m.matched_terms.clone())
                    .unwrap_or_default(),
                semantic_part: round(fused.semantic),
                lexical_part: round(fused.lexical),
                label_part: round(fused.labels),
            }),
        }
    }
}

/// Ranked results, best first (`final_score DESC, workflow_id ASC`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSearchResponse {
    pub workflows: Vec<WorkflowSearchResult>,
    /// Workflows that passed the filters and min_score, before top_k.
    pub total_results: usize,
    pub filters: WorkflowSearchFilters,
    /// Evidence the ranking could not use; absent when none was missing. `semantic`: the
    /// query could not be embedded (the embedder is down or not configured), so the
    /// ranking rests on labels and lexical evidence.
    #[schema(nullable = false, value_type = Option<Vec<MissingEvidenceDoc>>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_evidence: Option<Vec<String>>,
}

/// Evidence a search could not use.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = MissingEvidence)]
#[allow(dead_code)] // documents the values; they come from the use-case
pub enum MissingEvidenceDoc {
    Semantic,
}
