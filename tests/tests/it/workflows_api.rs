//! Black-box tests of the workflow catalog API, once on memory and once on PostgreSQL.

use datastorage_tests::support::TestApp;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

const WORKFLOWS: &str = "/api/v1/workflows";

macro_rules! cases {
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
        cases!($storage;
            registering_a_version_is_201_and_it_reads_back,
            a_registered_version_is_immutable,
            versions_must_increase_by_semver,
            history_is_newest_first_and_one_version_reads_by_either_spelling,
            diff_lists_the_changed_fields,
            disable_and_enable_record_who_why_and_when,
            patch_changes_status_but_never_content,
            archived_is_terminal,
            list_filters_and_pages,
            concurrent_registrations_of_one_version_make_one,
            every_catalog_change_and_search_is_audited,
            concurrent_searches_are_each_audited_once_beside_one_whose_audit_is_refused,
            bad_catalog_requests_are_problems,
        );
    };
}

mod memory {
    all_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    all_cases!(datastorage_tests::support::Storage::Postgres);
}

pub fn workflow(name: &str, version: &str) -> Value {
    json!({
        "workflow_name": name,
        "version": version,
        "name": "Increase memory and restart",
        "description": "Raises the memory limit by 50% and restarts the pod",
        "content": "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                   "environment": "production", "priority": "P0"},
        "detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd"},
        "custom_labels": {"team": ["payments"]},
        "parameters": {"memory_increase": "50%"},
        "execution_engine": "argo-workflows",
        "container_image": "ghcr.io/kubernaut/workflows/oomkill:v1.0.0",
        "created_by": "alice"
    })
}

async fn body(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

async fn register(app: &TestApp, w: &Value) -> (StatusCode, Value) {
    let r = app.post_json(WORKFLOWS, w).await;
    (r.status(), body(r).await)
}

async fn patch(app: &TestApp, path: &str, b: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.client.patch(app.url(path));
    if let Some(b) = b {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status(), body(r).await)
}

fn slug(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

async fn registering_a_version_is_201_and_it_reads_back(app: TestApp) {
    let (status, created) = register(&app, &workflow("read-back", "v1.0.0")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["version"], "v1.0.0");
    assert_eq!(created["status"], "active");
    assert_eq!(created["is_latest_version"], true);
    assert_eq!(created["content_hash"].as_str().unwrap().len(), 64);
    let id = created["workflow_id"].as_str().unwrap();
    let got = body(app.get(&format!("{WORKFLOWS}/{id}")).await).await;
    assert_eq!(got, created);
}

async fn a_registered_version_is_immutable(app: TestApp) {
    let w = workflow("immutable", "1.0.0");
    let (_, first) = register(&app, &w).await;
    let (status, again) = register(&app, &w).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "identical re-registration is idempotent"
    );
    assert_eq!(again["workflow_id"], first["workflow_id"]);
    let mut other = w.clone();
    other["content"] = json!("something else");
    let (status, problem) = register(&app, &other).await;
    assert_eq!((status, slug(&problem)), (StatusCode::CONFLICT, "conflict"));
}

async fn versions_must_increase_by_semver(app: TestApp) {
    register(&app, &workflow("incr", "1.9.0")).await;
    let (status, _) = register(&app, &workflow("incr", "1.10.0")).await;
    assert_eq!(status, StatusCode::CREATED, "1.10.0 > 1.9.0");
    for lower in ["1.9.5", "1.10.0-rc.1", "0.1.0"] {
        let (status, problem) = register(&app, &workflow("incr", lower)).await;
        assert_eq!(
            (status, slug(&problem)),
            (StatusCode::BAD_REQUEST, "version-not-incremented"),
            "{lower}"
        );
    }
    for bad in ["1.0", "vv1.0.0", "abc"] {
        let (status, problem) = register(&app, &workflow("incr", bad)).await;
        assert_eq!(
            (status, slug(&problem)),
            (StatusCode::BAD_REQUEST, "validation-error")
        );
        assert!(
            problem["field_errors"]["version"]
                .as_str()
                .unwrap()
                .contains("MAJOR.MINOR.PATCH")
        );
    }
}

async fn history_is_newest_first_and_one_version_reads_by_either_spelling(app: TestApp) {
    for v in ["1.0.0", "1.2.0", "2.0.0-alpha", "v2.0.0"] {
        register(&app, &workflow("hist", v)).await;
    }
    let history = body(app.get(&format!("{WORKFLOWS}/by-name/hist/versions")).await).await;
    let versions: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v2.0.0", "2.0.0-alpha", "1.2.0", "1.0.0"]);
    let one = body(
        app.get(&format!("{WORKFLOWS}/by-name/hist/versions/2.0.0"))
            .await,
    )
    .await;
    assert_eq!(one["version"], "v2.0.0");
    assert_eq!(one["previous_version"], "2.0.0-alpha");
    assert_eq!(
        app.get(&format!("{WORKFLOWS}/by-name/hist/versions/3.0.0"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{WORKFLOWS}/by-name/nobody/versions"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn diff_lists_the_changed_fields(app: TestApp) {
    register(&app, &workflow("diffed", "1.0.0")).await;
    let mut next = workflow("diffed", "1.1.0");
    next["content"] = json!("apiVersion: v2\n");
    next["labels"]["environment"] = json!("*");
    register(&app, &next).await;
    let diff = body(
        app.get(&format!(
            "{WORKFLOWS}/by-name/diffed/diff?from=1.0.0&to=1.1.0"
        ))
        .await,
    )
    .await;
    let fields: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "content",
            "content_hash",
            "labels.environment",
            "version",
            "is_latest_version"
        ]
    );
    let env = &diff["changes"][2];
    assert_eq!(
        (env["from"].as_str(), env["to"].as_str()),
        (Some("production"), Some("*"))
    );
    let same = body(
        app.get(&format!(
            "{WORKFLOWS}/by-name/diffed/diff?from=1.1.0&to=v1.1.0"
        ))
        .await,
    )
    .await;
    assert_eq!(same["changes"], json!([]));
    let r = app
        .get(&format!("{WORKFLOWS}/by-name/diffed/diff?from=1.0.0"))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn disable_and_enable_record_who_why_and_when(app: TestApp) {
    let (_, w) = register(&app, &workflow("toggle", "1.0.0")).await;
    let id = w["workflow_id"].as_str().unwrap();
    let (status, off) = patch(
        &app,
        &format!("{WORKFLOWS}/{id}/disable"),
        Some(json!({"reason": "flaky", "updated_by": "bob"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            off["status"].as_str(),
            off["disabled_by"].as_str(),
            off["disabled_reason"].as_str()
        ),
        (Some("disabled"), Some("bob"), Some("flaky"))
    );
    assert!(off["disabled_at"].is_string());
    let (status, on) = patch(&app, &format!("{WORKFLOWS}/{id}/enable"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(on["status"].as_str(), Some("active"));
    for cleared in ["disabled_at", "disabled_by", "disabled_reason"] {
        // Absent, never `null`: the original contract has no null for these.
        assert!(on.get(cleared).is_none(), "{cleared} is still in {on}");
    }
    let (status, _) = patch(
        &app,
        &format!("{WORKFLOWS}/{}/disable", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn patch_changes_status_but_never_content(app: TestApp) {
    let (_, w) = register(&app, &workflow("patched", "1.0.0")).await;
    let path = format!("{WORKFLOWS}/{}", w["workflow_id"].as_str().unwrap());
    for field in ["content", "labels", "description"] {
        let (status, problem) =
            patch(&app, &path, Some(json!({ field: "x", "status": "active" }))).await;
        assert_eq!(
            (status, slug(&problem)),
            (StatusCode::BAD_REQUEST, "immutable-field-violation"),
            "{field}"
        );
    }
    let (status, dep) = patch(
        &app,
        &path,
        Some(
            json!({"status": "deprecated", "deprecation_notice": "use v2", "updated_by": "carol"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (dep["status"].as_str(), dep["status_reason"].as_str()),
        (Some("deprecated"), Some("use v2"))
    );
    let (status, problem) = patch(&app, &path, Some(json!({"status": "retired"}))).await;
    assert_eq!(
        (status, slug(&problem)),
        (StatusCode::BAD_REQUEST, "validation-error")
    );
    let (status, _) = patch(
        &app,
        &path,
        Some(json!({"colour": "red", "status": "active"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let stored = body(app.get(&path).await).await;
    assert_eq!(stored["content"], w["content"], "content never changes");
}

async fn archived_is_terminal(app: TestApp) {
    let (_, w) = register(&app, &workflow("archived", "1.0.0")).await;
    let id = w["workflow_id"].as_str().unwrap();
    let (status, _) = patch(
        &app,
        &format!("{WORKFLOWS}/{id}"),
        Some(json!({"status": "archived"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = patch(&app, &format!("{WORKFLOWS}/{id}/enable"), None).await;
    assert_eq!(
        (status, slug(&problem)),
        (StatusCode::CONFLICT, "invalid-status-transition")
    );
}

async fn list_filters_and_pages(app: TestApp) {
    for (name, version, env) in [
        ("l-a", "1.0.0", "production"),
        ("l-a", "1.1.0", "production"),
        ("l-b", "1.0.0", "staging"),
    ] {
        let mut w = workflow(name, version);
        w["labels"]["environment"] = json!(env);
        register(&app, &w).await;
    }
    let all = body(app.get(&format!("{WORKFLOWS}?limit=2")).await).await;
    assert_eq!(
        (
            all["total"].as_u64(),
            all["workflows"].as_array().unwrap().len(),
            all["limit"].as_u64()
        ),
        (Some(3), 2, Some(2))
    );
    let staging = body(app.get(&format!("{WORKFLOWS}?environment=staging")).await).await;
    assert_eq!(staging["total"], 1);
    let latest = body(app.get(&format!("{WORKFLOWS}?latest_only=true")).await).await;
    assert_eq!(latest["total"], 2);
    let named = body(
        app.get(&format!("{WORKFLOWS}?workflow_name=l-a&status=active"))
            .await,
    )
    .await;
    assert_eq!(named["total"], 2);
    assert_eq!(
        app.get(&format!("{WORKFLOWS}?limit=0")).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get(&format!("{WORKFLOWS}?status=gone")).await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn concurrent_registrations_of_one_version_make_one(app: TestApp) {
    let w = workflow("concurrent", "1.0.0");
    let statuses: Vec<StatusCode> = join_all((0..10).map(|_| app.post_json(WORKFLOWS, &w)))
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK)
    );
    let history = body(
        app.get(&format!("{WORKFLOWS}/by-name/concurrent/versions"))
            .await,
    )
    .await;
    assert_eq!(history["versions"].as_array().unwrap().len(), 1);
}

async fn every_catalog_change_and_search_is_audited(app: TestApp) {
    let (_, w) = register(&app, &workflow("audited", "1.0.0")).await;
    let id = w["workflow_id"].as_str().unwrap();
    patch(
        &app,
        &format!("{WORKFLOWS}/{id}/disable"),
        Some(json!({"reason": "r", "updated_by": "bob"})),
    )
    .await;
    let search = json!({"remediation_id": "rr-audit-1", "filters": {"signal_type": "OOMKilled", "severity": "critical",
        "component": "pod", "environment": "production", "priority": "P0"}});
    assert_eq!(
        app.post_json(&format!("{WORKFLOWS}/search"), &search)
            .await
            .status(),
        StatusCode::OK
    );
    let trail = body(
        app.get("/api/v1/audit/events?correlation_id=workflow:audited")
            .await,
    )
    .await;
    let mut types: Vec<&str> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["workflow.catalog.disabled", "workflow.catalog.registered"]
    );
    let disabled = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "workflow.catalog.disabled")
        .unwrap();
    assert_eq!(
        (
            disabled["actor_id"].as_str(),
            disabled["resource_id"].as_str()
        ),
        (Some("bob"), Some(id))
    );
    // The search's audit event is written after the search has answered.
    app.settle().await;
    let searches = body(
        app.get("/api/v1/audit/events?correlation_id=rr-audit-1")
            .await,
    )
    .await;
    assert_eq!(
        searches["data"][0]["event_type"],
        "workflow.search.executed"
    );
    assert_eq!(searches["data"][0]["event_category"], "workflow");
}

/// Search audits are written in batches in the background: every search's event is stored
/// once. A remediation_id the audit event could not carry (here with NUL) is refused with the
/// search, before anything is written, rather than costing its audit event later.
async fn concurrent_searches_are_each_audited_once_beside_one_whose_audit_is_refused(app: TestApp) {
    let search = |remediation_id: String| {
        json!({"remediation_id": remediation_id, "filters": {"signal_type": "OOMKilled",
            "severity": "critical", "component": "pod", "environment": "production",
            "priority": "P0"}})
    };
    let mut searches: Vec<Value> = (0..40).map(|i| search(format!("rr-many-{i}"))).collect();
    searches.insert(20, search("rr-refused-\u{0}".to_owned()));
    let path = format!("{WORKFLOWS}/search");
    let statuses: Vec<StatusCode> = join_all(searches.iter().map(|s| app.post_json(&path, s)))
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    for (i, status) in statuses.iter().enumerate() {
        let expected = if i == 20 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        assert_eq!(*status, expected, "search {i}: {statuses:?}");
    }
    app.settle().await;
    for i in 0..40 {
        let trail = body(
            app.get(&format!("/api/v1/audit/events?correlation_id=rr-many-{i}"))
                .await,
        )
        .await;
        let events = trail["data"].as_array().unwrap();
        assert_eq!(events.len(), 1, "search {i}: {trail}");
        assert_eq!(events[0]["event_type"], "workflow.search.executed");
    }
    let searched = body(
        app.get("/api/v1/audit/events?event_type=workflow.search.executed&limit=100")
            .await,
    )
    .await;
    assert_eq!(searched["pagination"]["total"], 40, "{searched}");
}

async fn bad_catalog_requests_are_problems(app: TestApp) {
    let search = |filters: Value, extra: Value| {
        let mut b = json!({"filters": filters});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let filters = json!({"signal_type": "OOMKilled", "severity": "critical", "component": "pod", "environment": "production", "priority": "P0"});
    let mut bad_severity = filters.clone();
    bad_severity["severity"] = json!("urgent");
    let mut wildcard_priority = filters.clone();
    wildcard_priority["priority"] = json!("*");
    let mut bad_detected = filters.clone();
    bad_detected["detected_labels"] = json!({"gitOpsTool": "jenkins"});
    let mut missing = filters.clone();
    missing.as_object_mut().unwrap().remove("signal_type");
    let cases = [
        search(bad_severity, json!({})),
        search(wildcard_priority, json!({})),
        search(bad_detected, json!({})),
        search(missing, json!({})),
        search(filters.clone(), json!({"top_k": 0})),
        search(filters.clone(), json!({"top_k": 101})),
        search(filters.clone(), json!({"min_score": 1.5})),
        json!({"top_k": 3}),
    ];
    for case in cases {
        let r = app.post_json(&format!("{WORKFLOWS}/search"), &case).await;
        let status = r.status();
        let problem = body(r).await;
        assert_eq!(
            (status, slug(&problem)),
            (StatusCode::BAD_REQUEST, "validation-error"),
            "{case}"
        );
    }
    let mut w = workflow("bad", "1.0.0");
    w["labels"]["severity"] = json!("urgent");
    w["content_hash"] = json!("0".repeat(64));
    w["workflow_name"] = json!("has space");
    let (status, problem) = register(&app, &w).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields = problem["field_errors"].as_object().unwrap();
    for f in ["labels.severity", "content_hash", "workflow_name"] {
        assert!(fields.contains_key(f), "{f} in {problem}");
    }
    // Found by the property-based API run on PostgreSQL, where both were a 503: NUL in a
    // parameters key and in a list filter. Every adapter refuses them alike, as a 400.
    let mut nul_parameters = workflow("nul-parameters", "1.0.0");
    nul_parameters["parameters"] = json!({"a\u{0}b": {"c": "d"}});
    let (status, problem) = register(&app, &nul_parameters).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(
        problem["field_errors"]["parameters"].is_string(),
        "{problem}"
    );
    let listed = app
        .get(&format!(
            "{WORKFLOWS}?component=po%00d&environment=production"
        ))
        .await;
    assert_eq!(listed.status(), StatusCode::BAD_REQUEST);
    assert!(body(listed).await["field_errors"]["component"].is_string());
    // An empty status is not a status (the enum has no empty value).
    assert_eq!(
        app.get(&format!("{WORKFLOWS}?status=")).await.status(),
        StatusCode::BAD_REQUEST
    );
    // A body that is not an object is refused, even where every field is optional.
    let (status, _) = patch(
        &app,
        &format!("{WORKFLOWS}/{}/disable", uuid::Uuid::now_v7()),
        Some(json!([null, null])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get(&format!("{WORKFLOWS}/not-a-uuid")).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get(&format!("{WORKFLOWS}/{}", uuid::Uuid::now_v7()))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}
