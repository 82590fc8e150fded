//! The reference's worked example and the regression rules, over hand-built events.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::audit::{AssessmentStatus, AuditEvent, AuditEventDraft, EventId, EventRules};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(super) fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, day, h, m, s)
        .single()
        .unwrap_or_default()
}

fn category_of(event_type: &str) -> &'static str {
    match event_type.split('.').next().unwrap_or_default() {
        "gateway" => "gateway",
        "aianalysis" => "analysis",
        "remediation" | "orchestrator" => "orchestration",
        "workflowexecution" => "workflowexecution",
        "signalprocessing" => "signalprocessing",
        _ => "effectiveness",
    }
}

fn event_in(
    cluster: Option<&str>,
    corr: &str,
    when: DateTime<Utc>,
    ty: &str,
    data: Value,
) -> AuditEvent {
    let id = Uuid::from_u128(u128::from(NEXT_ID.fetch_add(1, Ordering::Relaxed)));
    AuditEventDraft {
        event_id: Some(id.to_string()),
        version: "1.0".into(),
        event_type: ty.into(),
        event_timestamp: when.to_rfc3339(),
        event_category: category_of(ty).into(),
        event_action: "a".into(),
        event_outcome: "success".into(),
        actor_type: None,
        actor_id: None,
        resource_type: None,
        resource_id: None,
        resource_name: None,
        correlation_id: corr.into(),
        parent_event_id: None,
        parent_event_date: None,
        trace_id: None,
        span_id: None,
        namespace: None,
        cluster_name: cluster.map(str::to_owned),
        severity: None,
        duration_ms: None,
        error_code: None,
        error_message: None,
        event_data: data.into(),
        retention_days: None,
        is_sensitive: None,
    }
    .validate(&EventRules::default(), when, EventId::from_uuid(id))
    .map(|n| n.event)
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn event(corr: &str, when: DateTime<Utc>, ty: &str, data: Value) -> AuditEvent {
    event_in(None, corr, when, ty, data)
}

/// The reference's §4 events, correlation `rr-cpu-7f3a`, on 2026-08-22.
fn worked_example() -> Vec<AuditEvent> {
    let c = "rr-cpu-7f3a";
    vec![
        event(
            c,
            at(22, 10, 0, 0),
            "gateway.signal.received",
            json!({"signal_name":"HighCPULoad","signal_type":"alert","fingerprint":"9c1e","namespace":"prod","resource_kind":"Deployment","resource_name":"api"}),
        ),
        event(
            c,
            at(22, 10, 1, 30),
            "aianalysis.analysis.completed",
            json!({"phase":"Completed","workflow_id":"wf-scale","confidence":0.88,"approval_required":false}),
        ),
        event(
            c,
            at(22, 10, 1, 32),
            WORKFLOW_CREATED,
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:aa11","workflow_id":"wf-scale","action_type":"ScaleReplicas","signal_type":"alert","signal_fingerprint":"9c1e"}),
        ),
        event(
            c,
            at(22, 10, 3, 10),
            "workflowexecution.workflow.completed",
            json!({"workflow_id":"wf-scale","phase":"Completed"}),
        ),
        event(
            c,
            at(22, 10, 8, 0),
            "effectiveness.health.assessed",
            json!({"assessed":true,"score":1.0,"details":"3/3 ready","health_checks":{"pod_running":true,"readiness_pass":true,"restart_delta":0,"crash_loops":false,"oom_killed":false,"pending_count":0}}),
        ),
        event(
            c,
            at(22, 10, 8, 1),
            "effectiveness.hash.computed",
            json!({"pre_remediation_spec_hash":"sha256:aa11","post_remediation_spec_hash":"sha256:bb22","hash_match":false}),
        ),
        event(
            c,
            at(22, 10, 10, 0),
            "effectiveness.alert.assessed",
            json!({"assessed":true,"score":0.0,"details":"still firing","alert_resolution":{"alert_resolved":false,"active_count":1}}),
        ),
        event(
            c,
            at(22, 10, 12, 0),
            "effectiveness.metrics.assessed",
            json!({"assessed":true,"score":0.2,"details":"cpu -20%","metric_deltas":{"cpu_before":0.95,"cpu_after":0.76}}),
        ),
        event(
            c,
            at(22, 10, 12, 1),
            "effectiveness.assessment.completed",
            json!({"reason":"Full"}),
        ),
        event(
            c,
            at(22, 10, 12, 5),
            LIFECYCLE_COMPLETED,
            json!({"outcome":"Success","crd_outcome":"Remediated"}),
        ),
    ]
}

fn params(hash: &str) -> HistoryParams {
    HistoryParams {
        target_kind: Some("Deployment".into()),
        target_name: Some("api".into()),
        target_namespace: Some("prod".into()),
        current_spec_hash: Some(hash.into()),
        ..HistoryParams::default()
    }
}

fn history(p: &HistoryParams, now: DateTime<Utc>, events: &[AuditEvent]) -> RemediationHistory {
    let request = HistoryRequest::parse(p).unwrap_or_else(|e| panic!("{e}"));
    remediation_history(&request, now, events)
}

#[test]
fn the_worked_example_gives_the_references_entry_with_our_completion_time_and_outcome() {
    let h = history(&params("sha256:bb22"), at(22, 12, 0, 0), &worked_example());
    assert_eq!(h.target_resource, "prod/Deployment/api");
    assert!(!h.regression_detected);
    assert!(h.tier2.entries.is_empty());
    assert_eq!(h.tier1.window.to_string(), "24h0m0s");
    assert_eq!(h.tier2.window.to_string(), "2160h0m0s");
    let expected = HistoryEntry {
        remediation_uid: "rr-cpu-7f3a".into(),
        // Ours: the lifecycle's completion (the original says 10:01:32, the workflow's creation).
        completed_at: at(22, 10, 12, 5),
        signal_fingerprint: Some("9c1e".into()),
        signal_type: Some("alert".into()),
        action_type: Some("ScaleReplicas".into()),
        // Ours: the lifecycle completion's outcome (the original passes an absent field on).
        outcome: Some("Success".into()),
        pre_remediation_spec_hash: Some("sha256:aa11".into()),
        post_remediation_spec_hash: Some("sha256:bb22".into()),
        effectiveness_score: Some(0.45),
        assessment_reason: Some("Full".into()),
        signal_resolved: Some(false),
        hash_match: HashMatch::PostRemediation,
        health_checks: Some(HealthChecks {
            pod_running: Some(true),
            readiness_pass: Some(true),
            restart_delta: Some(0),
            crash_loops: Some(false),
            oom_killed: Some(false),
            pending_count: Some(0),
        }),
        metric_deltas: Some(vec![
            ("cpu_after".into(), 0.76),
            ("cpu_before".into(), 0.95),
        ]),
    };
    assert_eq!(h.tier1.entries, vec![expected]);
}

#[test]
fn a_rolled_back_target_is_a_regression_in_tier_1() {
    let h = history(&params("sha256:aa11"), at(22, 12, 0, 0), &worked_example());
    assert!(h.regression_detected);
    assert_eq!(h.tier1.entries.len(), 1);
    assert_eq!(h.tier1.entries[0].hash_match, HashMatch::PreRemediation);
}

#[test]
fn three_days_later_the_entry_is_in_tier_2_and_still_detects_a_regression() {
    let h = history(&params("sha256:aa11"), at(25, 12, 0, 0), &worked_example());
    assert!(h.tier1.entries.is_empty());
    assert_eq!(h.tier2.entries.len(), 1);
    assert_eq!(h.tier2.entries[0].hash_match, HashMatch::PreRemediation);
    assert!(h.regression_detected);
    // A post-remediation match in tier 2 is no regression.
    let h = history(&params("sha256:bb22"), at(25, 12, 0, 0), &worked_example());
    assert_eq!(h.tier2.entries.len(), 1);
    assert!(!h.regression_detected);
}

#[test]
fn another_spec_namespace_or_cluster_finds_nothing() {
    let now = at(22, 12, 0, 0);
    let events = worked_example();
    let mut staging = params("sha256:bb22");
    staging.target_namespace = Some("staging".into());
    let mut other_cluster = params("sha256:bb22");
    other_cluster.cluster_id = Some("c2".into());
    let mut other_kind = params("sha256:aa11");
    other_kind.target_kind = Some("StatefulSet".into());
    for p in [params("sha256:cc33"), staging, other_cluster, other_kind] {
        let h = history(&p, now, &events);
        assert!(
            h.tier1.entries.is_empty() && h.tier2.entries.is_empty(),
            "{p:?}"
        );
        assert!(!h.regression_detected);
    }
}

#[test]
fn the_same_spec_on_an_unrelated_target_or_cluster_is_no_match() {
    let now = at(22, 12, 0, 0);
    let created = |cluster, corr: &str, target: &str| {
        event_in(
            cluster,
            corr,
            at(22, 11, 0, 0),
            WORKFLOW_CREATED,
            json!({"target_resource": target, "pre_remediation_spec_hash": "sha256:same"}),
        )
    };
    let events = vec![
        created(Some("c1"), "rr-here", "prod/Deployment/api"),
        created(Some("c2"), "rr-other-cluster", "prod/Deployment/api"),
        created(Some("c1"), "rr-other-ns", "staging/Deployment/api"),
        created(Some("c1"), "rr-cluster-scoped", "/Deployment/api"),
    ];
    let mut p = params("sha256:same");
    p.cluster_id = Some("c1".into());
    let h = history(&p, now, &events);
    let uids: Vec<_> = h
        .tier1
        .entries
        .iter()
        .map(|e| e.remediation_uid.as_str())
        .collect();
    assert_eq!(uids, ["rr-here"]);
    // Without a cluster, every cluster's remediations of the target count.
    let h = history(&params("sha256:same"), now, &events);
    assert_eq!(h.tier1.entries.len(), 2);
    // A cluster-scoped target is `/Kind/Name`.
    let mut node = params("sha256:same");
    node.target_namespace = None;
    let h = history(&node, now, &events);
    let uids: Vec<_> = h
        .tier1
        .entries
        .iter()
        .map(|e| e.remediation_uid.as_str())
        .collect();
    assert_eq!(uids, ["rr-cluster-scoped"]);
}

#[test]
fn a_later_hash_that_differs_from_the_matching_one_is_none() {
    let c = "rr-drift";
    let events = vec![
        event(
            c,
            at(22, 9, 0, 0),
            WORKFLOW_CREATED,
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:p"}),
        ),
        event(
            c,
            at(22, 9, 5, 0),
            "effectiveness.hash.computed",
            json!({"post_remediation_spec_hash":"sha256:now"}),
        ),
        event(
            c,
            at(22, 9, 9, 0),
            "effectiveness.hash.computed",
            json!({"post_remediation_spec_hash":"sha256:later"}),
        ),
    ];
    let h = history(&params("sha256:now"), at(22, 12, 0, 0), &events);
    assert_eq!(h.tier1.entries[0].hash_match, HashMatch::None);
    assert_eq!(
        h.tier1.entries[0].post_remediation_spec_hash.as_deref(),
        Some("sha256:later")
    );
}

#[test]
fn an_assessment_in_tier_1_links_a_workflow_in_tier_2() {
    let c = "rr-slow";
    let events = vec![
        event(
            c,
            at(20, 9, 0, 0),
            WORKFLOW_CREATED,
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:p"}),
        ),
        event(
            c,
            at(22, 11, 0, 0),
            "effectiveness.hash.computed",
            json!({"pre_remediation_spec_hash":"sha256:p","post_remediation_spec_hash":"sha256:q"}),
        ),
    ];
    let h = history(&params("sha256:q"), at(22, 12, 0, 0), &events);
    assert_eq!(h.tier2.entries.len(), 1);
    assert_eq!(h.tier2.entries[0].hash_match, HashMatch::PostRemediation);
}

#[test]
fn without_a_completion_the_entry_keeps_the_workflow_time_and_its_own_outcome() {
    let c = "rr-running";
    let events = vec![event(
        c,
        at(22, 9, 0, 0),
        WORKFLOW_CREATED,
        json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:p","outcome":"Pending"}),
    )];
    let h = history(&params("sha256:p"), at(22, 12, 0, 0), &events);
    let e = &h.tier1.entries[0];
    assert_eq!(e.completed_at, at(22, 9, 0, 0));
    assert_eq!(e.outcome.as_deref(), Some("Pending"));
    assert_eq!((e.effectiveness_score, &e.assessment_reason), (None, &None));
    assert_eq!(e.post_remediation_spec_hash, None);
}

#[test]
fn a_failed_lifecycle_says_failed_and_entries_sort_by_completion() {
    let created = |c: &str, min| {
        event(
            c,
            at(22, 9, min, 0),
            WORKFLOW_CREATED,
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:p"}),
        )
    };
    let mut failed = event(
        "rr-first-created",
        at(22, 11, 0, 0),
        LIFECYCLE_COMPLETED,
        json!({}),
    );
    failed.event_outcome = crate::audit::EventOutcome::Failure;
    let events = vec![
        created("rr-first-created", 0),
        created("rr-second-created", 10),
        failed,
        event(
            "rr-second-created",
            at(22, 10, 0, 0),
            LIFECYCLE_COMPLETED,
            json!({"outcome":"Success"}),
        ),
    ];
    let h = history(&params("sha256:p"), at(22, 12, 0, 0), &events);
    let got: Vec<_> = h
        .tier1
        .entries
        .iter()
        .map(|e| (e.remediation_uid.as_str(), e.outcome.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("rr-second-created", Some("Success")),
            ("rr-first-created", Some("Failed"))
        ]
    );
}

#[test]
fn tier_bounds_are_half_open_and_days_work_as_windows() {
    let now = at(22, 12, 0, 0);
    let created = |c: &str, when| {
        event(
            c,
            when,
            WORKFLOW_CREATED,
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:p"}),
        )
    };
    let events = vec![
        created("rr-at-now", now),
        created("rr-tier1-start", now - Duration::days(1)),
        created(
            "rr-just-before",
            now - Duration::days(1) - Duration::seconds(1),
        ),
        created("rr-tier2-start", now - Duration::days(7)),
        created("rr-too-old", now - Duration::days(7) - Duration::seconds(1)),
    ];
    let mut p = params("sha256:p");
    p.tier1_window = Some("1d".into());
    p.tier2_window = Some("7d".into());
    let h = history(&p, now, &events);
    let uids = |t: &HistoryTier| {
        t.entries
            .iter()
            .map(|e| e.remediation_uid.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(uids(&h.tier1), ["rr-tier1-start"]);
    assert_eq!(uids(&h.tier2), ["rr-tier2-start", "rr-just-before"]);
    assert_eq!(h.tier2.window.to_string(), "168h0m0s");
}

#[test]
fn effectiveness_weights_renormalise_and_spec_drift_is_sticky() {
    let c = "rr";
    let e = |ty: &str, data: Value| event(c, at(22, 9, 0, 0), ty, data);
    let fold = |events: &[AuditEvent]| Effectiveness::fold(events.iter());
    let two = fold(&[
        e(
            "effectiveness.health.assessed",
            json!({"assessed":true,"score":1.0}),
        ),
        e(
            "effectiveness.alert.assessed",
            json!({"assessed":true,"score":0.0}),
        ),
        e(
            "effectiveness.metrics.assessed",
            json!({"assessed":false,"score":1.0}),
        ),
    ]);
    assert_eq!(two.assessment.score, Some(0.40 / 0.75));
    assert_eq!(two.assessment.status, AssessmentStatus::InProgress);
    assert_eq!(fold(&[]).assessment.score, None);
    assert_eq!(fold(&[]).assessment.status, AssessmentStatus::NoData);
    for order in [["SpecDrift", "Full"], ["Full", "SpecDrift"]] {
        let mut events = vec![e(
            "effectiveness.health.assessed",
            json!({"assessed":true,"score":1.0}),
        )];
        events.extend(
            order
                .iter()
                .map(|r| e("effectiveness.assessment.completed", json!({"reason": r}))),
        );
        let f = fold(&events);
        assert_eq!(
            (f.assessment.score, f.assessment.status.as_str()),
            (Some(0.0), "SpecDrift"),
            "{order:?}"
        );
    }
    let legacy = fold(&[
        e(
            "effectiveness.health.assessed",
            json!({"assessed":true,"score":1.0}),
        ),
        e(
            "effectiveness.assessment.completed",
            json!({"reason":"spec_drift"}),
        ),
    ]);
    assert_eq!(legacy.assessment.score, Some(1.0));
}

#[test]
fn parameters_are_checked_in_the_originals_order() {
    let check = |edit: &dyn Fn(&mut HistoryParams)| {
        let mut p = params("sha256:x");
        edit(&mut p);
        HistoryRequest::parse(&p).err().map(|e| e.to_string())
    };
    let all_bad = |p: &mut HistoryParams| {
        p.target_kind = None;
        p.target_name = Some(String::new());
        p.tier1_window = Some("soon".into());
    };
    assert_eq!(
        check(&all_bad).as_deref(),
        Some("targetKind query parameter is required")
    );
    assert_eq!(
        check(&|p| p.target_name = Some(String::new())).as_deref(),
        Some("targetName query parameter is required")
    );
    assert_eq!(
        check(&|p| p.current_spec_hash = None).as_deref(),
        Some("currentSpecHash query parameter is required")
    );
    assert_eq!(
        check(&|p| p.tier1_window = Some("soon".into())).as_deref(),
        Some("tier1Window must be a valid duration string (e.g. '24h', '7d')")
    );
    assert_eq!(
        check(&|p| p.tier2_window = Some("-1h".into())).as_deref(),
        Some("tier2Window must be a positive duration")
    );
    assert_eq!(
        check(&|p| p.tier2_window = Some("24h".into())).as_deref(),
        Some("tier2Window must be greater than tier1Window")
    );
    assert_eq!(
        check(&|p| p.cluster_id = Some("a\0b".into())).as_deref(),
        Some("clusterId must not contain the NUL character")
    );
    assert_eq!(check(&|p| p.tier1_window = Some(String::new())), None);
}
