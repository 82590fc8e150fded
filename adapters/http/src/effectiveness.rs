//! `GET /api/v1/effectiveness/{correlation_id}`: the original's effectiveness read, its
//! response shape field for field.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::SecondsFormat;
use datastorage_application::audit::EffectivenessReport;
use datastorage_domain::audit::{ComponentAssessment, HashComparison};
use serde::Serialize;
use serde_json::Number;
use utoipa::ToSchema;

use crate::AppState;
use crate::problem::{ApiError, Problem};

pub fn router() -> Router<AppState> {
    Router::new().route("/effectiveness/{correlation_id}", get(effectiveness))
}

/// The effectiveness of one remediation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectivenessResponse {
    /// The remediation's correlation id (its RemediationRequest name).
    #[schema(example = "rr-cpu-7f3a")]
    pub correlation_id: String,
    /// 0 when the assessment ended in `SpecDrift`; otherwise Σ scoreᵢ·weightᵢ / Σ weightᵢ over
    /// the components that are assessed and have a score (health 0.40, alert 0.35, metrics
    /// 0.25), not rounded; null when none has. Always present.
    #[schema(value_type = Option<f64>, required = true, example = 0.45)]
    pub score: Option<Number>,
    pub components: EffectivenessComponents,
    /// The spec hashes of the last hash event that named one; `{}` without one. Does not
    /// affect the score.
    pub hash_comparison: HashComparisonDto,
    /// `no_data` (nothing assessed), `in_progress` (assessed, not completed) or the completion
    /// reason exactly as written: `Full`, `Partial`, `SpecDrift`, `Expired`, `NoExecution`,
    /// `MetricsTimedOut`, `AlertDecayTimeout`, or a legacy value such as `spec_drift`.
    #[schema(example = "Full")]
    pub assessment_status: String,
    /// When this answer was computed (server time, UTC).
    #[schema(value_type = String, format = DateTime, example = "2026-08-22T12:00:00.123456Z")]
    pub computed_at: String,
}

/// Each component's assessed flag, last score and last details. A score is shown even when
/// its component is not assessed (it then does not count).
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectivenessComponents {
    pub health_assessed: bool,
    #[schema(value_type = Option<f64>, required = true)]
    pub health_score: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_details: Option<String>,
    pub alert_assessed: bool,
    #[schema(value_type = Option<f64>, required = true)]
    pub alert_score: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_details: Option<String>,
    pub metrics_assessed: bool,
    #[schema(value_type = Option<f64>, required = true)]
    pub metrics_score: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_details: Option<String>,
}

/// Spec hashes before and after the remediation; each field absent when unknown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HashComparison)]
pub struct HashComparisonDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sha256:aa11")]
    pub pre_remediation_spec_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sha256:bb22")]
    pub post_remediation_spec_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_match: Option<bool>,
}

/// A score as the original's JSON writes it: a whole number without a fraction (`1`, not
/// `1.0`), so clients comparing bodies see the same text.
pub(crate) fn number(score: Option<f64>) -> Option<Number> {
    score.and_then(|s| {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every whole f64 below is an i64
        if s.fract() == 0.0 && s.abs() < EXACT {
            Some(Number::from(s as i64))
        } else {
            Number::from_f64(s)
        }
    })
}

impl From<&HashComparison> for HashComparisonDto {
    fn from(h: &HashComparison) -> Self {
        Self {
            pre_remediation_spec_hash: h.pre_remediation_spec_hash.clone(),
            post_remediation_spec_hash: h.post_remediation_spec_hash.clone(),
            hash_match: h.hash_match,
        }
    }
}

impl From<&EffectivenessReport> for EffectivenessResponse {
    fn from(r: &EffectivenessReport) -> Self {
        let e = &r.effectiveness;
        let parts = |c: &ComponentAssessment| (c.assessed, number(c.score), c.details.clone());
        let (health_assessed, health_score, health_details) = parts(&e.health);
        let (alert_assessed, alert_score, alert_details) = parts(&e.alert);
        let (metrics_assessed, metrics_score, metrics_details) = parts(&e.metrics);
        Self {
            correlation_id: r.correlation_id.as_str().to_owned(),
            score: number(e.score),
            components: EffectivenessComponents {
                health_assessed,
                health_score,
                health_details,
                alert_assessed,
                alert_score,
                alert_details,
                metrics_assessed,
                metrics_score,
                metrics_details,
            },
            hash_comparison: HashComparisonDto::from(&e.hash_comparison),
            assessment_status: e.status.as_str().to_owned(),
            computed_at: r.computed_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

/// The effectiveness score of one remediation.
///
/// Computed on each request from the correlation's events of category `effectiveness`, oldest
/// first: the health, alert and metrics assessments (a component counts once an event says
/// `assessed: true` and it has a numeric score; the last score and details win), the last hash
/// event naming a hash, and the completion reason (`SpecDrift` is sticky and forces the score
/// to 0). 404 when the correlation has no effectiveness event, even if it has others; a
/// lone `effectiveness.assessment.scheduled` gives 200 with `no_data`.
#[utoipa::path(
    get, path = "/api/v1/effectiveness/{correlation_id}", tag = "Remediation Read API",
    operation_id = "getEffectivenessScore",
    params(("correlation_id" = String, Path, description = "The remediation's correlation id (its RemediationRequest name)")),
    responses(
        (status = 200, description = "The effectiveness", body = EffectivenessResponse),
        (status = 400, description = "correlation_id is invalid (longer than 255 characters, or holding NUL)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No effectiveness event for this correlation (`effectiveness/not-found`)", body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "https://kubernaut.io/problems/effectiveness/not-found",
                "title": "Effectiveness Assessment Not Found",
                "status": 404,
                "detail": "No effectiveness assessment events found for correlation_id: rr-cpu-7f3a",
                "instance": "/api/v1/effectiveness/rr-cpu-7f3a"
            })),
    )
)]
pub(crate) async fn effectiveness(
    State(state): State<AppState>,
    Path(correlation_id): Path<String>,
) -> Result<Json<EffectivenessResponse>, ApiError> {
    match state.audit.effectiveness(&correlation_id).await? {
        Some(report) => Ok(Json(EffectivenessResponse::from(&report))),
        // The original's problem type and wording, so its clients' checks keep working.
        None => Err(ApiError::Specific {
            status: StatusCode::NOT_FOUND,
            slug: "effectiveness/not-found",
            title: "Effectiveness Assessment Not Found",
            detail: format!(
                "No effectiveness assessment events found for correlation_id: {correlation_id}"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_scores_print_without_a_fraction_and_others_as_they_are() {
        let text = |s| serde_json::to_string(&number(Some(s))).unwrap_or_default();
        assert_eq!(text(1.0), "1");
        assert_eq!(text(0.0), "0");
        assert_eq!(text(0.45), "0.45");
        assert_eq!(text(0.7999999999999999), "0.7999999999999999");
        assert_eq!(number(None), None);
    }
}
