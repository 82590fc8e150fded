use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::audit::{AuditEventDraft, EventRules};

fn event(category: &str, event_type: &str, second: i64, data: Value) -> AuditEvent {
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    AuditEventDraft {
        version: "1.0".into(),
        event_type: event_type.into(),
        event_timestamp: (start + Duration::seconds(second)).to_rfc3339(),
        event_category: category.into(),
        event_action: "done".into(),
        event_outcome: "success".into(),
        actor_type: Some("service".into()),
        actor_id: Some(category.into()),
        correlation_id: "rr-1".into(),
        event_data: data.into(),
        ..AuditEventDraft::default()
    }
    .validate(
        &EventRules::default(),
        start + Duration::days(1),
        EventId::from_uuid(Uuid::now_v7()),
    )
    .map(|n| n.event)
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A whole remediation, one event a phase (plus a notification), at the given seconds.
fn remediation(at: [i64; 8]) -> Vec<AuditEvent> {
    vec![
        event(
            "gateway",
            "gateway.signal.received",
            at[0],
            json!({"signal_name": "HighCPULoad", "resource_kind": "Deployment", "resource_name": "api"}),
        ),
        event(
            "signalprocessing",
            "signalprocessing.signal.processed",
            at[1],
            json!({"environment": "prod"}),
        ),
        event(
            "analysis",
            "aianalysis.analysis.completed",
            at[2],
            json!({"workflow_id": "wf-scale", "confidence": 0.88, "approval_required": false}),
        ),
        event(
            "orchestration",
            "remediation.workflow_created",
            at[3],
            json!({"workflow_id": "wf-scale", "action_type": "ScaleReplicas", "target_resource": "prod/Deployment/api"}),
        ),
        event(
            "workflowexecution",
            "workflowexecution.workflow.completed",
            at[4],
            json!({"workflow_id": "wf-scale"}),
        ),
        event(
            "notification",
            "notification.message.sent",
            at[5],
            json!({"channel": "slack"}),
        ),
        event(
            "effectiveness",
            "effectiveness.assessment.completed",
            at[6],
            json!({"reason": "Full"}),
        ),
        event(
            "orchestration",
            "orchestrator.lifecycle.completed",
            at[7],
            json!({"outcome": "Success", "crd_outcome": "Remediated"}),
        ),
    ]
}

const ON_TIME: [i64; 8] = [0, 5, 90, 92, 190, 200, 720, 725];

/// A day after the remediations start: whatever has not happened by then is overdue.
fn later() -> DateTime<Utc> {
    at(86_400)
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap_or_default()
}

fn id_of(events: &[AuditEvent], event_type: &str) -> EventId {
    events
        .iter()
        .find(|e| e.event_type.as_str() == event_type)
        .map(|e| e.event_id)
        .unwrap_or_else(|| panic!("no {event_type}"))
}

#[test]
fn a_whole_remediation_on_time_is_complete() {
    let timeline = build_timeline(remediation(ON_TIME), &LateAfter::default(), later());
    let v = &timeline.verdict;
    assert!(v.complete, "{v:?}");
    assert!(v.missing.is_empty() && v.out_of_order.is_empty() && v.late.is_empty());
    assert_eq!(
        v.summary,
        "Complete: every expected phase recorded, in order and on time."
    );
    let phases: Vec<Phase> = timeline.steps.iter().map(|s| s.phase).collect();
    assert_eq!(
        phases,
        [
            Phase::Signal,
            Phase::Processing,
            Phase::Analysis,
            Phase::Workflow,
            Phase::Execution,
            Phase::Notification,
            Phase::Effectiveness,
            Phase::Completion
        ]
    );
    // Approval was not asked for, so it is neither expected nor missing.
    let approval = &timeline.phases[Phase::Approval as usize];
    assert!(!approval.expected && approval.first.is_none());
    assert_eq!(
        timeline.steps[2].since_previous,
        Some(Duration::seconds(85))
    );
    assert_eq!(
        timeline.phases[Phase::Workflow as usize].since,
        Some((Phase::Analysis, Duration::seconds(2)))
    );
    assert_eq!(
        timeline.steps[0].line,
        "Signal HighCPULoad received for Deployment/api by service/gateway; outcome success"
    );
    assert_eq!(
        timeline.steps[7].line,
        "Remediation completed: Success, Remediated by service/orchestration; outcome success"
    );
}

#[test]
fn a_missing_execution_is_named_as_a_gap() {
    let mut events = remediation(ON_TIME);
    events.retain(|e| e.event_category != EventCategory::WorkflowExecution);
    let v = build_timeline(events, &LateAfter::default(), later()).verdict;
    assert!(!v.complete);
    assert_eq!(v.missing, [Phase::Execution]);
    assert!(v.out_of_order.is_empty() && v.late.is_empty(), "{v:?}");
    assert_eq!(
        v.summary,
        "Not complete: no event recorded for the expected phase(s) execution (a gap in the trail, not proof that nothing happened)."
    );
}

#[test]
fn effectiveness_before_execution_is_out_of_order() {
    let events = remediation([0, 5, 90, 92, 700, 705, 600, 725]);
    let effectiveness = id_of(&events, "effectiveness.assessment.completed");
    let v = build_timeline(events, &LateAfter::default(), later()).verdict;
    assert_eq!(
        v.out_of_order,
        [OutOfOrder {
            phase: Phase::Effectiveness,
            event_id: effectiveness,
            should_follow: vec![Phase::Execution],
        }]
    );
    assert!(v.missing.is_empty() && v.late.is_empty() && !v.complete);
    assert_eq!(
        v.summary,
        "Not complete: effectiveness began before execution."
    );
}

#[test]
fn completion_and_effectiveness_may_come_in_either_order_and_notifications_anywhere() {
    // The orchestrator may close the lifecycle before the monitor assesses; a notification
    // may go out before the execution.
    let events = remediation([0, 5, 90, 92, 190, 91, 900, 300]);
    let v = build_timeline(events, &LateAfter::default(), later()).verdict;
    assert!(v.complete, "{v:?}");
}

#[test]
fn a_late_completion_says_how_late_against_which_limit() {
    let events = remediation([0, 5, 90, 92, 190, 200, 720, 720 + 7200]);
    let completion = id_of(&events, "orchestrator.lifecycle.completed");
    let v = build_timeline(events, &LateAfter::default(), later()).verdict;
    assert_eq!(
        v.late,
        [Late {
            phase: Phase::Completion,
            event_id: completion,
            after: Phase::Effectiveness,
            took: Duration::hours(2),
            limit: Duration::hours(1),
        }]
    );
    assert!(v.missing.is_empty() && v.out_of_order.is_empty() && !v.complete);
    assert_eq!(
        v.summary,
        "Not complete: completion began 2h after effectiveness (expected within 1h)."
    );
    // The limit is configurable: three hours make the same trail on time.
    let relaxed = LateAfter::parse("completion=3h").unwrap_or_default();
    let events = remediation([0, 5, 90, 92, 190, 200, 720, 720 + 7200]);
    assert!(build_timeline(events, &relaxed, later()).verdict.complete);
}

#[test]
fn approval_is_expected_when_asked_for_and_no_action_needs_no_execution() {
    let mut events = remediation(ON_TIME);
    events[2] = event(
        "analysis",
        "aianalysis.analysis.completed",
        90,
        json!({"workflow_id": "wf-scale", "approval_required": true}),
    );
    let v = build_timeline(events.clone(), &LateAfter::default(), later()).verdict;
    assert_eq!(v.missing, [Phase::Approval]);

    let failed = vec![
        events[0].clone(),
        events[1].clone(),
        event("analysis", "aianalysis.analysis.failed", 90, json!({})),
        event(
            "orchestration",
            "orchestrator.lifecycle.completed",
            95,
            json!({"outcome": "Failed"}),
        ),
    ];
    assert!(
        build_timeline(failed, &LateAfter::default(), later())
            .verdict
            .complete
    );
}

#[test]
fn an_unfinished_remediation_awaits_what_follows_until_it_is_overdue() {
    // Signal, processing, analysis and the workflow chosen at 92 s; nothing since.
    let mut events = remediation(ON_TIME);
    events.truncate(4);
    let v = build_timeline(events.clone(), &LateAfter::default(), at(92 + 600)).verdict;
    assert!(
        v.missing.is_empty() && v.overdue.is_none() && !v.complete,
        "{v:?}"
    );
    assert_eq!(
        v.awaiting,
        [Phase::Execution, Phase::Effectiveness, Phase::Completion]
    );
    assert_eq!(
        v.summary,
        "In progress: nothing missing, out of order or late so far. Still to come: execution, effectiveness, completion."
    );
    // 45 minutes on, the execution (30 min after the workflow by default) is overdue.
    let v = build_timeline(events.clone(), &LateAfter::default(), at(92 + 2_700)).verdict;
    assert_eq!(
        v.overdue,
        Some(Overdue {
            phase: Phase::Execution,
            after: Phase::Workflow,
            waited: Duration::minutes(45),
            limit: Duration::minutes(30),
        })
    );
    assert_eq!(v.awaiting, [Phase::Effectiveness, Phase::Completion]);
    assert_eq!(
        v.summary,
        "Not complete: execution overdue: nothing recorded 45m after workflow (expected within 30m). Still to come: effectiveness, completion."
    );
    // A phase before the furthest one reached is a gap even while under way.
    events.remove(1);
    let v = build_timeline(events, &LateAfter::default(), at(92 + 600)).verdict;
    assert_eq!(v.missing, [Phase::Processing]);
    // Nothing recorded yet: everything is still to come, nothing is a gap.
    let v = build_timeline(Vec::new(), &LateAfter::default(), later()).verdict;
    assert!(v.missing.is_empty() && v.overdue.is_none(), "{v:?}");
    assert_eq!(v.awaiting.len(), 7);
}

#[test]
fn events_of_no_phase_are_listed_not_judged() {
    let mut events = remediation(ON_TIME);
    events.push(event("security", "security.token.rejected", 1, json!({})));
    let timeline = build_timeline(events, &LateAfter::default(), later());
    assert_eq!(timeline.steps[1].phase, Phase::Other);
    assert_eq!(
        timeline.steps[1].line,
        "security.token.rejected (security/done) by service/security; outcome success"
    );
    assert!(timeline.verdict.complete);
}

#[test]
fn late_after_parses_pairs_over_the_defaults() {
    let limits =
        LateAfter::parse(" completion=2h, execution=45m ,approval=off").unwrap_or_default();
    assert_eq!(limits.get(Phase::Completion), Some(Duration::hours(2)));
    assert_eq!(limits.get(Phase::Execution), Some(Duration::minutes(45)));
    assert_eq!(limits.get(Phase::Approval), None);
    assert_eq!(limits.get(Phase::Processing), Some(Duration::minutes(5)));
    assert_eq!(LateAfter::parse(""), Ok(LateAfter::default()));
    assert_eq!(
        LateAfter::parse("completion"),
        Err(LateAfterError::Pair("completion".into()))
    );
    assert_eq!(
        LateAfter::parse("finish=1h"),
        Err(LateAfterError::Phase("finish".into()))
    );
    assert_eq!(
        LateAfter::parse("completion=soon"),
        Err(LateAfterError::Duration("soon".into()))
    );
    assert_eq!(
        LateAfter::parse("completion=0"),
        Err(LateAfterError::Duration("0".into()))
    );
}

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(human_duration(Duration::milliseconds(90)), "90ms");
    assert_eq!(human_duration(Duration::seconds(3723)), "1h2m3s");
    assert_eq!(human_duration(Duration::seconds(90_000)), "1d1h");
    assert_eq!(human_duration(Duration::seconds(-5)), "-5s");
}
