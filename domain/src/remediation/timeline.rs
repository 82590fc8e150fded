//! The remediation timeline: one correlation's events as the phases of the remediation
//! lifecycle, each with a plain-language line, and a verdict against the lifecycle contract
//! (which expected phases are missing, which came out of order, which came late), so that a
//! gap in the trail is never read as "nothing happened". Pure: the caller hands in the events.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::window::HistoryWindow;
use crate::audit::{AuditEvent, EventCategory, EventId};

#[path = "timeline_text.rs"]
mod text;

pub use text::human_duration;

/// A phase of the remediation lifecycle (the reference's §1), in the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Signal,
    Processing,
    Analysis,
    Approval,
    Workflow,
    Execution,
    Notification,
    Effectiveness,
    Completion,
    /// Events of no lifecycle phase (security, API frontend, ...): listed, never judged.
    Other,
}

impl Phase {
    /// The lifecycle's phases in the contract's order (without [`Phase::Other`]).
    pub const LIFECYCLE: [Phase; 9] = [
        Phase::Signal,
        Phase::Processing,
        Phase::Analysis,
        Phase::Approval,
        Phase::Workflow,
        Phase::Execution,
        Phase::Notification,
        Phase::Effectiveness,
        Phase::Completion,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Signal => "signal",
            Phase::Processing => "processing",
            Phase::Analysis => "analysis",
            Phase::Approval => "approval",
            Phase::Workflow => "workflow",
            Phase::Execution => "execution",
            Phase::Notification => "notification",
            Phase::Effectiveness => "effectiveness",
            Phase::Completion => "completion",
            Phase::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        Phase::LIFECYCLE.into_iter().find(|p| p.as_str() == text)
    }

    /// Where the phase must fall in time: a phase may not begin before any phase of a lower
    /// rank has begun. Notifications are sent at any point (approval asked, escalation,
    /// completion) and the effectiveness monitor may finish before or after the orchestrator
    /// closes the lifecycle, so those have no rank against each other.
    const fn rank(self) -> Option<u8> {
        match self {
            Phase::Signal => Some(0),
            Phase::Processing => Some(1),
            Phase::Analysis => Some(2),
            Phase::Approval => Some(3),
            Phase::Workflow => Some(4),
            Phase::Execution => Some(5),
            Phase::Effectiveness | Phase::Completion => Some(6),
            Phase::Notification | Phase::Other => None,
        }
    }

    /// The phase an event belongs to: by its type where the orchestrator's events span
    /// several phases, by its category otherwise.
    pub fn of(event: &AuditEvent) -> Phase {
        let event_type = event.event_type.as_str();
        match event_type {
            "orchestrator.lifecycle.completed" => return Phase::Completion,
            "remediation.workflow_created" => return Phase::Workflow,
            t if t.starts_with("orchestrator.approval.") => return Phase::Approval,
            t if t.starts_with("orchestrator.lifecycle.") => return Phase::Processing,
            _ => {}
        }
        match event.event_category {
            EventCategory::Gateway => Phase::Signal,
            EventCategory::SignalProcessing => Phase::Processing,
            EventCategory::Analysis | EventCategory::AiAgent => Phase::Analysis,
            EventCategory::Approval => Phase::Approval,
            EventCategory::Workflow => Phase::Workflow,
            EventCategory::WorkflowExecution | EventCategory::Execution => Phase::Execution,
            EventCategory::Notification => Phase::Notification,
            EventCategory::Effectiveness => Phase::Effectiveness,
            EventCategory::Orchestration
            | EventCategory::ActionType
            | EventCategory::ApiFrontend
            | EventCategory::Security
            | EventCategory::AgentSession => Phase::Other,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest each phase may take to begin after the phase before it (in time) began;
/// `None`: never late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateAfter([Option<Duration>; 9]);

/// Why a `phase=duration` list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LateAfterError {
    #[error("`{0}` is not `phase=duration`")]
    Pair(String),
    #[error(
        "unknown phase `{0}` (one of signal, processing, analysis, approval, workflow, execution, notification, effectiveness, completion)"
    )]
    Phase(String),
    #[error("`{0}` is not a positive duration (`90s`, `15m`, `2h`, `1d`) or `off`")]
    Duration(String),
}

impl Default for LateAfter {
    /// A signal is processed and analysed in minutes; a human approval may take an hour; the
    /// effectiveness monitor waits for the target to settle (minutes) before it assesses.
    fn default() -> Self {
        let m = Duration::minutes;
        let mut limits = [None; 9];
        for (phase, limit) in [
            (Phase::Processing, m(5)),
            (Phase::Analysis, m(15)),
            (Phase::Approval, m(60)),
            (Phase::Workflow, m(60)),
            (Phase::Execution, m(30)),
            (Phase::Notification, m(60)),
            (Phase::Effectiveness, m(60)),
            (Phase::Completion, m(60)),
        ] {
            limits[phase as usize] = Some(limit);
        }
        Self(limits)
    }
}

impl LateAfter {
    /// The limit of one phase.
    pub fn get(&self, phase: Phase) -> Option<Duration> {
        self.0.get(phase as usize).copied().flatten()
    }

    /// The defaults with `phase=duration` pairs over them, comma-separated
    /// (`completion=2h,execution=45m`); `off` disables a phase's check. Empty: the defaults.
    ///
    /// # Errors
    /// The first malformed pair, unknown phase or bad duration.
    pub fn parse(text: &str) -> Result<Self, LateAfterError> {
        let mut limits = Self::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| LateAfterError::Pair(pair.to_owned()))?;
            let phase =
                Phase::parse(name.trim()).ok_or_else(|| LateAfterError::Phase(name.to_owned()))?;
            let value = value.trim();
            limits.0[phase as usize] = if value == "off" {
                None
            } else {
                let window = HistoryWindow::parse(value)
                    .map_err(|_| LateAfterError::Duration(value.to_owned()))?;
                Some(window.as_duration())
            };
        }
        Ok(limits)
    }
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineStep {
    pub phase: Phase,
    pub event_id: EventId,
    pub event_type: String,
    pub at: DateTime<Utc>,
    /// `actor_type/actor_id`, whichever the event names.
    pub actor: Option<String>,
    pub outcome: String,
    /// Since the step before (absent for the first).
    pub since_previous: Option<Duration>,
    /// What happened, in one sentence.
    pub line: String,
}

/// One lifecycle phase: whether the contract expects it here and when it began.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSummary {
    pub phase: Phase,
    pub expected: bool,
    /// The phase's first event; `None` when it has none.
    pub first: Option<(EventId, DateTime<Utc>)>,
    pub events: usize,
    /// The phase that began just before this one, and how long before.
    pub since: Option<(Phase, Duration)>,
}

/// An expected phase that began before a phase the contract puts ahead of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrder {
    pub phase: Phase,
    pub event_id: EventId,
    /// The phases it should have followed, in the contract's order.
    pub should_follow: Vec<Phase>,
}

/// A phase that began later after the previous one than its limit allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    pub phase: Phase,
    pub event_id: EventId,
    pub after: Phase,
    pub took: Duration,
    pub limit: Duration,
}

/// The next expected phase of a remediation still under way, when its limit since the last
/// phase has passed with nothing recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub phase: Phase,
    /// The phase that began last.
    pub after: Phase,
    pub waited: Duration,
    pub limit: Duration,
}

/// How the trail measures up to the lifecycle contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The lifecycle completed with no phase missing, none out of order, none late.
    pub complete: bool,
    /// Expected phases without an event where one should be by now (the lifecycle completed,
    /// or a later phase began), in the contract's order.
    pub missing: Vec<Phase>,
    pub out_of_order: Vec<OutOfOrder>,
    pub late: Vec<Late>,
    /// A remediation still under way: the expected phases after the last one recorded, not
    /// yet due (the next one's limit since the last phase has not passed). Not gaps.
    pub awaiting: Vec<Phase>,
    /// A remediation still under way whose next expected phase is past its limit.
    pub overdue: Option<Overdue>,
    /// The verdict in one sentence.
    pub summary: String,
}

/// A correlation's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Every event, oldest first (`event_timestamp`, then `event_id`).
    pub steps: Vec<TimelineStep>,
    /// The lifecycle's phases in the contract's order.
    pub phases: Vec<PhaseSummary>,
    pub verdict: Verdict,
}

/// The phases the contract expects of this remediation. Signal, processing, analysis and
/// completion always; approval when asked for (by the analysis or the orchestrator); workflow,
/// execution and effectiveness unless the remediation ended before any action: the analysis
/// failed, the approval was rejected or expired, or the orchestrator closed it as needing no
/// action or a manual review. Notifications are never required.
fn expected(events: &[AuditEvent]) -> [bool; 9] {
    let data = |e: &AuditEvent, key: &str| e.event_data.as_map().get(key).cloned();
    let any = |f: &dyn Fn(&AuditEvent) -> bool| events.iter().any(f);
    let approval = any(&|e| {
        e.event_type.as_str() == "orchestrator.approval.requested"
            || (Phase::of(e) == Phase::Analysis
                && data(e, "approval_required") == Some(Value::Bool(true)))
    });
    let no_action = any(&|e| match e.event_type.as_str() {
        "aianalysis.analysis.failed" | "orchestrator.approval.rejected" => true,
        "webhook.remediationapprovalrequest.decided" => {
            data(e, "decision") == Some(Value::from("Rejected"))
        }
        "orchestrator.lifecycle.completed" => matches!(
            data(e, "crd_outcome").as_ref().and_then(Value::as_str),
            Some("NoActionRequired" | "ManualReviewRequired")
        ),
        _ => false,
    });
    Phase::LIFECYCLE.map(|phase| match phase {
        Phase::Signal | Phase::Processing | Phase::Analysis | Phase::Completion => true,
        Phase::Approval => approval,
        Phase::Workflow | Phase::Execution | Phase::Effectiveness => !no_action,
        Phase::Notification | Phase::Other => false,
    })
}

/// The timeline of one correlation's events (any order; they are sorted here), judged at
/// `now` (a remediation still under way is awaited, not missing, until its next phase is
/// overdue).
pub fn build_timeline(
    mut events: Vec<AuditEvent>,
    limits: &LateAfter,
    now: DateTime<Utc>,
) -> Timeline {
    events.sort_by_key(|e| (e.event_timestamp, e.event_id));
    let expected = expected(&events);

    let mut steps = Vec::with_capacity(events.len());
    let mut previous: Option<DateTime<Utc>> = None;
    let mut phases: Vec<PhaseSummary> = Phase::LIFECYCLE
        .iter()
        .zip(expected)
        .map(|(&phase, expected)| PhaseSummary {
            phase,
            expected,
            first: None,
            events: 0,
            since: None,
        })
        .collect();
    // The most recently begun phase, for each new phase's "since".
    let mut last_begun: Option<(Phase, DateTime<Utc>)> = None;
    for event in &events {
        let phase = Phase::of(event);
        let at = *event.event_timestamp.as_datetime();
        if let Some(summary) = phases
            .get_mut(phase as usize)
            .filter(|_| phase != Phase::Other)
        {
            summary.events += 1;
            if summary.first.is_none() {
                summary.first = Some((event.event_id, at));
                summary.since = last_begun.map(|(p, t)| (p, at - t));
                last_begun = Some((phase, at));
            }
        }
        steps.push(TimelineStep {
            phase,
            event_id: event.event_id,
            event_type: event.event_type.as_str().to_owned(),
            at,
            actor: text::actor(event),
            outcome: event.event_outcome.as_str().to_owned(),
            since_previous: previous.map(|p| at - p),
            line: text::line(event),
        });
        previous = Some(at);
    }

    let verdict = judge(&phases, limits, last_begun, now);
    Timeline {
        steps,
        phases,
        verdict,
    }
}

fn begun(p: &PhaseSummary) -> Option<(&PhaseSummary, EventId, DateTime<Utc>)> {
    p.first.map(|(id, at)| (p, id, at))
}

fn judge(
    phases: &[PhaseSummary],
    limits: &LateAfter,
    last_begun: Option<(Phase, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Verdict {
    let absent = phases.iter().filter(|p| p.expected && p.first.is_none());
    // Under way (not completed): the absent phases from the furthest one reached onwards are
    // still to come; those before it are gaps.
    let completed = phases
        .iter()
        .any(|p| p.phase == Phase::Completion && p.first.is_some());
    let reached = phases
        .iter()
        .filter(|p| p.first.is_some())
        .filter_map(|p| p.phase.rank())
        .max();
    let to_come = |p: &PhaseSummary| {
        !completed
            && p.phase
                .rank()
                .is_some_and(|r| reached.is_none_or(|m| r >= m))
    };
    let missing: Vec<Phase> = absent
        .clone()
        .filter(|p| !to_come(p))
        .map(|p| p.phase)
        .collect();
    let mut awaiting: Vec<Phase> = absent.filter(|p| to_come(p)).map(|p| p.phase).collect();
    let overdue = match (awaiting.first(), last_begun) {
        (Some(&phase), Some((after, at))) => limits
            .get(phase)
            .filter(|limit| now - at > *limit)
            .map(|limit| Overdue {
                phase,
                after,
                waited: now - at,
                limit,
            }),
        _ => None,
    };
    if overdue.is_some() {
        awaiting.remove(0);
    }
    let mut out_of_order = Vec::new();
    for (summary, event_id, at) in phases.iter().filter_map(begun) {
        let Some(rank) = summary.phase.rank() else {
            continue;
        };
        let should_follow: Vec<Phase> = phases
            .iter()
            .filter_map(begun)
            .filter(|(earlier, _, earlier_at)| {
                earlier.phase.rank().is_some_and(|r| r < rank) && *earlier_at > at
            })
            .map(|(earlier, _, _)| earlier.phase)
            .collect();
        if !should_follow.is_empty() {
            out_of_order.push(OutOfOrder {
                phase: summary.phase,
                event_id,
                should_follow,
            });
        }
    }
    let late: Vec<Late> = phases
        .iter()
        .filter_map(|p| {
            let (event_id, _) = p.first?;
            let (after, took) = p.since?;
            let limit = limits.get(p.phase)?;
            (took > limit).then_some(Late {
                phase: p.phase,
                event_id,
                after,
                took,
                limit,
            })
        })
        .collect();
    let complete = missing.is_empty()
        && out_of_order.is_empty()
        && late.is_empty()
        && awaiting.is_empty()
        && overdue.is_none();
    let summary = text::summary(&missing, &out_of_order, &late, &awaiting, overdue.as_ref());
    Verdict {
        complete,
        missing,
        out_of_order,
        late,
        awaiting,
        overdue,
        summary,
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
