//! `GET /api/v1/remediation-history/context` end to end: the reference's worked example
//! written as audit events through the API, regression detection, the differences we chose
//! (completion time, outcome, day windows) and the 400 problems. Every case runs on the memory
//! adapters (`memory::*`) and a fresh PostgreSQL database (`postgres::*`).

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use datastorage_tests::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONTEXT: &str = "/api/v1/remediation-history/context";

macro_rules! history_cases {
    ($storage:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(datastorage_tests::support::spawn_app($storage).await).await;
            }
        )+
    };
}

macro_rules! all_history_cases {
    ($storage:expr) => {
        history_cases!($storage;
            the_worked_example_gives_the_references_response_with_our_completion_and_outcome,
            the_worked_example_three_days_later_is_a_tier_2_summary,
            the_same_spec_elsewhere_is_no_match_and_a_post_remediation_match_no_regression,
            day_windows_running_and_failed_remediations,
            bad_parameters_are_400_problems_in_the_originals_words,
        );
    };
}

mod memory {
    all_history_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_history_cases!(datastorage_tests::support::Storage::Postgres);
}

fn category_of(event_type: &str) -> &'static str {
    match event_type.split('.').next().unwrap_or_default() {
        "gateway" => "gateway",
        "aianalysis" => "analysis",
        "remediation" | "orchestrator" => "orchestration",
        "workflowexecution" => "workflowexecution",
        _ => "effectiveness",
    }
}

fn event(correlation: &str, at: DateTime<Utc>, event_type: &str, data: Value) -> Value {
    json!({
        "version": "1.0",
        "event_type": event_type,
        "event_timestamp": at.to_rfc3339(),
        "event_category": category_of(event_type),
        "event_action": event_type.rsplit('.').next(),
        "event_outcome": "success",
        "correlation_id": correlation,
        "event_data": data,
    })
}

fn secs(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The reference's §4 events, the signal at `t0`.
fn worked_example(t0: DateTime<Utc>) -> Vec<Value> {
    let c = "rr-cpu-7f3a";
    let t = |s: i64| t0 + Duration::seconds(s);
    vec![
        event(
            c,
            t(0),
            "gateway.signal.received",
            json!({"signal_name":"HighCPULoad","signal_type":"alert","fingerprint":"9c1e","namespace":"prod","resource_kind":"Deployment","resource_name":"api"}),
        ),
        event(
            c,
            t(90),
            "aianalysis.analysis.completed",
            json!({"phase":"Completed","workflow_id":"wf-scale","confidence":0.88,"approval_required":false}),
        ),
        event(
            c,
            t(92),
            "remediation.workflow_created",
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:aa11","workflow_id":"wf-scale","action_type":"ScaleReplicas","signal_type":"alert","signal_fingerprint":"9c1e"}),
        ),
        event(
            c,
            t(190),
            "workflowexecution.workflow.completed",
            json!({"workflow_id":"wf-scale","phase":"Completed"}),
        ),
        event(
            c,
            t(480),
            "effectiveness.health.assessed",
            json!({"assessed":true,"score":1.0,"details":"3/3 ready","health_checks":{"pod_running":true,"readiness_pass":true,"restart_delta":0,"crash_loops":false,"oom_killed":false,"pending_count":0}}),
        ),
        event(
            c,
            t(481),
            "effectiveness.hash.computed",
            json!({"pre_remediation_spec_hash":"sha256:aa11","post_remediation_spec_hash":"sha256:bb22","hash_match":false}),
        ),
        event(
            c,
            t(600),
            "effectiveness.alert.assessed",
            json!({"assessed":true,"score":0.0,"details":"still firing","alert_resolution":{"alert_resolved":false,"active_count":1}}),
        ),
        event(
            c,
            t(720),
            "effectiveness.metrics.assessed",
            json!({"assessed":true,"score":0.2,"details":"cpu -20%","metric_deltas":{"cpu_before":0.95,"cpu_after":0.76}}),
        ),
        event(
            c,
            t(721),
            "effectiveness.assessment.completed",
            json!({"reason":"Full"}),
        ),
        event(
            c,
            t(725),
            "orchestrator.lifecycle.completed",
            json!({"outcome":"Success","crd_outcome":"Remediated"}),
        ),
    ]
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

async fn context(app: &TestApp, params: &[(&str, &str)]) -> (StatusCode, String, Value) {
    let response = app
        .client
        .get(app.url(CONTEXT))
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
    (status, content_type, response.json().await.expect("json"))
}

async fn ok(app: &TestApp, params: &[(&str, &str)]) -> Value {
    let (status, _, body) = context(app, params).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

const API: [(&str, &str); 3] = [
    ("targetKind", "Deployment"),
    ("targetName", "api"),
    ("targetNamespace", "prod"),
];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    API.iter().chain(extra).copied().collect()
}

/// Two hours ago, in whole seconds: "called at 12:00 the same day".
fn two_hours_ago() -> DateTime<Utc> {
    (Utc::now() - Duration::hours(2)).trunc_subsecs(0)
}

async fn the_worked_example_gives_the_references_response_with_our_completion_and_outcome(
    app: TestApp,
) {
    let t0 = two_hours_ago();
    write(&app, worked_example(t0)).await;
    let body = ok(&app, &with(&[("currentSpecHash", "sha256:bb22")])).await;
    // The reference's response, but for the two differences we chose: `completedAt` is the
    // lifecycle's completion (event 10), not the workflow's creation (event 3, t0 + 92 s),
    // and `outcome` is that completion's.
    let expected = json!({"currentSpecHash":"sha256:bb22","regressionDetected":false,"targetResource":"prod/Deployment/api",
        "tier1":{"chain":[{"remediationUID":"rr-cpu-7f3a","signalFingerprint":"9c1e","signalType":"alert",
            "actionType":"ScaleReplicas","effectivenessScore":0.45,"signalResolved":false,"hashMatch":"postRemediation",
            "preRemediationSpecHash":"sha256:aa11","postRemediationSpecHash":"sha256:bb22",
            "healthChecks":{"podRunning":true,"readinessPass":true,"restartDelta":0,"crashLoops":false,"oomKilled":false,"pendingCount":0},
            "metricDeltas":{"cpuBefore":0.95,"cpuAfter":0.76},"sideEffects":[],
            "completedAt": secs(t0 + Duration::seconds(725)),"outcome":"Success","assessmentReason":"Full"}],"window":"24h0m0s"},
        "tier2":{"chain":[],"window":"2160h0m0s"}});
    assert_eq!(body, expected);

    // Rolled back to the spec the remediation started from: a regression in tier 1.
    let body = ok(&app, &with(&[("currentSpecHash", "sha256:aa11")])).await;
    assert_eq!(body["regressionDetected"], true);
    assert_eq!(body["tier1"]["chain"][0]["hashMatch"], "preRemediation");
    let mut same_entry = expected["tier1"]["chain"][0].clone();
    same_entry["hashMatch"] = json!("preRemediation");
    assert_eq!(body["tier1"]["chain"], json!([same_entry]));

    let empty = |hash: &str| {
        json!({"currentSpecHash": hash, "regressionDetected": false,
            "tier1": {"chain": [], "window": "24h0m0s"}, "tier2": {"chain": [], "window": "2160h0m0s"}})
    };
    let mut body = ok(&app, &with(&[("currentSpecHash", "sha256:cc33")])).await;
    body.as_object_mut().unwrap().remove("targetResource");
    assert_eq!(body, empty("sha256:cc33"));
    let staging = [
        ("targetKind", "Deployment"),
        ("targetName", "api"),
        ("targetNamespace", "staging"),
        ("currentSpecHash", "sha256:bb22"),
    ];
    let mut body = ok(&app, &staging).await;
    assert_eq!(body["targetResource"], "staging/Deployment/api");
    body.as_object_mut().unwrap().remove("targetResource");
    assert_eq!(body, empty("sha256:bb22"));
    let mut body = ok(
        &app,
        &with(&[("currentSpecHash", "sha256:bb22"), ("clusterId", "c2")]),
    )
    .await;
    body.as_object_mut().unwrap().remove("targetResource");
    assert_eq!(body, empty("sha256:bb22"));
}

async fn the_worked_example_three_days_later_is_a_tier_2_summary(app: TestApp) {
    let t0 = (Utc::now() - Duration::days(3)).trunc_subsecs(0);
    write(&app, worked_example(t0)).await;
    let body = ok(&app, &with(&[("currentSpecHash", "sha256:bb22")])).await;
    assert_eq!(body["tier1"]["chain"], json!([]));
    assert_eq!(body["regressionDetected"], false);
    assert_eq!(
        body["tier2"],
        json!({"chain": [{"remediationUID":"rr-cpu-7f3a","signalType":"alert","actionType":"ScaleReplicas",
            "effectivenessScore":0.45,"signalResolved":false,"hashMatch":"postRemediation","assessmentReason":"Full",
            "completedAt": secs(t0 + Duration::seconds(725)),"outcome":"Success"}], "window": "2160h0m0s"})
    );
    // A match of the pre-remediation spec in tier 2 alone is still a regression.
    let body = ok(&app, &with(&[("currentSpecHash", "sha256:aa11")])).await;
    assert_eq!(body["tier1"]["chain"], json!([]));
    assert_eq!(body["tier2"]["chain"][0]["hashMatch"], "preRemediation");
    assert_eq!(body["regressionDetected"], true);
}

async fn the_same_spec_elsewhere_is_no_match_and_a_post_remediation_match_no_regression(
    app: TestApp,
) {
    let at = two_hours_ago();
    let created = |c: &str, cluster: &str, target: &str| {
        let mut e = event(
            c,
            at,
            "remediation.workflow_created",
            json!({"target_resource": target, "pre_remediation_spec_hash": "sha256:helm", "action_type": "RestartPods"}),
        );
        e["cluster_name"] = json!(cluster);
        e
    };
    write(
        &app,
        vec![
            created("rr-here", "c1", "prod/Deployment/api"),
            created("rr-other-cluster", "c2", "prod/Deployment/api"),
            created("rr-other-namespace", "c1", "staging/Deployment/api"),
            created("rr-other-name", "c1", "prod/Deployment/web"),
            // Produced the current spec of the target: linked through its post-hash.
            created("rr-fixed-it", "c1", "prod/Deployment/api"),
            event("rr-fixed-it", at + Duration::seconds(60), "effectiveness.hash.computed", json!({"pre_remediation_spec_hash":"sha256:helm","post_remediation_spec_hash":"sha256:fixed"})),
        ],
    )
    .await;
    let uids = |body: &Value| {
        body["tier1"]["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["remediationUID"].as_str().unwrap().to_owned(),
                    e["hashMatch"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let body = ok(
        &app,
        &with(&[("currentSpecHash", "sha256:helm"), ("clusterId", "c1")]),
    )
    .await;
    let mut got = uids(&body);
    got.sort();
    let pre = |c: &str| (c.to_owned(), "preRemediation".to_owned());
    assert_eq!(got, [pre("rr-fixed-it"), pre("rr-here")]);
    assert_eq!(body["regressionDetected"], true);
    // Without clusterId every cluster's remediations of the target count.
    let body = ok(&app, &with(&[("currentSpecHash", "sha256:helm")])).await;
    assert_eq!(uids(&body).len(), 3);
    // The spec a remediation produced: a post-remediation match, no regression.
    let body = ok(
        &app,
        &with(&[("currentSpecHash", "sha256:fixed"), ("clusterId", "c1")]),
    )
    .await;
    assert_eq!(
        uids(&body),
        [("rr-fixed-it".to_owned(), "postRemediation".to_owned())]
    );
    assert_eq!(body["regressionDetected"], false);
}

async fn day_windows_running_and_failed_remediations(app: TestApp) {
    let now = Utc::now().trunc_subsecs(0);
    let created = |c: &str, at| {
        event(
            c,
            at,
            "remediation.workflow_created",
            json!({"target_resource":"prod/Deployment/api","pre_remediation_spec_hash":"sha256:p"}),
        )
    };
    let mut failed = event(
        "rr-failed",
        now - Duration::hours(1),
        "orchestrator.lifecycle.completed",
        json!({"crd_outcome":"ManualReviewRequired"}),
    );
    failed["event_outcome"] = json!("failure");
    write(
        &app,
        vec![
            created("rr-running", now - Duration::hours(3)),
            created("rr-failed", now - Duration::hours(5)),
            failed,
            created("rr-two-days-ago", now - Duration::days(2)),
            created(
                "rr-almost-seven-days-ago",
                now - Duration::days(6) - Duration::hours(23),
            ),
        ],
    )
    .await;
    let body = ok(
        &app,
        &with(&[
            ("currentSpecHash", "sha256:p"),
            ("tier1Window", "1d"),
            ("tier2Window", "6d"),
        ]),
    )
    .await;
    assert_eq!(body["tier1"]["window"], "24h0m0s");
    assert_eq!(body["tier2"]["window"], "144h0m0s");
    let chain = body["tier1"]["chain"].as_array().unwrap();
    // Sorted by completion: the failed one completed an hour ago, after the running one's
    // workflow was created (its `completedAt` until it completes); `outcome` only when known.
    let got: Vec<_> = chain
        .iter()
        .map(|e| {
            (
                e["remediationUID"].as_str().unwrap(),
                e["completedAt"].as_str().unwrap().to_owned(),
                e.get("outcome").cloned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("rr-running", secs(now - Duration::hours(3)), None),
            (
                "rr-failed",
                secs(now - Duration::hours(1)),
                Some(json!("Failed"))
            ),
        ]
    );
    let tier2: Vec<_> = body["tier2"]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["remediationUID"].clone())
        .collect();
    assert_eq!(tier2, [json!("rr-two-days-ago")]);
    // A seven-day tier 2 reaches the older one too.
    let body = ok(
        &app,
        &with(&[("currentSpecHash", "sha256:p"), ("tier2Window", "7d")]),
    )
    .await;
    assert_eq!(body["tier2"]["window"], "168h0m0s");
    assert_eq!(body["tier2"]["chain"].as_array().unwrap().len(), 2);
}

async fn bad_parameters_are_400_problems_in_the_originals_words(app: TestApp) {
    let full = [
        ("targetKind", "Deployment"),
        ("targetName", "api"),
        ("currentSpecHash", "sha256:x"),
    ];
    let without = |name: &str| {
        full.iter()
            .filter(|(k, _)| *k != name)
            .copied()
            .collect::<Vec<_>>()
    };
    let plus = |extra: &[(&'static str, &'static str)]| {
        full.iter().chain(extra).copied().collect::<Vec<_>>()
    };
    type Params<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Params, &str, &str)> = vec![
        (
            vec![],
            "missing-parameter",
            "targetKind query parameter is required",
        ),
        (
            without("targetName"),
            "missing-parameter",
            "targetName query parameter is required",
        ),
        (
            plus(&[("targetName", "")])
                .into_iter()
                .filter(|p| *p != ("targetName", "api"))
                .collect(),
            "missing-parameter",
            "targetName query parameter is required",
        ),
        (
            without("currentSpecHash"),
            "missing-parameter",
            "currentSpecHash query parameter is required",
        ),
        (
            plus(&[("tier1Window", "7 days")]),
            "invalid-parameter",
            "tier1Window must be a valid duration string (e.g. '24h', '7d')",
        ),
        (
            plus(&[("tier2Window", "90w")]),
            "invalid-parameter",
            "tier2Window must be a valid duration string (e.g. '24h', '7d')",
        ),
        (
            plus(&[("tier1Window", "0s")]),
            "invalid-parameter",
            "tier1Window must be a positive duration",
        ),
        (
            plus(&[("tier2Window", "-90d")]),
            "invalid-parameter",
            "tier2Window must be a positive duration",
        ),
        (
            plus(&[("tier1Window", "7d"), ("tier2Window", "168h")]),
            "invalid-parameter",
            "tier2Window must be greater than tier1Window",
        ),
        (
            plus(&[("clusterId", "c\0")]),
            "invalid-parameter",
            "clusterId must not contain the NUL character",
        ),
    ];
    for (params, slug, detail) in cases {
        let (status, content_type, body) = context(&app, &params).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{params:?}: {body}");
        assert_eq!(content_type, "application/problem+json");
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{slug}")),
            "{body}"
        );
        assert_eq!(body["detail"], detail, "{params:?}");
        let title = if slug == "missing-parameter" {
            "Missing Required Parameter"
        } else {
            "Invalid Parameter"
        };
        assert_eq!(body["title"], title);
        assert_eq!(body["status"], 400);
    }
}
