use super::*;
use crate::audit::{AuditEventDraft, EventId, EventRules};
use chrono::{DateTime, Duration};
use serde_json::json;
use uuid::Uuid;

fn data(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Folds `(event_type, event_data)` pairs in order.
fn fold(events: &[(&str, Value)]) -> Effectiveness {
    let mut fold = EffectivenessFold::new();
    for (event_type, event_data) in events {
        fold.apply(event_type, &data(event_data.clone()));
    }
    fold.finish()
}

fn assessed(component: &str, score: Value) -> (&'static str, Value) {
    let event_type = match component {
        "health" => event_types::HEALTH_ASSESSED,
        "alert" => event_types::ALERT_ASSESSED,
        _ => event_types::METRICS_ASSESSED,
    };
    (
        event_type,
        json!({"assessed": true, "score": score, "details": component}),
    )
}

fn completed(reason: &str) -> (&'static str, Value) {
    (event_types::ASSESSMENT_COMPLETED, json!({"reason": reason}))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn the_reference_example_scores_0_45_and_keeps_every_field() {
    let e = fold(&[
        (
            event_types::HEALTH_ASSESSED,
            json!({"assessed": true, "score": 1.0, "details": "3/3 ready"}),
        ),
        (
            event_types::HASH_COMPUTED,
            json!({"pre_remediation_spec_hash": "sha256:aa11",
                   "post_remediation_spec_hash": "sha256:bb22", "hash_match": false}),
        ),
        (
            event_types::ALERT_ASSESSED,
            json!({"assessed": true, "score": 0.0, "details": "still firing"}),
        ),
        (
            event_types::METRICS_ASSESSED,
            json!({"assessed": true, "score": 0.2, "details": "cpu -20%"}),
        ),
        completed("Full"),
    ]);
    // Bit-exact, as the original's float64 arithmetic gives it.
    assert_eq!(e.score, Some(0.45));
    assert_eq!(e.status, AssessmentStatus::Completed("Full".into()));
    assert_eq!(e.health.details.as_deref(), Some("3/3 ready"));
    assert_eq!(e.alert.score, Some(0.0));
    assert_eq!(
        e.hash_comparison,
        HashComparison {
            pre_remediation_spec_hash: Some("sha256:aa11".into()),
            post_remediation_spec_hash: Some("sha256:bb22".into()),
            hash_match: Some(false),
        }
    );
}

#[test]
fn every_combination_of_components_renormalises_the_weights() {
    let (h, a, m) = (0.9, 0.5, 0.1);
    let cases: [(bool, bool, bool, Option<f64>); 8] = [
        (false, false, false, None),
        (true, false, false, Some(h)),
        (false, true, false, Some(a)),
        (false, false, true, Some(m)),
        (true, true, false, Some((h * 0.40 + a * 0.35) / 0.75)),
        (true, false, true, Some((h * 0.40 + m * 0.25) / 0.65)),
        (false, true, true, Some((a * 0.35 + m * 0.25) / 0.60)),
        (true, true, true, Some(h * 0.40 + a * 0.35 + m * 0.25)),
    ];
    for (with_health, with_alert, with_metrics, want) in cases {
        let mut events = Vec::new();
        if with_health {
            events.push(assessed("health", json!(h)));
        }
        if with_alert {
            events.push(assessed("alert", json!(a)));
        }
        if with_metrics {
            events.push(assessed("metrics", json!(m)));
        }
        let got = fold(&events).score;
        let case = (with_health, with_alert, with_metrics);
        match want {
            None => assert_eq!(got, None, "{case:?}"),
            Some(want) => assert!(close(got, want), "{case:?}: {got:?} != {want}"),
        }
    }
}

#[test]
fn a_component_needs_both_the_assessed_flag_and_a_number_to_count() {
    // Not assessed, with a score: shown, but out of the mean.
    let e = fold(&[
        (
            event_types::HEALTH_ASSESSED,
            json!({"assessed": false, "score": 0.0}),
        ),
        assessed("alert", json!(0.8)),
    ]);
    assert_eq!(e.health.score, Some(0.0));
    assert!(!e.health.assessed);
    // (0.8 × 0.35) / 0.35: its own score, to floating-point precision as in the original.
    assert!(close(e.score, 0.8), "{:?}", e.score);
    // Assessed with a null score (not applicable): out of the mean, and none is left.
    let e = fold(&[(
        event_types::HEALTH_ASSESSED,
        json!({"assessed": true, "score": null}),
    )]);
    assert!(e.health.assessed);
    assert_eq!((e.score, e.status), (None, AssessmentStatus::InProgress));
    // `"true"` is not the boolean true.
    let e = fold(&[(
        event_types::HEALTH_ASSESSED,
        json!({"assessed": "true", "score": 1.0}),
    )]);
    assert!(!e.health.assessed);
    assert_eq!((e.score, e.status), (None, AssessmentStatus::NoData));
}

#[test]
fn the_flag_is_sticky_and_the_last_score_and_details_win() {
    let e = fold(&[
        (
            event_types::ALERT_ASSESSED,
            json!({"assessed": true, "score": 0.0, "details": "firing"}),
        ),
        (
            event_types::ALERT_ASSESSED,
            json!({"assessed": false, "score": 1.0, "details": "resolved"}),
        ),
        // A null score and a non-string details leave the last ones.
        (
            event_types::ALERT_ASSESSED,
            json!({"score": null, "details": 7}),
        ),
    ]);
    assert!(e.alert.assessed);
    assert_eq!(e.alert.score, Some(1.0));
    assert_eq!(e.alert.details.as_deref(), Some("resolved"));
    assert_eq!(e.score, Some(1.0));
}

#[test]
fn spec_drift_forces_zero_and_is_sticky_in_either_order() {
    let drifted_first = fold(&[
        assessed("health", json!(1.0)),
        completed("SpecDrift"),
        completed("Full"),
    ]);
    let drifted_last = fold(&[
        assessed("health", json!(1.0)),
        completed("Full"),
        completed("SpecDrift"),
    ]);
    for e in [drifted_first, drifted_last] {
        assert_eq!(e.score, Some(0.0));
        assert_eq!(e.status, AssessmentStatus::Completed("SpecDrift".into()));
    }
    // Even with no component at all.
    assert_eq!(fold(&[completed("SpecDrift")]).score, Some(0.0));
    // The legacy spelling is only a status.
    let legacy = fold(&[assessed("health", json!(1.0)), completed("spec_drift")]);
    assert_eq!(legacy.score, Some(1.0));
    assert_eq!(legacy.status.as_str(), "spec_drift");
}

#[test]
fn the_status_is_no_data_in_progress_or_the_reason_as_written() {
    assert_eq!(fold(&[]).status.as_str(), "no_data");
    assert_eq!(
        fold(&[("effectiveness.assessment.scheduled", json!({}))])
            .status
            .as_str(),
        "no_data"
    );
    assert_eq!(
        fold(&[assessed("metrics", json!(0.3))]).status.as_str(),
        "in_progress"
    );
    for reason in [
        "Full",
        "Partial",
        "Expired",
        "AlertDecayTimeout",
        "anything",
    ] {
        let e = fold(&[completed(reason)]);
        assert_eq!(e.status.as_str(), reason);
        assert_eq!(e.score, None);
    }
    // A later reason replaces an earlier one (other than SpecDrift); a missing one does not.
    let e = fold(&[
        completed("Partial"),
        completed("Full"),
        (event_types::ASSESSMENT_COMPLETED, json!({"reason": 3})),
    ]);
    assert_eq!(e.status.as_str(), "Full");
}

#[test]
fn the_last_hash_event_naming_a_hash_replaces_the_comparison_whole() {
    assert_eq!(fold(&[]).hash_comparison, HashComparison::default());
    let e = fold(&[
        (
            event_types::HASH_COMPUTED,
            json!({"pre_remediation_spec_hash": "sha256:aa", "post_remediation_spec_hash": "sha256:bb", "hash_match": false}),
        ),
        (
            event_types::HASH_COMPUTED,
            json!({"post_remediation_spec_hash": "sha256:cc"}),
        ),
        // Names no hash: ignored.
        (
            event_types::HASH_COMPUTED,
            json!({"pre_remediation_spec_hash": "", "hash_match": true}),
        ),
    ]);
    assert_eq!(
        e.hash_comparison,
        HashComparison {
            pre_remediation_spec_hash: None,
            post_remediation_spec_hash: Some("sha256:cc".into()),
            hash_match: None,
        }
    );
    // Informational only.
    assert_eq!(e.score, None);
}

fn event(category: &str, event_type: &str, second: i64, event_data: Value) -> AuditEvent {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    AuditEventDraft {
        version: "1.0".into(),
        event_type: event_type.into(),
        event_timestamp: (now + Duration::seconds(second)).to_rfc3339(),
        event_category: category.into(),
        event_action: "assessed".into(),
        event_outcome: "success".into(),
        correlation_id: "rr-1".into(),
        event_data: event_data.into(),
        ..AuditEventDraft::default()
    }
    .validate(
        &EventRules::default(),
        now,
        EventId::from_uuid(Uuid::now_v7()),
    )
    .map(|n| n.event)
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn only_effectiveness_events_count_and_none_means_not_found() {
    let other = [
        event(
            "gateway",
            "gateway.signal.received",
            0,
            json!({"signal_name": "x"}),
        ),
        // The right type in the wrong category does not count.
        event(
            "orchestration",
            event_types::HEALTH_ASSESSED,
            1,
            json!({"assessed": true, "score": 1.0}),
        ),
    ];
    assert_eq!(assess(&other), None);
    let scheduled = event(
        "effectiveness",
        "effectiveness.assessment.scheduled",
        2,
        json!({}),
    );
    let with_one: Vec<&AuditEvent> = other.iter().chain([&scheduled]).collect();
    let e = assess(with_one);
    assert_eq!(
        e.map(|e| (e.status, e.score)),
        Some((AssessmentStatus::NoData, None))
    );
}
