//! `GET /api/v1/incidents` and `/incidents/{id}` end to end, on the memory adapters
//! (`memory::*`) and a fresh PostgreSQL database (`postgres::*`): remediations written as
//! audit events through the API become one row each; `pagination.total` is the count of every
//! match on every page (a test pages through and counts); filters combine; bad filters are
//! 400 problems; an unknown id is 404.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use datastorage_tests::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

const INCIDENTS: &str = "/api/v1/incidents";

/// Query parameters of one request.
type Params<'a> = Vec<(&'a str, &'a str)>;

macro_rules! incident_cases {
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
        incident_cases!($storage;
            totals_are_exact_on_every_page_and_paging_visits_each_incident_once,
            filters_combine,
            one_incident_has_the_lifecycle_fields_and_the_effectiveness_score,
            an_unknown_id_or_a_correlation_without_a_workflow_is_404,
            bad_filters_are_400_problems,
        );
    };
}

mod memory {
    all_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_cases!(datastorage_tests::support::Storage::Postgres);
}

/// What varies between the remediations a test writes.
#[derive(Clone, Copy)]
struct Remediation<'a> {
    id: &'a str,
    alert: &'a str,
    /// Normalised severity (signal processing); the gateway's raw one is always `warning`.
    severity: &'a str,
    action: &'a str,
    namespace: &'a str,
    /// Minutes after the test's start that the workflow was chosen.
    minute: i64,
    /// `orchestrator.lifecycle.completed`'s outcome; `None`: still running.
    outcome: Option<&'a str>,
}

fn event(
    id: &str,
    at: DateTime<Utc>,
    (ty, category, action): (&str, &str, &str),
    data: Value,
) -> Value {
    json!({
        "version": "1.0",
        "event_type": ty,
        "event_timestamp": at.to_rfc3339(),
        "event_category": category,
        "event_action": action,
        "event_outcome": "success",
        "correlation_id": id,
        "event_data": data,
    })
}

/// The lifecycle events of one remediation, as the producers send them.
fn lifecycle(r: Remediation, start: DateTime<Utc>) -> Vec<Value> {
    let at = |seconds: i64| start + Duration::minutes(r.minute) + Duration::seconds(seconds);
    let mut events = vec![
        event(
            r.id,
            at(-60),
            ("gateway.signal.received", "gateway", "received"),
            json!({"signal_name": r.alert, "signal_type": "alert", "severity": "warning",
                   "namespace": r.namespace, "resource_kind": "Deployment", "resource_name": "api"}),
        ),
        event(
            r.id,
            at(-50),
            (
                "signalprocessing.signal.processed",
                "signalprocessing",
                "processed",
            ),
            json!({"phase": "Completed", "severity": r.severity}),
        ),
        event(
            r.id,
            at(0),
            (
                "remediation.workflow_created",
                "orchestration",
                "workflow_created",
            ),
            json!({"target_resource": format!("{}/Deployment/api", r.namespace),
                   "pre_remediation_spec_hash": "sha256:aa11", "workflow_id": "wf",
                   "action_type": r.action, "signal_type": "alert"}),
        ),
        event(
            r.id,
            at(5),
            (
                "workflowexecution.execution.started",
                "workflowexecution",
                "started",
            ),
            json!({"workflow_id": "wf"}),
        ),
    ];
    if let Some(outcome) = r.outcome {
        events.push(event(
            r.id,
            at(30),
            (
                "orchestrator.lifecycle.completed",
                "orchestration",
                "completed",
            ),
            json!({"outcome": outcome}),
        ));
    }
    events
}

async fn write(app: &TestApp, events: Vec<Value>) {
    let response = app
        .post_json("/api/v1/audit/events/batch", &Value::Array(events))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
}

async fn write_all(app: &TestApp, remediations: &[Remediation<'_>], start: DateTime<Utc>) {
    write(
        app,
        remediations
            .iter()
            .flat_map(|r| lifecycle(*r, start))
            .collect(),
    )
    .await;
}

async fn list(app: &TestApp, params: &[(&str, &str)]) -> (StatusCode, String, Value) {
    let response = app
        .client
        .get(app.url(INCIDENTS))
        .query(params)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// The ids of a 200 page, in order.
fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn start() -> DateTime<Utc> {
    Utc::now() - Duration::hours(2)
}

fn plain<'a>(id: &'a str, minute: i64) -> Remediation<'a> {
    Remediation {
        id,
        alert: "HighCPULoad",
        severity: "critical",
        action: "ScaleReplicas",
        namespace: "prod",
        minute,
        outcome: Some("Success"),
    }
}

async fn totals_are_exact_on_every_page_and_paging_visits_each_incident_once(app: TestApp) {
    let start = start();
    let names: Vec<String> = (0..7).map(|i| format!("rr-page-{i}")).collect();
    let remediations: Vec<Remediation> = names
        .iter()
        .enumerate()
        .map(|(i, id)| plain(id, i as i64))
        .collect();
    write_all(&app, &remediations, start).await;
    // A signal that never became a remediation is no incident.
    write(
        &app,
        vec![event(
            "rr-no-workflow",
            start,
            ("gateway.signal.received", "gateway", "received"),
            json!({"signal_name": "HighCPULoad"}),
        )],
    )
    .await;

    let mut seen = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let (status, _, body) =
            list(&app, &[("limit", "3"), ("offset", &offset.to_string())]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = ids(&body);
        assert_eq!(body["pagination"]["total"], 7, "page {pages}: {body}");
        assert_eq!(body["pagination"]["limit"], 3);
        assert_eq!(body["pagination"]["offset"], offset);
        assert_eq!(
            body["pagination"]["has_more"],
            offset + page.len() < 7,
            "{body}"
        );
        pages += 1;
        offset += page.len();
        seen.extend(page);
        if body["pagination"]["has_more"] != true {
            break;
        }
    }
    assert_eq!(pages, 3);
    // Newest first, each exactly once.
    let newest_first: Vec<String> = names.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    // Past the end: no rows, the total still the count of every match.
    let (_, _, body) = list(&app, &[("limit", "3"), ("offset", "9")]).await;
    assert_eq!(ids(&body), Vec::<String>::new());
    assert_eq!(body["pagination"]["total"], 7);
    assert_eq!(body["pagination"]["has_more"], false);
    // The default page holds them all.
    let (_, _, body) = list(&app, &[]).await;
    assert_eq!(ids(&body).len(), 7);
    assert_eq!(body["pagination"]["limit"], 50);
    assert!(body["pagination"].get("next_cursor").is_none(), "{body}");

    // Keyset pages: the same rows in the same order, the total on each page; a remediation
    // added while paging is counted but does not shift the pages already read.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("limit", "3")];
        if let Some(c) = &cursor {
            params.push(("cursor", c.as_str()));
        }
        let (status, _, body) = list(&app, &params).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["pagination"]["total"],
            7 + u64::from(cursor.is_some()),
            "{body}"
        );
        seen.extend(ids(&body));
        if cursor.is_none() {
            write_all(&app, &[plain("rr-page-late", 30)], start).await;
        }
        match body["pagination"]["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(body["pagination"]["has_more"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(body["pagination"]["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(seen, newest_first);
}

async fn filters_combine(app: TestApp) {
    let start = start();
    let r = |id, alert, severity, action, namespace, minute| Remediation {
        id,
        alert,
        severity,
        action,
        namespace,
        minute,
        outcome: None,
    };
    write_all(
        &app,
        &[
            r(
                "rr-a",
                "HighCPULoad",
                "critical",
                "ScaleReplicas",
                "prod",
                0,
            ),
            r(
                "rr-b",
                "HighCPULoad",
                "critical",
                "ScaleReplicas",
                "prod",
                10,
            ),
            r("rr-c", "HighCPULoad", "critical", "RestartPod", "prod", 20),
            r("rr-d", "HighCPULoad", "high", "ScaleReplicas", "prod", 30),
            r(
                "rr-e",
                "HighCPULoad",
                "critical",
                "ScaleReplicas",
                "staging",
                40,
            ),
            r("rr-f", "OOMKilled", "critical", "ScaleReplicas", "prod", 50),
            r(
                "rr-g",
                "HighCPULoad",
                "critical",
                "ScaleReplicas",
                "prod",
                60,
            ),
        ],
        start,
    )
    .await;
    let at = |minute: i64| {
        (start + Duration::minutes(minute)).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    let (since, until) = (at(5), at(55));
    let cases: Vec<(Params, Vec<&str>)> = vec![
        (
            vec![("alert_name", "HighCPULoad")],
            vec!["rr-g", "rr-e", "rr-d", "rr-c", "rr-b", "rr-a"],
        ),
        (
            vec![
                ("alert_name", "HighCPULoad"),
                ("severity", "critical"),
                ("action_type", "ScaleReplicas"),
                ("namespace", "prod"),
            ],
            vec!["rr-g", "rr-b", "rr-a"],
        ),
        (
            vec![
                ("alert_name", "HighCPULoad"),
                ("severity", "CRITICAL"),
                ("action_type", "ScaleReplicas"),
                ("namespace", "prod"),
                ("since", &since),
                ("until", &until),
            ],
            vec!["rr-b"],
        ),
        (vec![("severity", "high")], vec!["rr-d"]),
        (
            vec![("action_type", "RestartPod"), ("namespace", "prod")],
            vec!["rr-c"],
        ),
        (
            vec![("namespace", "staging"), ("alert_name", "OOMKilled")],
            vec![],
        ),
        (
            vec![("since", &since), ("until", &until)],
            vec!["rr-f", "rr-e", "rr-d", "rr-c", "rr-b"],
        ),
        // Relative times as the audit query takes them: everything here is within a day.
        (
            vec![("since", "1d"), ("alert_name", "OOMKilled")],
            vec!["rr-f"],
        ),
    ];
    for (params, expected) in cases {
        let (status, _, body) = list(&app, &params).await;
        assert_eq!(status, StatusCode::OK, "{params:?}: {body}");
        assert_eq!(ids(&body), expected, "{params:?}");
        assert_eq!(body["pagination"]["total"], expected.len(), "{params:?}");
    }
    // A combined filter's total counts every match, not the page.
    let (_, _, body) = list(&app, &[("alert_name", "HighCPULoad"), ("limit", "2")]).await;
    assert_eq!(ids(&body), vec!["rr-g", "rr-e"]);
    assert_eq!(body["pagination"]["total"], 6);
}

async fn one_incident_has_the_lifecycle_fields_and_the_effectiveness_score(app: TestApp) {
    let start = start();
    let mut events = lifecycle(plain("rr-cpu-7f3a", 0), start);
    let assessed = |seconds, ty: &str, data| {
        event(
            "rr-cpu-7f3a",
            start + Duration::seconds(seconds),
            (ty, "effectiveness", "assessed"),
            data,
        )
    };
    events.extend([
        assessed(
            300,
            "effectiveness.health.assessed",
            json!({"assessed": true, "score": 1.0}),
        ),
        assessed(
            400,
            "effectiveness.alert.assessed",
            json!({"assessed": true, "score": 0.0}),
        ),
        assessed(
            500,
            "effectiveness.metrics.assessed",
            json!({"assessed": true, "score": 0.2}),
        ),
        assessed(
            501,
            "effectiveness.assessment.completed",
            json!({"reason": "Full"}),
        ),
    ]);
    let failed = Remediation {
        outcome: Some("Failed"),
        ..plain("rr-failed", 1)
    };
    let running = Remediation {
        outcome: None,
        ..plain("rr-running", 2)
    };
    events.extend(lifecycle(failed, start));
    events.extend(lifecycle(running, start));
    write(&app, events).await;

    let response = app.get(&format!("{INCIDENTS}/rr-cpu-7f3a")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let one: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        one,
        json!({
            "id": "rr-cpu-7f3a",
            "alert_name": "HighCPULoad",
            "alert_severity": "critical",
            "action_type": "ScaleReplicas",
            "action_timestamp": start.to_rfc3339_opts(SecondsFormat::Micros, true),
            "execution_status": "completed",
            "target_kind": "Deployment",
            "target_name": "api",
            "target_namespace": "prod",
            "effectiveness_score": 0.45,
        })
    );
    // The list's row is the same.
    let (_, _, body) = list(&app, &[]).await;
    let rows = body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.iter().find(|r| r["id"] == "rr-cpu-7f3a"), Some(&one));
    let status_of = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .map(|r| r["execution_status"].clone())
    };
    assert_eq!(status_of("rr-failed"), Some(json!("failed")));
    assert_eq!(status_of("rr-running"), Some(json!("running")));
    assert_eq!(
        rows.iter()
            .find(|r| r["id"] == "rr-running")
            .map(|r| r["effectiveness_score"].clone()),
        Some(Value::Null)
    );
}

async fn an_unknown_id_or_a_correlation_without_a_workflow_is_404(app: TestApp) {
    write(
        &app,
        vec![event(
            "rr-signal-only",
            start(),
            ("gateway.signal.received", "gateway", "received"),
            json!({"signal_name": "HighCPULoad"}),
        )],
    )
    .await;
    for id in ["rr-never-seen", "rr-signal-only"] {
        let response = app.get(&format!("{INCIDENTS}/{id}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(body["status"], 404, "{body}");
    }
    let (_, _, body) = list(&app, &[]).await;
    assert_eq!(body["pagination"]["total"], 0);
    let too_long = "x".repeat(256);
    let response = app.get(&format!("{INCIDENTS}/{too_long}")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn bad_filters_are_400_problems(app: TestApp) {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("severity", "urgent")], "severity"),
        (&[("limit", "0")], "limit"),
        (&[("limit", "1001")], "limit"),
        (&[("limit", "many")], "limit"),
        (&[("offset", "-1")], "offset"),
        (&[("cursor", "not-a-cursor")], "cursor"),
        (
            &[("cursor", "1772359200000000_7272"), ("offset", "0")],
            "cursor",
        ),
        (&[("since", "yesterday")], "since"),
        (&[("until", "2026-13-45T00:00:00Z")], "until"),
        (
            &[
                ("since", "2026-11-26T10:00:00Z"),
                ("until", "2026-11-25T10:00:00Z"),
            ],
            "until",
        ),
    ];
    for (params, field) in cases {
        let (status, content_type, body) = list(&app, params).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{params:?}: {body}");
        assert_eq!(content_type, "application/problem+json", "{params:?}");
        assert_eq!(body["status"], 400, "{params:?}: {body}");
        assert!(
            body["field_errors"][field].is_string(),
            "{params:?}: {body}"
        );
    }
    // The limits themselves are accepted.
    for limit in ["1", "1000"] {
        let (status, _, _) = list(&app, &[("limit", limit)]).await;
        assert_eq!(status, StatusCode::OK, "limit={limit}");
    }
}
