//! `GET /api/v1/effectiveness/{correlation_id}` against a real service, on memory and on
//! PostgreSQL: the reference's worked example written as audit events through the API gives
//! exactly the reference's response; the 404 rule; a lone scheduled event; a bad id.

use chrono::{DateTime, Duration, Utc};
use datastorage_tests::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

const EVENTS: &str = "/api/v1/audit/events";

macro_rules! effectiveness_cases {
    ($storage:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(datastorage_tests::support::spawn_app($storage).await).await;
            }
        )+
    };
}

macro_rules! all_cases {
    ($storage:expr) => {
        effectiveness_cases!($storage;
            the_worked_example_gives_the_reference_response,
            events_of_other_categories_only_are_404_with_the_original_problem,
            a_lone_scheduled_event_is_200_no_data,
            a_drifted_assessment_in_progress_scores_zero,
            a_malformed_correlation_id_is_400,
        );
    };
}

mod memory {
    all_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_cases!(datastorage_tests::support::Storage::Postgres);
}

/// A unique correlation id per test, so the shared memory store never mixes them.
fn correlation(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::now_v7().simple())
}

/// One audit event as the original's producer sends it, `seconds` after `start`.
fn event(
    correlation_id: &str,
    start: DateTime<Utc>,
    seconds: i64,
    (event_type, category, action): (&str, &str, &str),
    event_data: Value,
) -> Value {
    json!({
        "version": "1.0",
        "event_type": event_type,
        "event_timestamp": (start + Duration::seconds(seconds)).to_rfc3339(),
        "event_category": category,
        "event_action": action,
        "event_outcome": "success",
        "correlation_id": correlation_id,
        "event_data": event_data,
    })
}

async fn post_all(app: &TestApp, events: Vec<Value>) {
    for e in events {
        let response = app.post_json(EVENTS, &e).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{e}");
    }
}

/// The reference's §4 lifecycle, its times kept relative to each other (10:00:00 → start).
fn worked_example(correlation_id: &str, start: DateTime<Utc>) -> Vec<Value> {
    let at = |h: i64, m: i64, s: i64| (h - 10) * 3600 + m * 60 + s;
    let e = |seconds, kind, data| event(correlation_id, start, seconds, kind, data);
    vec![
        e(
            at(10, 0, 0),
            ("gateway.signal.received", "gateway", "received"),
            json!({"signal_name": "HighCPULoad", "signal_type": "alert", "fingerprint": "9c1e",
                   "namespace": "prod", "resource_kind": "Deployment", "resource_name": "api"}),
        ),
        e(
            at(10, 1, 30),
            (
                "aianalysis.analysis.completed",
                "analysis",
                "analysis_complete",
            ),
            json!({"phase": "Completed", "workflow_id": "wf-scale", "confidence": 0.88,
                   "approval_required": false}),
        ),
        e(
            at(10, 1, 32),
            (
                "remediation.workflow_created",
                "orchestration",
                "workflow_created",
            ),
            json!({"target_resource": "prod/Deployment/api",
                   "pre_remediation_spec_hash": "sha256:aa11", "workflow_id": "wf-scale",
                   "action_type": "ScaleReplicas", "signal_type": "alert",
                   "signal_fingerprint": "9c1e"}),
        ),
        e(
            at(10, 3, 10),
            (
                "workflowexecution.workflow.completed",
                "workflowexecution",
                "completed",
            ),
            json!({"workflow_id": "wf-scale", "phase": "Completed"}),
        ),
        e(
            at(10, 8, 0),
            ("effectiveness.health.assessed", "effectiveness", "assessed"),
            json!({"component": "health", "assessed": true, "score": 1.0, "details": "3/3 ready",
                   "health_checks": {"pod_running": true, "readiness_pass": true,
                   "restart_delta": 0, "crash_loops": false, "oom_killed": false,
                   "pending_count": 0}}),
        ),
        e(
            at(10, 8, 1),
            ("effectiveness.hash.computed", "effectiveness", "computed"),
            json!({"component": "hash", "pre_remediation_spec_hash": "sha256:aa11",
                   "post_remediation_spec_hash": "sha256:bb22", "hash_match": false}),
        ),
        e(
            at(10, 10, 0),
            ("effectiveness.alert.assessed", "effectiveness", "assessed"),
            json!({"component": "alert", "assessed": true, "score": 0.0,
                   "details": "still firing",
                   "alert_resolution": {"alert_resolved": false, "active_count": 1}}),
        ),
        e(
            at(10, 12, 0),
            (
                "effectiveness.metrics.assessed",
                "effectiveness",
                "assessed",
            ),
            json!({"component": "metrics", "assessed": true, "score": 0.2,
                   "details": "cpu -20%",
                   "metric_deltas": {"cpu_before": 0.95, "cpu_after": 0.76}}),
        ),
        e(
            at(10, 12, 1),
            (
                "effectiveness.assessment.completed",
                "effectiveness",
                "assessed",
            ),
            json!({"component": "completed", "reason": "Full"}),
        ),
        e(
            at(10, 12, 5),
            (
                "orchestrator.lifecycle.completed",
                "orchestration",
                "completed",
            ),
            json!({"outcome": "Success", "crd_outcome": "Remediated"}),
        ),
    ]
}

async fn get_effectiveness(app: &TestApp, correlation_id: &str) -> (StatusCode, String, Value) {
    let response = app
        .get(&format!("/api/v1/effectiveness/{correlation_id}"))
        .await;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

/// Removes `computed_at` after checking it is the server's time of this request.
fn take_computed_at(body: &mut Value, before: DateTime<Utc>, after: DateTime<Utc>) {
    let text = body
        .as_object_mut()
        .and_then(|o| o.remove("computed_at"))
        .unwrap();
    let text = text.as_str().unwrap();
    assert!(text.ends_with('Z') && text.contains('.'), "{text}");
    let at = DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    // Microseconds: the server's clock is truncated, never rounded up.
    assert!(
        at >= before - Duration::microseconds(1) && at <= after,
        "{text}"
    );
}

async fn the_worked_example_gives_the_reference_response(app: TestApp) {
    let id = correlation("rr-cpu-7f3a");
    post_all(&app, worked_example(&id, Utc::now() - Duration::hours(2))).await;
    let before = Utc::now();
    let (status, content_type, mut body) = get_effectiveness(&app, &id).await;
    let after = Utc::now();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    take_computed_at(&mut body, before, after);
    // The reference's response, byte for byte apart from the id and the time: whole scores
    // as integers (`1`, `0`), 0.45 exactly.
    let reference = json!({"correlation_id": id, "score": 0.45,
        "components": {"health_assessed": true, "health_score": 1, "health_details": "3/3 ready",
            "alert_assessed": true, "alert_score": 0, "alert_details": "still firing",
            "metrics_assessed": true, "metrics_score": 0.2, "metrics_details": "cpu -20%"},
        "hash_comparison": {"pre_remediation_spec_hash": "sha256:aa11",
            "post_remediation_spec_hash": "sha256:bb22", "hash_match": false},
        "assessment_status": "Full"});
    assert_eq!(body, reference);
}

async fn events_of_other_categories_only_are_404_with_the_original_problem(app: TestApp) {
    let id = correlation("rr-no-em");
    // The whole lifecycle but the monitor's events.
    let others: Vec<Value> = worked_example(&id, Utc::now() - Duration::hours(1))
        .into_iter()
        .filter(|e| e["event_category"] != "effectiveness")
        .collect();
    assert_eq!(others.len(), 5);
    post_all(&app, others).await;
    for id in [id, correlation("rr-never-seen")] {
        let (status, content_type, problem) = get_effectiveness(&app, &id).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(
            problem,
            json!({
                "type": "https://kubernaut.io/problems/effectiveness/not-found",
                "title": "Effectiveness Assessment Not Found",
                "status": 404,
                "detail": format!("No effectiveness assessment events found for correlation_id: {id}"),
                "instance": format!("/api/v1/effectiveness/{id}"),
            })
        );
    }
}

async fn a_lone_scheduled_event_is_200_no_data(app: TestApp) {
    let id = correlation("rr-scheduled");
    let scheduled = event(
        &id,
        Utc::now() - Duration::minutes(5),
        0,
        (
            "effectiveness.assessment.scheduled",
            "effectiveness",
            "scheduled",
        ),
        json!({"component": "scheduled", "ea_name": "ea-1", "namespace": "prod"}),
    );
    post_all(&app, vec![scheduled]).await;
    let before = Utc::now();
    let (status, _, mut body) = get_effectiveness(&app, &id).await;
    take_computed_at(&mut body, before, Utc::now());
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"correlation_id": id, "score": null,
            "components": {"health_assessed": false, "health_score": null,
                "alert_assessed": false, "alert_score": null,
                "metrics_assessed": false, "metrics_score": null},
            "hash_comparison": {}, "assessment_status": "no_data"})
    );
}

/// In the stored order, not the posting order: the completion is posted first but happened
/// last, and a later `Full` does not undo `SpecDrift`.
async fn a_drifted_assessment_in_progress_scores_zero(app: TestApp) {
    let id = correlation("rr-drift");
    let start = Utc::now() - Duration::minutes(30);
    let em = |seconds, event_type, data| {
        event(
            &id,
            start,
            seconds,
            (event_type, "effectiveness", "assessed"),
            data,
        )
    };
    let health = em(
        0,
        "effectiveness.health.assessed",
        json!({"assessed": true, "score": 0.5}),
    );
    // Before any completion the health component alone is the score.
    post_all(&app, vec![health]).await;
    let (_, _, body) = get_effectiveness(&app, &id).await;
    assert_eq!(
        (&body["score"], &body["assessment_status"]),
        (&json!(0.5), &json!("in_progress"))
    );
    post_all(
        &app,
        vec![
            em(
                20,
                "effectiveness.assessment.completed",
                json!({"reason": "Full"}),
            ),
            em(
                10,
                "effectiveness.assessment.completed",
                json!({"reason": "SpecDrift"}),
            ),
        ],
    )
    .await;
    let (_, _, body) = get_effectiveness(&app, &id).await;
    assert_eq!(
        (&body["score"], &body["assessment_status"]),
        (&json!(0), &json!("SpecDrift"))
    );
    assert_eq!(body["components"]["health_score"], json!(0.5));
}

async fn a_malformed_correlation_id_is_400(app: TestApp) {
    for bad in ["x".repeat(256), "nul%00inside".into()] {
        let (status, content_type, problem) = get_effectiveness(&app, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(
            problem["type"],
            "https://kubernaut.io/problems/validation-error"
        );
        assert!(
            problem["field_errors"]["correlation_id"].is_string(),
            "{problem}"
        );
    }
}
