//! `GET /api/v1/audit/correlations/{correlation_id}/timeline`: a remediation's events as the
//! phases of its lifecycle, in plain language, with a completeness verdict.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use datastorage_application::audit::RemediationTimeline;
use datastorage_domain::audit::EventId;
use datastorage_domain::remediation::{Phase, human_duration};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::problem::{ApiError, Problem};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/audit/correlations/{correlation_id}/timeline",
        get(timeline),
    )
}

/// A phase of the remediation lifecycle; `other` for events of none (listed, never judged).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimelinePhase {
    Signal,
    Processing,
    Analysis,
    Approval,
    Workflow,
    Execution,
    Notification,
    Effectiveness,
    Completion,
    Other,
}

impl From<Phase> for TimelinePhase {
    fn from(p: Phase) -> Self {
        match p {
            Phase::Signal => Self::Signal,
            Phase::Processing => Self::Processing,
            Phase::Analysis => Self::Analysis,
            Phase::Approval => Self::Approval,
            Phase::Workflow => Self::Workflow,
            Phase::Execution => Self::Execution,
            Phase::Notification => Self::Notification,
            Phase::Effectiveness => Self::Effectiveness,
            Phase::Completion => Self::Completion,
            Phase::Other => Self::Other,
        }
    }
}

/// A remediation's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineResponse {
    #[schema(example = "rr-cpu-7f3a")]
    pub correlation_id: String,
    /// The correlation had more events than a trail returns; the timeline and its verdict
    /// cover the oldest ones only.
    pub truncated: bool,
    pub verdict: VerdictDto,
    /// The lifecycle's phases in the contract's order, present or not.
    pub phases: Vec<PhaseDto>,
    /// Every event, oldest first (`event_timestamp`, then `event_id`).
    pub steps: Vec<StepDto>,
}

/// How the trail measures up to the lifecycle contract.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineVerdict)]
pub struct VerdictDto {
    /// The lifecycle completed with nothing missing, nothing out of order, nothing late.
    pub complete: bool,
    /// Expected phases with no event where one should be by now (the lifecycle completed, or
    /// a later phase began): a gap in the trail, not proof that nothing happened.
    pub missing: Vec<TimelinePhase>,
    pub out_of_order: Vec<OutOfOrderDto>,
    pub late: Vec<LateDto>,
    /// A remediation still under way: the expected phases after the last one recorded that
    /// are not yet due. Not gaps.
    pub awaiting: Vec<TimelinePhase>,
    /// A remediation still under way whose next expected phase is past its limit
    /// (`DS_TIMELINE__LATE_AFTER`) since the last phase, judged at the time of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<OverdueDto>,
    /// The verdict in one sentence.
    #[schema(
        example = "Not complete: completion began 2h after effectiveness (expected within 1h)."
    )]
    pub summary: String,
}

/// An expected phase that began before a phase the contract puts ahead of it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineOutOfOrder)]
pub struct OutOfOrderDto {
    pub phase: TimelinePhase,
    /// The phase's first event.
    pub event_id: Uuid,
    /// The phases it began before although it should have followed them.
    pub should_follow: Vec<TimelinePhase>,
}

/// A phase that began later after the phase before it than its limit
/// (`DS_TIMELINE__LATE_AFTER`) allows.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineLate)]
pub struct LateDto {
    pub phase: TimelinePhase,
    /// The phase's first event.
    pub event_id: Uuid,
    /// The phase that began just before it.
    pub after: TimelinePhase,
    pub took_ms: i64,
    pub limit_ms: i64,
}

/// The next expected phase of an unfinished remediation, past its limit with nothing
/// recorded.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineOverdue)]
pub struct OverdueDto {
    pub phase: TimelinePhase,
    /// The phase that began last.
    pub after: TimelinePhase,
    /// From the last phase's first event to the request.
    pub waited_ms: i64,
    pub limit_ms: i64,
}

/// One lifecycle phase.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelinePhaseSummary)]
pub struct PhaseDto {
    pub phase: TimelinePhase,
    /// Whether the contract expects this phase of this remediation (approval only when asked
    /// for; workflow, execution and effectiveness unless it ended before any action;
    /// notification never).
    pub expected: bool,
    pub event_count: usize,
    /// The phase's first event; absent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_event_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub began_at: Option<DateTime<Utc>>,
    /// The phase that began just before this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_phase: Option<TimelinePhase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_previous_phase_ms: Option<i64>,
}

/// One event of the timeline.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineStep)]
pub struct StepDto {
    pub phase: TimelinePhase,
    pub event_id: Uuid,
    /// The event's leaf index in the transparency log; absent until it is sequenced.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0)]
    pub log_index: Option<u64>,
    #[schema(example = "remediation.workflow_created")]
    pub event_type: String,
    pub event_timestamp: DateTime<Utc>,
    /// `actor_type/actor_id`, or whichever of the two the event names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub outcome: String,
    /// Since the step before (absent for the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_previous_ms: Option<i64>,
    /// What happened, who did it, the outcome and the time since the step before.
    #[schema(
        example = "Workflow wf-scale chosen: ScaleReplicas on prod/Deployment/api by service/remediationorchestrator; outcome success (+2s)"
    )]
    pub line: String,
}

fn uuid(id: EventId) -> Uuid {
    *id.as_uuid()
}

fn ms(d: Duration) -> i64 {
    d.num_milliseconds()
}

impl From<&RemediationTimeline> for TimelineResponse {
    fn from(r: &RemediationTimeline) -> Self {
        let t = &r.timeline;
        let v = &t.verdict;
        let phases = |ps: &[Phase]| ps.iter().map(|&p| p.into()).collect::<Vec<_>>();
        Self {
            correlation_id: r.correlation_id.as_str().to_owned(),
            truncated: r.truncated,
            verdict: VerdictDto {
                complete: v.complete,
                missing: phases(&v.missing),
                out_of_order: v
                    .out_of_order
                    .iter()
                    .map(|o| OutOfOrderDto {
                        phase: o.phase.into(),
                        event_id: uuid(o.event_id),
                        should_follow: phases(&o.should_follow),
                    })
                    .collect(),
                late: v
                    .late
                    .iter()
                    .map(|l| LateDto {
                        phase: l.phase.into(),
                        event_id: uuid(l.event_id),
                        after: l.after.into(),
                        took_ms: ms(l.took),
                        limit_ms: ms(l.limit),
                    })
                    .collect(),
                awaiting: phases(&v.awaiting),
                overdue: v.overdue.as_ref().map(|o| OverdueDto {
                    phase: o.phase.into(),
                    after: o.after.into(),
                    waited_ms: ms(o.waited),
                    limit_ms: ms(o.limit),
                }),
                summary: v.summary.clone(),
            },
            phases: t
                .phases
                .iter()
                .map(|p| PhaseDto {
                    phase: p.phase.into(),
                    expected: p.expected,
                    event_count: p.events,
                    first_event_id: p.first.map(|(id, _)| uuid(id)),
                    began_at: p.first.map(|(_, at)| at),
                    after_phase: p.since.map(|(after, _)| after.into()),
                    since_previous_phase_ms: p.since.map(|(_, d)| ms(d)),
                })
                .collect(),
            steps: t
                .steps
                .iter()
                .map(|s| StepDto {
                    phase: s.phase.into(),
                    event_id: uuid(s.event_id),
                    log_index: None,
                    event_type: s.event_type.clone(),
                    event_timestamp: s.at,
                    actor: s.actor.clone(),
                    outcome: s.outcome.clone(),
                    since_previous_ms: s.since_previous.map(ms),
                    line: match s.since_previous {
                        Some(d) => format!("{} (+{})", s.line, human_duration(d)),
                        None => s.line.clone(),
                    },
                })
                .collect(),
        }
    }
}

/// The remediation timeline of one correlation.
///
/// The correlation's events, oldest first, each placed in a lifecycle phase (signal,
/// processing, analysis, approval, workflow, execution, notification, effectiveness,
/// completion; `other` for none) with one plain-language line and its transparency-log index,
/// then a verdict against the lifecycle contract: which expected phases have no event, which
/// began before a phase they should follow, and which began later after the phase before them
/// than `DS_TIMELINE__LATE_AFTER` allows. A remediation still under way (no lifecycle
/// completion yet) is judged at the time of the request: the phases after the last one
/// recorded are `awaiting`, not missing, until the next one is `overdue`. 404 when the
/// correlation has no event.
#[utoipa::path(
    get, path = "/api/v1/audit/correlations/{correlation_id}/timeline", tag = "Remediation Read API",
    operation_id = "getRemediationTimeline",
    params(("correlation_id" = String, Path, description = "The remediation's correlation id (its RemediationRequest name)")),
    responses(
        (status = 200, description = "The timeline and its verdict", body = TimelineResponse),
        (status = 400, description = "correlation_id is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No event for this correlation", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn timeline(
    State(state): State<AppState>,
    Path(correlation_id): Path<String>,
) -> Result<Json<TimelineResponse>, ApiError> {
    let Some(found) = state.audit.remediation_timeline(&correlation_id).await? else {
        return Err(ApiError::NotFound(format!(
            "no audit event for correlation_id {correlation_id}"
        )));
    };
    let ids: Vec<EventId> = found.timeline.steps.iter().map(|s| s.event_id).collect();
    let indexes = state.log.indexes(&ids).await?;
    let mut body = TimelineResponse::from(&found);
    for (step, id) in body.steps.iter_mut().zip(&ids) {
        step.log_index = indexes.get(id).copied();
    }
    Ok(Json(body))
}
