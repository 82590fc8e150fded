//! `GET /api/v1/audit/correlations/{correlation_id}/timeline` against a real service, on
//! memory and on PostgreSQL, its events written through the API: a complete remediation says
//! complete; a missing execution, effectiveness before execution and a late completion each
//! say exactly that; an unfinished one awaits its next phase until it is overdue; the late
//! limit follows `DS_TIMELINE__LATE_AFTER`; 404 and 400.

use chrono::{DateTime, Duration, Utc};
use datastorage_tests::support::{Storage, TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

const EVENTS: &str = "/api/v1/audit/events";

macro_rules! timeline_cases {
    ($storage:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($storage).await;
            }
        )+
    };
}

macro_rules! all_cases {
    ($storage:expr) => {
        timeline_cases!($storage;
            a_complete_remediation_says_complete,
            a_missing_execution_says_execution_is_missing,
            effectiveness_before_execution_says_out_of_order,
            a_late_completion_says_late_by_how_much,
            the_late_limit_follows_the_setting,
            an_unfinished_remediation_awaits_its_next_phase_until_it_is_overdue,
            an_unknown_correlation_is_404_and_a_bad_id_400,
        );
    };
}

mod memory {
    all_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_cases!(datastorage_tests::support::Storage::Postgres);
}

fn correlation(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::now_v7().simple())
}

/// The lifecycle's event types, in the contract's order, as the original's producers send
/// them: (type, category, action, phase, event_data).
fn lifecycle() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Value,
)> {
    vec![
        (
            "gateway.signal.received",
            "gateway",
            "received",
            "signal",
            json!({"signal_name": "HighCPULoad", "resource_kind": "Deployment", "resource_name": "api", "namespace": "prod"}),
        ),
        (
            "signalprocessing.signal.processed",
            "signalprocessing",
            "processed",
            "processing",
            json!({"environment": "prod", "priority": "P1"}),
        ),
        (
            "aianalysis.analysis.completed",
            "analysis",
            "analysis_complete",
            "analysis",
            json!({"workflow_id": "wf-scale", "confidence": 0.88, "approval_required": false}),
        ),
        (
            "remediation.workflow_created",
            "orchestration",
            "workflow_created",
            "workflow",
            json!({"workflow_id": "wf-scale", "action_type": "ScaleReplicas", "target_resource": "prod/Deployment/api"}),
        ),
        (
            "workflowexecution.workflow.completed",
            "workflowexecution",
            "completed",
            "execution",
            json!({"workflow_id": "wf-scale", "phase": "Completed"}),
        ),
        (
            "effectiveness.assessment.completed",
            "effectiveness",
            "assessed",
            "effectiveness",
            json!({"reason": "Full"}),
        ),
        (
            "orchestrator.lifecycle.completed",
            "orchestration",
            "completed",
            "completion",
            json!({"outcome": "Success", "crd_outcome": "Remediated"}),
        ),
    ]
}

/// Offsets in seconds of the lifecycle's seven events, on time.
const ON_TIME: [i64; 7] = [0, 5, 90, 92, 190, 720, 725];

/// Writes the lifecycle's events whose offset is `Some`, through the API; returns each
/// written event's id by phase.
async fn write(
    app: &TestApp,
    id: &str,
    start: DateTime<Utc>,
    offsets: [Option<i64>; 7],
) -> Vec<(String, String)> {
    let mut written = Vec::new();
    for ((event_type, category, action, phase, data), offset) in
        lifecycle().into_iter().zip(offsets)
    {
        let Some(seconds) = offset else { continue };
        let body = json!({
            "version": "1.0",
            "event_type": event_type,
            "event_timestamp": (start + Duration::seconds(seconds)).to_rfc3339(),
            "event_category": category,
            "event_action": action,
            "event_outcome": "success",
            "actor_type": "service",
            "actor_id": category,
            "correlation_id": id,
            "event_data": data,
        });
        let response = app.post_json(EVENTS, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let created: Value = response.json().await.unwrap();
        let event_id = created["event_id"].as_str().unwrap().to_owned();
        written.push((phase.to_owned(), event_id));
    }
    written
}

fn all(offsets: [i64; 7]) -> [Option<i64>; 7] {
    offsets.map(Some)
}

async fn timeline(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let response = app
        .get(&format!("/api/v1/audit/correlations/{id}/timeline"))
        .await;
    (response.status(), response.json().await.unwrap())
}

fn event_of<'a>(written: &'a [(String, String)], phase: &str) -> &'a str {
    written
        .iter()
        .find(|(p, _)| p == phase)
        .map(|(_, id)| id.as_str())
        .unwrap()
}

async fn a_complete_remediation_says_complete(storage: Storage) {
    let app = spawn_app(storage).await;
    let id = correlation("rr-complete");
    let written = write(&app, &id, Utc::now() - Duration::hours(1), all(ON_TIME)).await;
    app.sync_log().await;
    let (status, body) = timeline(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["verdict"],
        json!({"complete": true, "missing": [], "out_of_order": [], "late": [], "awaiting": [],
               "summary": "Complete: every expected phase recorded, in order and on time."})
    );
    assert_eq!(body["correlation_id"], id.as_str());
    assert_eq!(body["truncated"], false);
    // Every event a step, oldest first, linked by id to what was written and to its log leaf.
    let steps = body["steps"].as_array().unwrap();
    let linked: Vec<(String, String)> = steps
        .iter()
        .map(|s| {
            (
                s["phase"].as_str().unwrap().to_owned(),
                s["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(linked, written);
    for step in steps {
        let event: Value = app
            .get(&format!("{EVENTS}/{}", step["event_id"].as_str().unwrap()))
            .await
            .json()
            .await
            .unwrap();
        assert!(step["log_index"].is_u64(), "{step}");
        assert_eq!(step["log_index"], event["log_index"]);
    }
    assert_eq!(
        steps[3]["line"],
        "Workflow wf-scale chosen: ScaleReplicas on prod/Deployment/api by service/orchestration; outcome success (+2s)"
    );
    assert_eq!(steps[3]["actor"], "service/orchestration");
    assert_eq!(steps[3]["since_previous_ms"], 2000);
    // Approval was not asked for: listed, not expected, not missing.
    let approval = &body["phases"][3];
    assert_eq!(
        approval,
        &json!({"phase": "approval", "expected": false, "event_count": 0})
    );
    assert_eq!(body["phases"][4]["after_phase"], "analysis");
    assert_eq!(body["phases"][4]["since_previous_phase_ms"], 2000);
}

async fn a_missing_execution_says_execution_is_missing(storage: Storage) {
    let app = spawn_app(storage).await;
    let id = correlation("rr-no-execution");
    let mut offsets = all(ON_TIME);
    offsets[4] = None;
    write(&app, &id, Utc::now() - Duration::hours(1), offsets).await;
    let (status, body) = timeline(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["verdict"],
        json!({"complete": false, "missing": ["execution"], "out_of_order": [], "late": [], "awaiting": [],
               "summary": "Not complete: no event recorded for the expected phase(s) execution \
                           (a gap in the trail, not proof that nothing happened)."})
    );
    assert_eq!(
        body["phases"][5],
        json!({"phase": "execution", "expected": true, "event_count": 0})
    );
}

async fn effectiveness_before_execution_says_out_of_order(storage: Storage) {
    let app = spawn_app(storage).await;
    let id = correlation("rr-early-em");
    let written = write(
        &app,
        &id,
        Utc::now() - Duration::hours(1),
        all([0, 5, 90, 92, 700, 600, 725]),
    )
    .await;
    let (status, body) = timeline(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["verdict"],
        json!({"complete": false, "missing": [], "late": [], "awaiting": [],
               "out_of_order": [{"phase": "effectiveness",
                                 "event_id": event_of(&written, "effectiveness"),
                                 "should_follow": ["execution"]}],
               "summary": "Not complete: effectiveness began before execution."})
    );
}

async fn a_late_completion_says_late_by_how_much(storage: Storage) {
    let app = spawn_app(storage).await;
    let id = correlation("rr-late");
    let written = write(
        &app,
        &id,
        Utc::now() - Duration::hours(4),
        all([0, 5, 90, 92, 190, 720, 720 + 7200]),
    )
    .await;
    let (status, body) = timeline(&app, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["verdict"],
        json!({"complete": false, "missing": [], "out_of_order": [], "awaiting": [],
               "late": [{"phase": "completion", "event_id": event_of(&written, "completion"),
                         "after": "effectiveness", "took_ms": 7_200_000, "limit_ms": 3_600_000}],
               "summary": "Not complete: completion began 2h after effectiveness (expected within 1h)."})
    );
}

async fn the_late_limit_follows_the_setting(storage: Storage) {
    let app = spawn_app_with(storage, |s| {
        s.timeline.late_after = "completion=3h,processing=1s".into();
    })
    .await;
    let id = correlation("rr-configured");
    let written = write(
        &app,
        &id,
        Utc::now() - Duration::hours(4),
        all([0, 5, 90, 92, 190, 720, 720 + 7200]),
    )
    .await;
    let (_, body) = timeline(&app, &id).await;
    // Two hours is within the configured three; five seconds is not within one.
    assert_eq!(
        body["verdict"]["late"],
        json!([{"phase": "processing", "event_id": event_of(&written, "processing"),
                "after": "signal", "took_ms": 5000, "limit_ms": 1000}])
    );
}

async fn an_unfinished_remediation_awaits_its_next_phase_until_it_is_overdue(storage: Storage) {
    let app = spawn_app(storage).await;
    // Chosen a workflow a moment ago: what follows is still to come, nothing is missing.
    let fresh = correlation("rr-under-way");
    let until_workflow = [Some(0), Some(5), Some(90), Some(92), None, None, None];
    write(
        &app,
        &fresh,
        Utc::now() - Duration::seconds(100),
        until_workflow,
    )
    .await;
    let (status, body) = timeline(&app, &fresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["verdict"],
        json!({"complete": false, "missing": [], "out_of_order": [], "late": [],
               "awaiting": ["execution", "effectiveness", "completion"],
               "summary": "In progress: nothing missing, out of order or late so far. \
                           Still to come: execution, effectiveness, completion."})
    );
    // Chosen two hours ago and nothing since: the execution (30 min by default) is overdue.
    let stuck = correlation("rr-stuck");
    write(
        &app,
        &stuck,
        Utc::now() - Duration::hours(2),
        until_workflow,
    )
    .await;
    let (_, body) = timeline(&app, &stuck).await;
    let verdict = &body["verdict"];
    assert_eq!(verdict["missing"], json!([]), "{body}");
    assert_eq!(verdict["awaiting"], json!(["effectiveness", "completion"]));
    assert_eq!(verdict["overdue"]["phase"], "execution");
    assert_eq!(verdict["overdue"]["after"], "workflow");
    assert_eq!(verdict["overdue"]["limit_ms"], 1_800_000);
    let waited = verdict["overdue"]["waited_ms"].as_i64().unwrap();
    assert!(waited > 1_800_000, "{body}");
    assert!(
        verdict["summary"]
            .as_str()
            .unwrap()
            .starts_with("Not complete: execution overdue: nothing recorded "),
        "{body}"
    );
}

async fn an_unknown_correlation_is_404_and_a_bad_id_400(storage: Storage) {
    let app = spawn_app(storage).await;
    let (status, problem) = timeline(&app, &correlation("rr-never-seen")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(problem["status"], 404);
    let (status, problem) = timeline(&app, &"x".repeat(256)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
}
