//! `/api/v1/remediation-history/*`: what was tried before on a target, for the AI
//! investigator's prompt and the orchestrator's ineffective-chain guard (issue 25).

pub mod dto;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use datastorage_domain::remediation::HistoryRequest;

use crate::AppState;
use crate::extract::ApiQuery;
use crate::problem::{ApiError, Problem};
use dto::*;

pub fn router() -> Router<AppState> {
    Router::new().route("/remediation-history/context", get(context))
}

/// Past remediations of a target causally linked to its current spec.
///
/// The original's parameters and response. A remediation (`remediation.workflow_created` for
/// `{targetNamespace}/{targetKind}/{targetName}`, of `clusterId` when given) belongs to the
/// history when it started from `currentSpecHash` (its pre-remediation hash) or produced it
/// (an effectiveness event of its correlation has it as post-remediation hash). Tier 1 holds
/// those opened in `[now − tier1Window, now)`, tier 2 those in `[now − tier2Window, now −
/// tier1Window)`; both always run. `regressionDetected`: some entry's `hashMatch` is
/// `preRemediation`.
///
/// Beyond the original: windows also take days (`7d`, `90d`); `completedAt` is when the
/// remediation's lifecycle completed (`orchestrator.lifecycle.completed`), not when its
/// workflow was created (that is kept while it has not completed), and `outcome` is that
/// completion's outcome; a failed read of either tier is a 503, never a shorter history.
#[utoipa::path(
    get, path = "/api/v1/remediation-history/context", tag = "Remediation History",
    operation_id = "getRemediationHistoryContext",
    params(HistoryQueryParams),
    responses(
        (status = 200, description = "The target's history (two empty chains when none)", body = RemediationHistoryContext),
        (status = 400, description = "`missing-parameter` (a required parameter is absent or empty) or `invalid-parameter` (a window that is not a duration, not positive, or tier 2 not longer than tier 1)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn context(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<HistoryQueryParams>,
) -> Result<Json<RemediationHistoryContext>, ApiError> {
    let request = HistoryRequest::parse(&params.into())?;
    let history = state.audit.remediation_history(&request).await?;
    Ok(Json(history.into()))
}
